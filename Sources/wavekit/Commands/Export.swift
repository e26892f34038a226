import ArgumentParser
import AudioIO
import Foundation
import Models
import NN

/// `wavekit export`: a checkpoint's weights for inference, optionally in half precision.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint's inference weights, optionally in half precision.",
        discussion: """
        Drops the optimizer state of a training checkpoint and keeps the averaged (EMA) weights \
        when it has them, which is what vocode, generate and score run anyway; family, \
        configuration and mel preset are kept. --half stores F16 (half the size; WaveKit reads \
        it back as Float32). The result is loaded once before it replaces anything at -o.
        """)

    @Argument(help: "A WaveKit checkpoint (.safetensors).")
    var checkpoint: String
    @Option(name: .shortAndLong, help: "Output checkpoint (.safetensors).")
    var output: String
    @Flag(help: "Store the weights as F16.")
    var half = false
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if AtomicFile.samePath(output, checkpoint) {
            throw ValidationError("-o would overwrite the checkpoint '\(checkpoint)'; name another file.")
        }
        guard output.lowercased().hasSuffix(".safetensors") else {
            throw ValidationError("-o '\(output)' should end in .safetensors.")
        }
    }

    func run() throws {
        try reportingErrors {
            common.apply()
            try AtomicFile.checkDestination(output)
            let file = try Safetensors.read(checkpoint)
            guard let family = file.metadata[Checkpoint.familyKey] else {
                throw NNError.corruptCheckpoint(path: checkpoint, reason: "its metadata names no WaveKit model family (convert PyTorch checkpoints with tools/convert_checkpoint.py)")
            }
            func loadAsFamily(_ path: String) throws {
                switch family {
                case WaveNet.family: _ = try WaveNet.load(path)
                case WaveGlow.family: _ = try WaveGlow.load(path)
                default: throw NNError.invalidConfig("'\(checkpoint)' holds a \(family) model, which export does not know yet.")
                }
            }
            // The source must load as its family first, so that an error names it (and not
            // the staging file below).
            try loadAsFamily(checkpoint)
            var metadata = file.metadata
            metadata.removeValue(forKey: "wavekit.ema_updates")
            if let step = metadata.removeValue(forKey: "wavekit.step") { metadata["wavekit.trained_steps"] = step }
            metadata["wavekit.exported"] = half ? "inference weights, F16" : "inference weights, F32"
            let exported = Safetensors.File(tensors: Checkpoint.inferenceTensors(file), metadata: metadata)
            if half, let (name, _) = exported.tensors.first(where: { $0.value.scalars.contains { !$0.isFinite || abs($0) > 65504 } }) {
                throw NNError.invalidConfig("'\(name)' holds values that F16 cannot store (beyond ±65 504 or not finite); export without --half.")
            }
            // Written beside the target and loaded back as its family before it takes the name.
            let url = URL(fileURLWithPath: output)
            let staging = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).export.safetensors").path
            defer { try? FileManager.default.removeItem(atPath: staging) }
            try Safetensors.write(exported, to: staging, half: half)
            do {
                try loadAsFamily(staging)
            } catch {
                throw NNError.invalidConfig("the exported weights of '\(checkpoint)' did not load back (\(error)); nothing was written to '\(output)'.")
            }
            if rename(staging, output) != 0 {
                throw AudioIOError.writeFailed(path: output, reason: String(cString: strerror(errno)))
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
            common.note("wrote \(output): \(family), \(exported.tensors.count) tensors, \(String(format: "%.2f", Double(size) / 1e6)) MB\(half ? " (F16)" : "")")
        }
    }
}

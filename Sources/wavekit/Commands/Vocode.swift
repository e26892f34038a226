import ArgumentParser
import AudioIO
import DSP
import Foundation
import Models
import NN
import TensorCore

/// `wavekit vocode`: audio from a mel-spectrogram.
struct Vocode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a mel-spectrogram into audio.",
        discussion: """
        The input is a mel-spectrogram (.npy, [n_mels, frames]) or an audio file, whose mel \
        is computed with the preset first (copy synthesis). The mel must match the preset: \
        WaveKit checks its band count and value range, and a .npy written by `wavekit mel` \
        carries its preset, which is used (a different --preset is an error). A mel made with \
        options that change its preset's settings is marked custom and is not vocoded: \
        recompute it with the named preset.

        Vocoders: griffin-lim (phase reconstruction of the mel's least-squares linear \
        spectrogram; no model needed). Neural vocoders come with their checkpoints.

        --batch vocodes several inputs into the folder -o names (one <name>.wav each). A \
        WaveNet generates them together, split over --threads cores: 8 utterances on one \
        core take about 3.3 times as long as one (`wavekit bench wavenet`).
        """)

    enum Vocoder: String, ExpressibleByArgument, CaseIterable {
        case griffinLim = "griffin-lim"
    }

    @Argument(help: "Mel-spectrogram (.npy) or audio file; several with --batch.")
    var inputs: [String]
    @Option(name: .shortAndLong, help: "Output audio (format from the extension, e.g. .wav, .flac); with --batch, a folder.")
    var output: String
    @Flag(help: "Vocode every input into the folder given by -o (<input name>.wav each), a WaveNet's together in one batch.")
    var batch = false
    @Option(help: "The vocoder when no checkpoint is given: \(Vocoder.allCases.map(\.rawValue).joined(separator: ", ")) (the default).")
    var vocoder: Vocoder?
    @Option(name: .shortAndLong, help: "A neural vocoder checkpoint (.safetensors); its family and mel preset come from the file.")
    var checkpoint: String?
    @Option(name: .customLong("temperature"), parsing: .unconditional, help: "WaveNet's sampling temperature (default 1: the model's distribution; lower is more conservative).")
    var temperatureOption: Float?
    @Option(name: .customLong("sigma"), parsing: .unconditional, help: "WaveGlow's noise level (default 0.6, as NVIDIA's inference script; 0 is deterministic).")
    var sigmaOption: Float?
    @Option(parsing: .unconditional, help: "WaveGlow denoiser strength: subtracts this multiple of the model's bias spectrum (its output for an all-zero mel), as NVIDIA's denoiser; 0.01 is NVIDIA's usual value, 0 or none turns it off. The bias is measured once per checkpoint file and kept in ~/.cache/wavekit/denoiser.")
    var denoise: DenoiseStrength?
    @Option(help: "Griffin-Lim's mel preset (default: the one recorded in the .npy, else tacotron2). A checkpoint brings its own.")
    var preset: String?
    @Option(name: .customLong("iterations"), parsing: .unconditional, help: "Griffin-Lim iterations (default 32).")
    var iterationsOption: Int?
    @Option(parsing: .unconditional, help: "Speaker for speaker-conditioned WaveNets: an id (default 0) or a name from the training corpus (e.g. p225).")
    var speaker: String?
    @Option(parsing: .unconditional, help: "Random seed: Griffin-Lim's initial phase, or a neural vocoder's sampling (same seed, same audio).",
            transform: CommonOptions.seed)
    var seed: UInt64 = 0
    @OptionGroup var common: CommonOptions

    var input: String { inputs[0] }
    var temperature: Float { temperatureOption ?? 1 }
    var sigma: Float { sigmaOption ?? 0.6 }
    var iterations: Int { iterationsOption ?? 32 }
    var denoiseStrength: Float? { denoise?.value }

    /// --denoise: a strength in [0, 1], or `none` (0).
    struct DenoiseStrength: ExpressibleByArgument {
        let value: Float
        init?(argument: String) {
            if argument.lowercased() == "none" { value = 0; return }
            guard let v = Float(argument) else { return nil }
            value = v
        }
    }

    /// The options that belong to another vocoder than the one running, as an error naming
    /// them: silently ignoring them would leave a user believing they took effect.
    private func rejectOptions(notFor vocoder: String, _ names: [(String, Bool)], fix: String = "") throws {
        let given = names.filter(\.1).map(\.0)
        guard !given.isEmpty else { return }
        let list = given.joined(separator: ", ")
        throw ValidationError("\(list) \(given.count == 1 ? "does" : "do") not apply to \(vocoder): drop \(given.count == 1 ? "it" : "them").\(fix.isEmpty ? "" : " " + fix)")
    }

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("Name a mel-spectrogram (.npy) or audio file to vocode.") }
        if iterations < 0 { throw ValidationError("--iterations must be ≥ 0, got \(iterations).") }
        if let t = temperatureOption, !(t > 0 && t.isFinite) {
            throw ValidationError("--temperature must be a positive number (1 samples the model's distribution), got \(t).")
        }
        if let s = sigmaOption, !(s >= 0 && s.isFinite) {
            throw ValidationError("--sigma must be a number ≥ 0 (0 is deterministic; NVIDIA uses 0.6), got \(s).")
        }
        if let d = denoiseStrength, !(d >= 0 && d <= 1) {
            throw ValidationError("--denoise must be between 0 and 1 (NVIDIA's scripts use 0.01), got \(d).")
        }
        if checkpoint != nil {
            try rejectOptions(notFor: "a --checkpoint, which brings its own model and mel preset",
                              [("--vocoder", vocoder != nil), ("--iterations", iterationsOption != nil), ("--preset", preset != nil)],
                              fix: "(To vocode with Griffin-Lim, drop --checkpoint instead.)")
        } else {
            try rejectOptions(notFor: "Griffin-Lim",
                              [("--temperature", temperatureOption != nil), ("--speaker", speaker != nil), ("--sigma", sigmaOption != nil), ("--denoise", denoise != nil)],
                              fix: "(--temperature and --speaker are a WaveNet's, --sigma and --denoise a WaveGlow's: to use them, pass the model's --checkpoint.)")
        }
        if batch {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: output, isDirectory: &isDir), !isDir.boolValue {
                throw ValidationError("with --batch, -o names a folder for the outputs, but '\(output)' is a file.")
            }
            let ext = URL(fileURLWithPath: output).pathExtension.lowercased()
            if SoundFile.writableExtensions.contains(ext) && !isDir.boolValue {
                throw ValidationError("with --batch, -o names a folder for the outputs (one <input name>.wav each), but '\(output)' looks like an audio file name; pass a folder.")
            }
            do { try AtomicFile.checkFolder(of: output) } catch { throw ValidationError("\(error) Create the folder first or fix -o.") }
            let names = batchOutputs()
            if let clash = Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
                throw ValidationError("two inputs would both be written to '\(clash)'; give them different names.")
            }
            if let same = zip(inputs, names).first(where: { AtomicFile.samePath($0.0, $0.1) }) {
                throw ValidationError("--output would overwrite the input '\(same.0)'.")
            }
            return
        }
        if inputs.count > 1 {
            // The list also takes the value after a misspelt option (`--secs 3` gives the input '3').
            throw ValidationError("\(inputs.count) inputs given (\(inputs.map { "'\($0)'" }.joined(separator: ", "))); vocode several with --batch and -o FOLDER, or check the option before any that is not a file.")
        }
        if AtomicFile.samePath(output, input) { throw ValidationError("--output would overwrite the input '\(input)'.") }
        let ext = URL(fileURLWithPath: output).pathExtension.lowercased()
        if !SoundFile.writableExtensions.contains(ext) {
            throw ValidationError("--output '\(output)' needs an audio extension: \(SoundFile.writableExtensions.map { "." + $0 }.joined(separator: ", ")).")
        }
    }

    func run() throws {
        try reportingErrors {
            common.apply()
            if batch { return try vocodeBatch() }
            try AtomicFile.checkDestination(output)
            if let checkpoint { return try vocodeNeural(checkpoint) }
            try griffinLim(try loadMel())
        }
    }

    /// Griffin-Lim from a checked mel into `output`.
    private func griffinLim(_ checked: (mel: Tensor, preset: MelPreset)) throws {
        let (mel, p) = checked
        try SoundFile.checkWritable(output, sampleRate: p.sampleRate)
        let progress = ProgressLine("griffin-lim", total: iterations, unit: "it", enabled: !common.quiet)
        let samples = try MelSpectrogram(preset: p).invert(mel, iterations: iterations, seed: seed, source: input) { progress.update($0) }
        let audio = Audio(mono: samples, sampleRate: p.sampleRate)
        if audio.peak > 1 { common.note("note: peak \(String(format: "%.2f", audio.peak)) exceeds full scale; integer formats clip it") }
        try SoundFile.write(audio, to: output, comment: "WaveKit vocode vocoder=griffin-lim iterations=\(iterations) seed=\(seed) \(p.summary)")
        common.note("wrote \(output): \(String(format: "%.2f", audio.duration)) s at \(p.sampleRate) Hz")
    }

    /// The output path of each input under --batch: FOLDER/<input name>.wav.
    private func batchOutputs() -> [String] {
        inputs.map { URL(fileURLWithPath: output).appendingPathComponent(URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent + ".wav").path }
    }

    /// --batch: a WaveNet generates every input's audio together (mels padded to the longest
    /// by repeating their last frame, which is what the upsampler's edge padding sees when a
    /// mel is vocoded alone; each output cut back to its own length); other vocoders take
    /// them in turn.
    private func vocodeBatch() throws {
        let outputs = batchOutputs()
        /// Runs once every input has been checked: makes the folder and checks each output
        /// path, so that nothing is created or replaced before the batch is known to be good.
        func prepareOutputs() throws {
            if !FileManager.default.fileExists(atPath: output) {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: false)
            }
            for path in outputs { try AtomicFile.checkDestination(path) }
        }
        if let checkpoint, try WaveNet.family(ofCheckpoint: checkpoint) == WaveNet.family {
            try rejectWaveGlowOptions(checkpoint)
            let model = try NeuralVocoding.waveNet(checkpoint)
            let mels = try inputs.map { try NeuralVocoding.mel(for: $0, model: model, checkpoint: checkpoint, note: common.note) }
            let speakers = try NeuralVocoding.speakers(for: model, speaker, count: inputs.count, checkpoint: checkpoint)
            try prepareOutputs()
            let preset = mels[0].1
            let frames = mels.map { $0.0.shape[1] }, longest = frames.max()!
            guard longest >= 1 else { throw DSPError.melMismatch("the inputs have no frames.") }
            let padded = Tensor.stack(mels.map { m -> Tensor in
                let (bands, n) = (m.0.shape[0], m.0.shape[1])
                guard n < longest else { return m.0 }
                let last = m.0.sliced(axis: 1, start: n - 1, end: n)
                return Tensor.concat([m.0, last.expanded(to: [bands, longest - n])], axis: 1)
            }, axis: 0)
            let samples = longest * preset.hopLength
            let progress = ProgressLine("wavenet ×\(inputs.count)", total: samples, unit: "samples", enabled: !common.quiet)
            let audio = WaveNetGenerator(model: model, batch: inputs.count)
                .generate(samples: samples, mel: padded, speakers: speakers,
                          temperature: temperature, seed: seed, threads: Threading.threads) { done, _ in progress.update(done) }
            for (i, path) in outputs.enumerated() {
                let clip = Array(audio[i].prefix(frames[i] * preset.hopLength))
                try SoundFile.write(Audio(mono: clip, sampleRate: preset.sampleRate), to: path,
                                    comment: "WaveKit vocode checkpoint=\(URL(fileURLWithPath: checkpoint).lastPathComponent) seed=\(seed &+ UInt64(i)) \(preset.summary)")
                common.note("wrote \(path): \(String(format: "%.2f", Double(clip.count) / Double(preset.sampleRate))) s at \(preset.sampleRate) Hz")
            }
            return
        }
        // A WaveGlow is loaded once for all inputs, and its denoiser's bias measured once.
        let model = try checkpoint.map { c -> WaveGlow in
            let family = try WaveNet.family(ofCheckpoint: c)
            guard family == WaveGlow.family else { throw NNError.wrongFamily(path: c, found: family, expected: "WaveNet or WaveGlow") }
            return try loadWaveGlowModel(c)
        }
        // Every input's mel is made and checked before the first output is written: a bad one
        // fails the batch without having replaced any earlier output.
        let mels = try inputs.map { source in
            var one = self
            one.inputs = [source]
            if let model, let checkpoint { return try one.waveGlowMel(model, checkpoint: checkpoint) }
            return try one.loadMel()
        }
        try prepareOutputs()
        let denoiser = try model.flatMap { m in try checkpoint.flatMap { try waveGlowDenoiser(m, checkpoint: $0) } }
        for (mel, path) in zip(mels, outputs) {
            var one = self
            one.output = path
            if let model, let checkpoint {
                try one.vocodeWaveGlow(checkpoint, model: model, denoiser: denoiser, mel: mel)
            } else {
                try one.griffinLim(mel)
            }
        }
    }

    private func vocodeNeural(_ checkpoint: String) throws {
        let family = try WaveNet.family(ofCheckpoint: checkpoint)
        if family == WaveGlow.family { return try vocodeWaveGlow(checkpoint) }
        try rejectWaveGlowOptions(checkpoint)
        let model = try NeuralVocoding.waveNet(checkpoint)
        let (mel, preset, _) = try NeuralVocoding.mel(for: input, model: model, checkpoint: checkpoint, note: common.note)
        try SoundFile.checkWritable(output, sampleRate: preset.sampleRate)
        let samples = mel.shape[1] * preset.hopLength
        let progress = ProgressLine("wavenet", total: samples, unit: "samples", enabled: !common.quiet)
        let audio = WaveNetGenerator(model: model)
            .generate(samples: samples, mel: mel.unsqueezed(axis: 0), speakers: try NeuralVocoding.speakers(for: model, speaker, count: 1, checkpoint: checkpoint),
                      temperature: temperature, seed: seed) { done, _ in progress.update(done) }[0]
        try SoundFile.write(Audio(mono: audio, sampleRate: preset.sampleRate), to: output,
                            comment: "WaveKit vocode checkpoint=\(URL(fileURLWithPath: checkpoint).lastPathComponent) seed=\(seed) \(preset.summary)")
        common.note("wrote \(output): \(String(format: "%.2f", Double(audio.count) / Double(preset.sampleRate))) s at \(preset.sampleRate) Hz")
    }

    private func vocodeWaveGlow(_ checkpoint: String) throws {
        let (model, denoiser) = try loadWaveGlow(checkpoint)
        try vocodeWaveGlow(checkpoint, model: model, denoiser: denoiser, mel: try waveGlowMel(model, checkpoint: checkpoint))
    }

    /// A WaveGlow and, with --denoise, its denoiser (whose bias takes one inference to measure,
    /// once per checkpoint file: see DenoiserCache).
    private func loadWaveGlow(_ checkpoint: String) throws -> (WaveGlow, WaveGlowDenoiser?) {
        let model = try loadWaveGlowModel(checkpoint)
        return (model, try waveGlowDenoiser(model, checkpoint: checkpoint))
    }

    private func loadWaveGlowModel(_ checkpoint: String) throws -> WaveGlow {
        try rejectOptions(notFor: "'\(checkpoint)', a WaveGlow", [("--temperature", temperatureOption != nil), ("--speaker", speaker != nil)],
                          fix: "(They are WaveNet options; a WaveGlow's noise level is --sigma.)")
        return try WaveGlow.load(checkpoint)
    }

    private func waveGlowDenoiser(_ model: WaveGlow, checkpoint: String) throws -> WaveGlowDenoiser? {
        (denoiseStrength ?? 0) > 0 ? try DenoiserCache.denoiser(model: model, checkpoint: checkpoint) : nil
    }

    private func rejectWaveGlowOptions(_ checkpoint: String) throws {
        try rejectOptions(notFor: "'\(checkpoint)', a WaveNet", [("--sigma", sigmaOption != nil), ("--denoise", denoise != nil)],
                          fix: "(--sigma and --denoise are WaveGlow options; a WaveNet's sampling takes --temperature.)")
    }

    private func vocodeWaveGlow(_ checkpoint: String, model: WaveGlow, denoiser: WaveGlowDenoiser?,
                                mel checked: (mel: Tensor, preset: MelPreset)) throws {
        let (mel, preset) = checked
        try SoundFile.checkWritable(output, sampleRate: preset.sampleRate)
        var rng = RandomGenerator(seed: seed)
        var audio = model.infer(mel: mel.unsqueezed(axis: 0), sigma: sigma, using: &rng).scalars
        if let denoiser, let denoise = denoiseStrength { audio = denoiser(audio, strength: denoise) }
        let clipped = audio.reduce(0) { $0 + (abs($1) > 1 ? 1 : 0) }
        if clipped * 100 > audio.count {
            let advice = sigma > 0.6 ? "; lower --sigma (NVIDIA uses 0.6)" : ""
            common.note(String(format: "note: %.1f%% of the samples exceeded ±1 and were clipped", Double(clipped) * 100 / Double(audio.count)) + advice)
        }
        try SoundFile.write(Audio(mono: audio.map { Swift.min(Swift.max($0, -1), 1) }, sampleRate: preset.sampleRate), to: output,
                            comment: "WaveKit vocode checkpoint=\(URL(fileURLWithPath: checkpoint).lastPathComponent) sigma=\(sigma) denoise=\(denoiseStrength ?? 0) seed=\(seed) \(preset.summary)")
        common.note("wrote \(output): \(String(format: "%.2f", Double(audio.count) / Double(preset.sampleRate))) s at \(preset.sampleRate) Hz")
    }

    /// The input's mel for a WaveGlow, checked against its preset and band count.
    private func waveGlowMel(_ model: WaveGlow, checkpoint: String) throws -> (Tensor, MelPreset) {
        let (mel, preset, _) = try NeuralVocoding.checkMel(input, checkpoint: checkpoint, presetName: model.config.melPreset,
                                                            bands: model.config.nMelChannels, hop: model.config.hopLength, note: common.note)
        return (mel, preset)   // preset.validate refuses a mel without frames
    }

    /// The input's mel for Griffin-Lim: its preset's, with at least two frames.
    private func loadMel() throws -> (Tensor, MelPreset) {
        let (mel, preset) = try presetMel()
        guard mel.shape[1] >= 2 else {
            throw DSPError.melMismatch("'\(input)' has \(mel.shape[1]) frame\(mel.shape[1] == 1 ? "" : "s"); Griffin-Lim needs at least 2 (audio spans the hops between frame centres). Pass a longer mel or audio.")
        }
        return (mel, preset)
    }

    private func presetMel() throws -> (Tensor, MelPreset) {
        if input.lowercased().hasSuffix(".npy") {
            let file = try NPY.read(input)
            let recorded = file.metadata["preset"]
            if let recorded, let preset, recorded != preset {
                throw DSPError.melMismatch("'\(input)' was made with the '\(recorded)' preset but --preset is '\(preset)'; drop --preset or recompute the mel.")
            }
            let name = preset ?? recorded ?? "tacotron2"
            if preset == nil && recorded == nil {
                common.note("note: '\(input)' records no preset; reading it as tacotron2 (pass --preset if it is another)")
            }
            if name.hasSuffix("+custom") {
                throw DSPError.melMismatch("'\(input)' was made with custom settings (\(name)); vocode it with a named preset's mel instead.")
            }
            let p = try MelPreset.named(name)
            try p.validate(file.tensor, source: input)
            return (file.tensor, p)
        }
        let p = try MelPreset.named(preset ?? "tacotron2")
        var audio = try SoundFile.read(input, mixDown: true)
        if audio.sampleRate != p.sampleRate {
            common.note("resampling \(audio.sampleRate) Hz → \(p.sampleRate) Hz for copy synthesis")
            audio = try Resampler.resample(audio, to: p.sampleRate)
        }
        return (try MelSpectrogram(preset: p)(audio.monoSamples), p)
    }
}

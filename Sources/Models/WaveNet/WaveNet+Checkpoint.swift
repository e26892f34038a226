import Foundation
import NN
import TensorCore

extension WaveNet {
    /// Saves the model with its family and configuration (a file that alone rebuilds it).
    public func save(to path: String) throws {
        try Checkpoint.save(self, family: Self.family, config: config, to: path,
                            metadata: config.melPreset.map { ["wavekit.mel_preset": $0] } ?? [:])
    }

    /// Rebuilds a WaveNet from a WaveKit checkpoint (a converted r9y9 one included); errors
    /// name another family's checkpoint, a corrupt file, or every mismatched key.
    public static func load(_ path: String) throws -> WaveNet {
        let (config, file) = try Checkpoint.load(path, family: family, config: WaveNetConfig.self)
        var g = RandomGenerator(seed: 0)
        // A configuration error names the file it came from.
        let model: WaveNet
        do { model = try WaveNet(config: config, using: &g) } catch NNError.invalidConfig(let message) {
            throw NNError.invalidConfig("'\(path)': \(message)")
        }
        try model.load(Checkpoint.inferenceTensors(file), source: path)
        model.setTraining(false)
        return model
    }

    /// The model family of a checkpoint file, without loading its tensors' values.
    public static func family(ofCheckpoint path: String) throws -> String {
        let file = try Safetensors.read(path)
        guard let f = file.metadata[Checkpoint.familyKey] else {
            throw NNError.corruptCheckpoint(path: path, reason: "its metadata names no WaveKit model family")
        }
        return f
    }
}

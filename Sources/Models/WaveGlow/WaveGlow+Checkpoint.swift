import Foundation
import NN
import TensorCore

extension WaveGlow {
    /// Saves the model with its family and configuration.
    public func save(to path: String) throws {
        try Checkpoint.save(self, family: Self.family, config: config, to: path,
                            metadata: config.melPreset.map { ["wavekit.mel_preset": $0] } ?? [:])
    }

    /// Rebuilds a WaveGlow from a WaveKit checkpoint (a converted NVIDIA one included); errors
    /// name another family's checkpoint, a corrupt file, or every mismatched key.
    public static func load(_ path: String) throws -> WaveGlow {
        let (config, file) = try Checkpoint.load(path, family: family, config: WaveGlowConfig.self)
        var g = RandomGenerator(seed: 0)
        // A configuration error names the file it came from.
        let model: WaveGlow
        do { model = try WaveGlow(config: config, using: &g) } catch NNError.invalidConfig(let message) {
            throw NNError.invalidConfig("'\(path)': \(message)")
        }
        try model.load(Checkpoint.inferenceTensors(file), source: path)
        model.setTraining(false)
        return model
    }
}

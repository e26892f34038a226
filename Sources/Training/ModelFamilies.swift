import DSP
import Foundation
import Models
import NN
import TensorCore

/// The model families `wavekit train` can build from a recipe.
public enum ModelFamilies {
    public static let names = [WaveNet.family, WaveGlow.family]

    /// Builds the model a recipe describes (a named preset with field overrides) as a task.
    public static func task(for recipe: Recipe, seed: UInt64) throws -> TrainingTask {
        switch recipe.model.family {
        case WaveNet.family:
            var config = try configuration(recipe, name: "WaveNet", base: WaveNetConfig.small, presets: WaveNetConfig.presets,
                                           fields: Set(WaveNetConfig.CodingKeysList.all))
            if config.cinChannels != nil {
                guard let name = recipe.data.melPreset else {
                    throw TrainingError.recipe("this WaveNet is mel-conditioned: set data.mel_preset (for example tacotron2).")
                }
                if let misfit = config.misfit(try MelPreset.named(name)) {
                    throw TrainingError.recipe("model.config and data.mel_preset disagree: \(misfit); make them agree (cin_channels = the preset's bands, upsample_scales multiplying to its hop).")
                }
                config.melPreset = name
            } else {
                config.melPreset = nil      // unconditional: no mel to record
            }
            try config.validate()
            var g = RandomGenerator(seed: seed)
            let model = try WaveNet(config: config, using: &g)
            let json = try sortedJSON(config)
            return TrainingTask(module: model, family: WaveNet.family, configJSON: json, melPreset: config.melPreset,
                                loss: { b in model.negativeLogLikelihood(audio: b.audio, mel: config.cinChannels == nil ? nil : b.mel,
                                                                         speakers: config.nSpeakers == nil ? nil : b.speakers) },
                                preview: { b in
                                    // A fresh generator sees the current weights.
                                    let gen = WaveNetGenerator(model: model)
                                    let mel = config.cinChannels == nil ? nil : b.mel?.sliced(axis: 0, end: 1)
                                    let n = Swift.min(b.audio.shape[1], 8000)
                                    return (gen.generate(samples: n, mel: mel, speakers: config.nSpeakers == nil ? nil : [b.speakers[0]], seed: 0)[0], recipe.data.sampleRate)
                                })
        case WaveGlow.family:
            var config = try configuration(recipe, name: "WaveGlow", base: WaveGlowConfig.small, presets: WaveGlowConfig.presets,
                                           fields: ["mel_preset"])
            guard let name = recipe.data.melPreset else {
                throw TrainingError.recipe("WaveGlow is mel-conditioned: set data.mel_preset (for example tacotron2).")
            }
            let preset = try MelPreset.named(name)
            guard preset.nMels == config.nMelChannels, preset.hopLength == 256 else {
                throw TrainingError.recipe("WaveGlow needs mels with hop 256 and n_mel_channels bands (\(config.nMelChannels)); the \(name) preset has hop \(preset.hopLength) and \(preset.nMels) bands.")
            }
            config.melPreset = name
            config.sampleRate = recipe.data.sampleRate
            var g = RandomGenerator(seed: seed)
            let model = try WaveGlow(config: config, using: &g)
            let json = try sortedJSON(config)
            return TrainingTask(module: model, family: WaveGlow.family, configJSON: json, melPreset: name,
                                loss: { b in model.loss(mel: b.mel!, audio: b.audio, sigma: 1) },
                                preview: { b in
                                    var rng = RandomGenerator(seed: 0)
                                    let audio = model.infer(mel: b.mel!.sliced(axis: 0, end: 1), sigma: 0.6, using: &rng)
                                    return (audio.scalars, recipe.data.sampleRate)
                                })
        default:
            throw TrainingError.recipe("unknown model family '\(recipe.model.family)'; available: \(names.joined(separator: ", ")).")
        }
    }

    /// The recipe's configuration: its named preset (else `base`) with `model.config`'s fields
    /// laid over it, decoded strictly. `fields` names keys the preset may leave out (optional
    /// fields that encode as absent); any other key the preset does not have is rejected by name.
    static func configuration<C: Codable>(_ recipe: Recipe, name family: String, base: C, presets: [String: C],
                                          fields: Set<String>) throws -> C {
        var config = base
        if let name = recipe.model.preset {
            guard let p = presets[name] else {
                throw TrainingError.recipe("model.preset '\(name)' is not a \(family) preset; use one of: \(presets.keys.sorted().joined(separator: ", ")).")
            }
            config = p
        }
        guard let overrides = recipe.model.config else { return config }
        guard case .object(var given) = overrides else { throw TrainingError.recipe("model.config must be a mapping of \(family) fields.") }
        // Fill in the preset's values, then decode strictly (unknown keys named).
        let preset = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any] ?? [:]
        for (key, source) in [("mel_preset", "data.mel_preset"), ("sample_rate", "data.sample_rate")] where given[key] != nil {
            throw TrainingError.recipe("model.config.\(key) is taken from \(source); set it there and drop it from model.config.")
        }
        let known = Set(preset.keys).union(fields).subtracting(["mel_preset", "sample_rate"])
        if let unknown = given.keys.sorted().first(where: { !known.contains($0) }) {
            throw TrainingError.recipe("unknown key 'model.config.\(unknown)'; \(family) fields are: \(known.sorted().joined(separator: ", ")).")
        }
        for (k, v) in preset where given[k] == nil { given[k] = try JSONValue.from(v) }
        return try JSONValue.object(given).decode(C.self, path: "model.config")
    }

    static func sortedJSON<C: Encodable>(_ config: C) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(config), as: UTF8.self)
    }
}

extension JSONValue {
    static func from(_ any: Any) throws -> JSONValue {
        let data = try JSONSerialization.data(withJSONObject: [any])
        guard case .array(let a) = try JSONDecoder().decode(JSONValue.self, from: data), let v = a.first else { return .null }
        return v
    }
}

import DSP
import NN

/// WaveGlow hyperparameters, named as NVIDIA/waveglow's config.json (snake_case in JSON).
public struct WaveGlowConfig: Codable, Equatable, Sendable {
    public var nMelChannels: Int
    public var nFlows: Int
    /// Audio samples squeezed into channels per step.
    public var nGroup: Int
    public var nEarlyEvery: Int
    public var nEarlySize: Int
    /// WN: layers, channels and kernel width.
    public var nLayers: Int
    public var nChannels: Int
    public var kernelSize: Int
    public var melPreset: String?
    public var sampleRate: Int
    /// Width of the mel upsampler ConvTranspose1d (stride 256): NVIDIA's 1024 spans four frames;
    /// a smaller model can use 512 (two frames) to save n_mel² · 512 parameters. Optional in
    /// JSON (NVIDIA's config has no such key), default 1024.
    public var upsampleKernel: Int = 1024
    /// Samples per mel frame: the upsampler's stride (fixed, as NVIDIA's).
    public var hopLength: Int { 256 }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case nMelChannels = "n_mel_channels", nFlows = "n_flows", nGroup = "n_group", nEarlyEvery = "n_early_every"
        case nEarlySize = "n_early_size", nLayers = "n_layers", nChannels = "n_channels", kernelSize = "kernel_size"
        case melPreset = "mel_preset", sampleRate = "sample_rate", upsampleKernel = "upsample_kernel"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        nMelChannels = try c.decode(Int.self, forKey: .nMelChannels); nFlows = try c.decode(Int.self, forKey: .nFlows)
        nGroup = try c.decode(Int.self, forKey: .nGroup); nEarlyEvery = try c.decode(Int.self, forKey: .nEarlyEvery)
        nEarlySize = try c.decode(Int.self, forKey: .nEarlySize); nLayers = try c.decode(Int.self, forKey: .nLayers)
        nChannels = try c.decode(Int.self, forKey: .nChannels); kernelSize = try c.decode(Int.self, forKey: .kernelSize)
        melPreset = try c.decodeIfPresent(String.self, forKey: .melPreset); sampleRate = try c.decode(Int.self, forKey: .sampleRate)
        upsampleKernel = try c.decodeIfPresent(Int.self, forKey: .upsampleKernel) ?? 1024
    }

    public init(nMelChannels: Int, nFlows: Int, nGroup: Int, nEarlyEvery: Int, nEarlySize: Int, nLayers: Int,
                nChannels: Int, kernelSize: Int, melPreset: String?, sampleRate: Int) {
        self.nMelChannels = nMelChannels; self.nFlows = nFlows; self.nGroup = nGroup; self.nEarlyEvery = nEarlyEvery
        self.nEarlySize = nEarlySize; self.nLayers = nLayers; self.nChannels = nChannels; self.kernelSize = kernelSize
        self.melPreset = melPreset; self.sampleRate = sampleRate
    }

    /// NVIDIA's published model: 80 mels, 12 flows, groups of 8, 2 channels out every 4 flows,
    /// WN 8 layers × 256 channels, kernel 3 (DeepLearningExamples uses 512 channels).
    public static let nvidia = WaveGlowConfig(nMelChannels: 80, nFlows: 12, nGroup: 8, nEarlyEvery: 4, nEarlySize: 2,
                                              nLayers: 8, nChannels: 256, kernelSize: 3, melPreset: "tacotron2", sampleRate: 22050)
    /// A CPU-sized model: 8 flows, WN 4 layers × 64 channels.
    public static let small = WaveGlowConfig(nMelChannels: 80, nFlows: 8, nGroup: 8, nEarlyEvery: 4, nEarlySize: 2,
                                             nLayers: 4, nChannels: 64, kernelSize: 3, melPreset: "tacotron2", sampleRate: 22050)
    public static let presets: [String: WaveGlowConfig] = ["nvidia": .nvidia, "small": .small]

    /// Channels entering flow k (they shrink by n_early_size every n_early_every flows).
    public func channels(atFlow k: Int) -> Int {
        nGroup - nEarlySize * (k == 0 ? 0 : k / Swift.max(nEarlyEvery, 1))
    }

    public func validate() throws {
        func bad(_ s: String) -> NNError { .invalidConfig("WaveGlow config: \(s)") }
        for (name, v) in [("n_mel_channels", nMelChannels), ("n_flows", nFlows), ("n_group", nGroup), ("n_early_every", nEarlyEvery),
                          ("n_layers", nLayers), ("n_channels", nChannels), ("kernel_size", kernelSize), ("sample_rate", sampleRate)] where v < 1 {
            throw bad("\(name) must be at least 1, got \(v).")
        }
        guard upsampleKernel >= 256 else { throw bad("upsample_kernel must be at least the hop, 256 (got \(upsampleKernel)).") }
        guard nGroup % 2 == 0, nChannels % 2 == 0, kernelSize % 2 == 1 else {
            throw bad("n_group and n_channels must be even and kernel_size odd (got \(nGroup), \(nChannels), \(kernelSize)).")
        }
        guard nEarlySize >= 0, nEarlySize % 2 == 0, channels(atFlow: nFlows - 1) >= 2 else {
            throw bad("n_early_size \(nEarlySize) every \(nEarlyEvery) flows leaves no channels for \(nFlows) flows of \(nGroup).")
        }
        // The recorded preset computes the mel of audio given to vocode: it must fit the model
        // (its bands, WaveGlow's hop of 256 and the sample rate).
        if let melPreset {
            guard let preset = try? MelPreset.named(melPreset) else {
                throw bad("mel_preset '\(melPreset)' is not a preset WaveKit knows (\(MelPreset.all.map(\.name).joined(separator: ", "))).")
            }
            if let misfit = preset.misfit(nMels: nMelChannels, hopLength: hopLength, sampleRate: sampleRate) {
                throw bad("the recorded mel_preset '\(melPreset)' does not fit: \(misfit). Convert the checkpoint again with a preset that fits (or none), and vocode .npy mels made as it was trained.")
            }
        }
    }
}

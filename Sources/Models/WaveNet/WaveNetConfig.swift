import DSP
import NN

/// WaveNet hyperparameters, named as r9y9/wavenet_vocoder's hparams (snake_case in JSON).
public struct WaveNetConfig: Codable, Equatable, Sendable {
    /// What the network predicts per sample.
    public enum OutputDistribution: String, Codable, Sendable {
        /// 256-way softmax over μ-law classes; the input is the one-hot previous class.
        case mulaw
        /// Discretized mixture of logistics (PixelCNN++); the input is the previous sample.
        case mol
        /// A single Gaussian; the input is the previous sample.
        case gaussian
    }

    public var outChannels: Int
    public var layers: Int
    public var stacks: Int
    public var residualChannels: Int
    public var gateChannels: Int
    public var skipOutChannels: Int
    public var kernelSize: Int
    /// Mel bands of local conditioning (nil: unconditional).
    public var cinChannels: Int?
    /// Global (speaker) conditioning width (nil: none).
    public var ginChannels: Int?
    public var nSpeakers: Int?
    /// Upsampling factors whose product is the hop length (nil: conditioning already at the sample rate).
    public var upsampleScales: [Int]?
    /// Frames of context the upsampler's input convolution sees on each side.
    public var cinPad: Int
    /// Whether the input is the previous sample (MoL, Gaussian) rather than its one-hot class.
    public var scalarInput: Bool
    public var outputDistribution: OutputDistribution
    public var logScaleMin: Float
    /// The mel preset conditioning features are computed with.
    public var melPreset: String?
    /// How mels are upsampled: r9y9's current ConvInUpsampleNetwork (nil or `.convIn`), or
    /// its 2018 `upsample_conv` stack of weight-normalised transposed convolutions.
    public var upsampleLayout: UpsampleLayout?
    /// The transposed stack's kernel height over mel bands (r9y9 2018: 3).
    public var freqAxisKernelSize: Int?
    /// How skip outputs combine: nil, r9y9's current sum × √(1/layers); true, its 2018 default
    /// (the first layer's skip, then (skips + h) · √½ per later layer); false, a plain sum.
    public var legacy: Bool?

    public enum UpsampleLayout: String, Codable, Sendable {
        case convIn = "conv_in"
        case transposed
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case layers, stacks
        case outChannels = "out_channels", residualChannels = "residual_channels", gateChannels = "gate_channels"
        case skipOutChannels = "skip_out_channels", kernelSize = "kernel_size", cinChannels = "cin_channels"
        case ginChannels = "gin_channels", nSpeakers = "n_speakers", upsampleScales = "upsample_scales", cinPad = "cin_pad"
        case scalarInput = "scalar_input", outputDistribution = "output_distribution", logScaleMin = "log_scale_min"
        case melPreset = "mel_preset", upsampleLayout = "upsample_layout", freqAxisKernelSize = "freq_axis_kernel_size"
        case legacy
    }

    public init(outChannels: Int, layers: Int, stacks: Int, residualChannels: Int, gateChannels: Int, skipOutChannels: Int,
                kernelSize: Int, cinChannels: Int?, ginChannels: Int?, nSpeakers: Int?, upsampleScales: [Int]?, cinPad: Int,
                scalarInput: Bool, outputDistribution: OutputDistribution, logScaleMin: Float, melPreset: String?) {
        self.outChannels = outChannels; self.layers = layers; self.stacks = stacks
        self.residualChannels = residualChannels; self.gateChannels = gateChannels; self.skipOutChannels = skipOutChannels
        self.kernelSize = kernelSize; self.cinChannels = cinChannels; self.ginChannels = ginChannels; self.nSpeakers = nSpeakers
        self.upsampleScales = upsampleScales; self.cinPad = cinPad; self.scalarInput = scalarInput
        self.outputDistribution = outputDistribution; self.logScaleMin = logScaleMin; self.melPreset = melPreset
    }

    /// The JSON field names.
    public enum CodingKeysList { public static var all: [String] { CodingKeys.allCases.map(\.rawValue) } }

    /// Samples of mel frame: the product of the upsampling scales.
    public var hopLength: Int { upsampleScales?.reduce(1, *) ?? 1 }
    /// Layers per dilation cycle.
    public var layersPerStack: Int { layers / stacks }
    public func dilation(ofLayer i: Int) -> Int { 1 << (i % layersPerStack) }
    /// Samples of history an output depends on.
    public var receptiveField: Int { (0..<layers).reduce(1) { $0 + (kernelSize - 1) * dilation(ofLayer: $1) } }

    /// The output distribution object.
    public var distribution: any NN.OutputDistribution {
        switch outputDistribution {
        case .mulaw: return Categorical(classes: outChannels)
        case .mol: return DiscretizedMixtureOfLogistics(components: outChannels / 3, numClasses: 65536, logScaleMin: logScaleMin)
        case .gaussian: return GaussianOutput(logScaleMin: logScaleMin)
        }
    }

    /// Checks the numbers fit together, naming the field and the fix.
    public func validate() throws {
        func bad(_ s: String) -> NNError { .invalidConfig("WaveNet config: \(s)") }
        guard layers >= 1, stacks >= 1, layers % stacks == 0 else { throw bad("layers (\(layers)) must be a positive multiple of stacks (\(stacks)).") }
        guard gateChannels % 2 == 0 else { throw bad("gate_channels (\(gateChannels)) must be even (it splits into tanh and sigmoid halves).") }
        guard kernelSize >= 2 else { throw bad("kernel_size must be at least 2, got \(kernelSize).") }
        for (name, v) in [("out_channels", outChannels), ("residual_channels", residualChannels), ("gate_channels", gateChannels),
                          ("skip_out_channels", skipOutChannels), ("cin_channels", cinChannels ?? 1), ("gin_channels", ginChannels ?? 1),
                          ("n_speakers", nSpeakers ?? 1)] where v < 1 {
            throw bad("\(name) must be at least 1, got \(v).")
        }
        guard cinPad >= 0 else { throw bad("cin_pad must be ≥ 0, got \(cinPad).") }
        if let scales = upsampleScales, scales.isEmpty || scales.contains(where: { $0 < 1 }) {
            throw bad("upsample_scales must be positive integers, got \(scales).")
        }
        if let k = freqAxisKernelSize, k < 1 || k % 2 == 0 { throw bad("freq_axis_kernel_size must be odd and positive, got \(k).") }
        if cinChannels != nil && upsampleScales == nil && upsampleLayout == .transposed {
            throw bad("the transposed upsampler needs upsample_scales.")
        }
        switch outputDistribution {
        case .mulaw:
            guard !scalarInput else { throw bad("mulaw output takes one-hot input: set scalar_input false.") }
            guard outChannels >= 2 else { throw bad("mulaw output needs at least 2 classes, got \(outChannels).") }
        case .mol: guard scalarInput, outChannels % 3 == 0 else { throw bad("mol output needs scalar_input and out_channels = 3 × components (got \(outChannels)).") }
        case .gaussian: guard scalarInput, outChannels == 2 else { throw bad("gaussian output needs scalar_input and out_channels 2 (got \(outChannels)).") }
        }
        if (ginChannels == nil) != (nSpeakers == nil) { throw bad("gin_channels and n_speakers go together.") }
        // A recorded preset must be one this model can take: vocoding audio computes its mel
        // with it (a converted checkpoint may record one that does not fit). Unconditional
        // models ignore it (older WaveKit versions recorded one for them).
        if let melPreset, cinChannels != nil {
            guard let preset = try? MelPreset.named(melPreset) else {
                throw bad("mel_preset '\(melPreset)' is not a preset WaveKit knows (\(MelPreset.all.map(\.name).joined(separator: ", "))).")
            }
            if let misfit = misfit(preset) {
                throw bad("the recorded mel_preset '\(melPreset)' does not fit: \(misfit). Convert the checkpoint again with a preset that fits (or none), and vocode .npy mels made as it was trained.")
            }
        }
    }

    /// Why `preset`'s mels cannot condition this model (nil: they can): no mel input, another
    /// band count, no upsampler (conditioning at the sample rate), or another hop.
    public func misfit(_ preset: MelPreset) -> String? {
        guard let cin = cinChannels else { return "the model takes no mel (cin_channels is null)" }
        guard upsampleScales != nil else {
            return "the model has no upsampler (upsample_scales is null), so it takes conditioning at the sample rate, not mel frames"
        }
        return preset.misfit(nMels: cin, hopLength: hopLength)
    }

    /// r9y9's current default (egs/mol): 10 logistics, 24 layers in 4 stacks, 128/256/128
    /// channels, kernel 3, upsampling [4, 4, 4, 4] with 2 frames of padding, its r9y9 mel.
    public static let r9y9Mol = WaveNetConfig(outChannels: 30, layers: 24, stacks: 4, residualChannels: 128, gateChannels: 256,
                                              skipOutChannels: 128, kernelSize: 3, cinChannels: 80, ginChannels: nil, nSpeakers: nil,
                                              upsampleScales: [4, 4, 4, 4], cinPad: 2, scalarInput: true, outputDistribution: .mol,
                                              logScaleMin: -32.23619130191664, melPreset: "r9y9")
    /// A CPU-sized vocoder: 20 layers in 2 stacks, 64/128/64 channels, kernel 3, μ-law output,
    /// tacotron2 mels.
    public static let small = WaveNetConfig(outChannels: 256, layers: 20, stacks: 2, residualChannels: 64, gateChannels: 128,
                                            skipOutChannels: 64, kernelSize: 3, cinChannels: 80, ginChannels: nil, nSpeakers: nil,
                                            upsampleScales: [4, 4, 4, 4], cinPad: 2, scalarInput: false, outputDistribution: .mulaw,
                                            logScaleMin: -16.11809565095832, melPreset: "tacotron2")

    /// r9y9's 2018 LJSpeech model: 24 layers in 4 stacks, 512/512/256 channels, 10 logistics,
    /// the older `upsample_conv` layout (transposed convolutions 3 × s, stride s, ReLU).
    public static let r9y9LJSpeech2018: WaveNetConfig = {
        var c = WaveNetConfig(outChannels: 30, layers: 24, stacks: 4, residualChannels: 512, gateChannels: 512,
                              skipOutChannels: 256, kernelSize: 3, cinChannels: 80, ginChannels: nil, nSpeakers: nil,
                              upsampleScales: [4, 4, 4, 4], cinPad: 0, scalarInput: true, outputDistribution: .mol,
                              logScaleMin: -32.23619130191664, melPreset: "r9y9")
        c.upsampleLayout = .transposed
        c.freqAxisKernelSize = 3
        c.legacy = true
        return c
    }()

    /// Named presets.
    public static let presets: [String: WaveNetConfig] = ["mol": .r9y9Mol, "small": .small, "ljspeech-2018": .r9y9LJSpeech2018]
}

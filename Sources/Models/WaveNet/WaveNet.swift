import Foundation
import NN
import TensorCore

/// WaveNet (van den Oord et al. 2016): a residual stack of dilated causal convolutions with
/// gated activations, skip connections into a ReLU–1×1–ReLU–1×1 head, local conditioning on
/// upsampled mel-spectrograms and global conditioning on a speaker embedding. Parameter names
/// follow r9y9/wavenet_vocoder, so its checkpoints load after tools/convert_checkpoint.py.
public final class WaveNet: Module {
    public static let family = "wavenet"
    public let config: WaveNetConfig
    let firstConv: Conv1d
    let convLayers: [ResidualBlock]
    let lastConvLayers: [any Layer]
    let embedSpeakers: Embedding?
    let upsampleNet: UpsampleNetwork?
    /// r9y9's 2018 layout: [ConvTranspose2d (weight norm), ReLU] per scale.
    let upsampleConv: [any Layer]?

    public init(config: WaveNetConfig, using g: inout RandomGenerator) throws {
        try config.validate()
        self.config = config
        firstConv = Conv1d(config.scalarInput ? 1 : config.outChannels, config.residualChannels, kernelSize: 1,
                           weightNorm: true, using: &g)
        convLayers = (0..<config.layers).map { ResidualBlock(config, dilation: config.dilation(ofLayer: $0), using: &g) }
        lastConvLayers = [Activation(.relu), Conv1d(config.skipOutChannels, config.skipOutChannels, kernelSize: 1, weightNorm: true, using: &g),
                          Activation(.relu), Conv1d(config.skipOutChannels, config.outChannels, kernelSize: 1, weightNorm: true, using: &g)]
        if let gin = config.ginChannels, let n = config.nSpeakers { embedSpeakers = Embedding(n, gin, using: &g) } else { embedSpeakers = nil }
        if let cin = config.cinChannels, let scales = config.upsampleScales, config.upsampleLayout != .transposed {
            upsampleNet = UpsampleNetwork(channels: cin, scales: scales, cinPad: config.cinPad, using: &g)
        } else {
            upsampleNet = nil
        }
        if config.cinChannels != nil, let scales = config.upsampleScales, config.upsampleLayout == .transposed {
            let kh = config.freqAxisKernelSize ?? 1
            upsampleConv = scales.flatMap { s -> [any Layer] in
                [ConvTranspose2d(1, 1, kernelSize: [kh, s], stride: [1, s], padding: [(kh - 1) / 2, 0], weightNorm: true, using: &g),
                 Activation(.relu)]
            }
        } else {
            upsampleConv = nil
        }
    }

    /// The network's input for audio: the samples [B, 1, T] (scalar input) or the one-hot of
    /// their μ-law classes [B, 256, T]. `audio` is [B, T] in [-1, 1] (scalar) or classes.
    public func input(_ audio: Tensor) -> Tensor {
        if config.scalarInput { return audio.unsqueezed(axis: 1) }
        return Tensor.oneHot(audio, classes: config.outChannels).permuted([0, 2, 1])
    }

    /// Mel frames [B, C_mel, F] → conditioning at the sample rate [B, C_mel, F · hop]
    /// (edge-padded by cin_pad frames first, as r9y9's data pipeline does).
    public func upsampledConditioning(_ mel: Tensor) -> Tensor {
        if let upsampleConv {
            // [B, C, F] → [B, 1, C, F] → transposed convolutions along time → [B, C, F · hop].
            return upsampleConv.reduce(mel.unsqueezed(axis: 1)) { $1($0) }.squeezed(axis: 1)
        }
        guard let upsampleNet else { return mel }
        return upsampleNet(edgePadded(mel))
    }

    /// The mel with cin_pad copies of its first and last frames added (r9y9's data pipeline).
    private func edgePadded(_ mel: Tensor) -> Tensor {
        config.cinPad > 0 ? mel.padded([(config.cinPad, config.cinPad)], mode: .replicate) : mel
    }

    /// For generation at frame rate: the mel frames after the upsampler's input convolution
    /// [B, C_mel, F] and the stack's per-sample weights over them (see `UpsampleTaps`), when
    /// the upsampler is r9y9's current, linear one; nil for the 2018 layout (its ReLUs do not
    /// commute with the conditioning) and for mels given at the sample rate.
    func frameConditioning(_ mel: Tensor) -> (frames: Tensor, taps: UpsampleTaps)? {
        guard let upsampleNet, let scales = config.upsampleScales else { return nil }
        let h = upsampleNet.convIn(edgePadded(mel))
        return (h, UpsampleTaps(stack: upsampleNet.upsample, scales: scales, frames: h.shape[2]))
    }

    /// Speaker ids → [B, C_g, 1].
    public func speakerConditioning(_ speakers: [Int]) -> Tensor? {
        guard let embedSpeakers else { return nil }
        return embedSpeakers(Tensor(speakers.map(Float.init))).unsqueezed(axis: 2)
    }

    /// Output distribution parameters [B, out, T] for input x [B, in, T], conditioning c
    /// [B, C_mel, T] (already upsampled) and g [B, C_g, 1].
    public func callAsFunction(_ x: Tensor, c: Tensor? = nil, g: Tensor? = nil) -> Tensor {
        stack(firstConv(x), c: c, g: g)
    }

    /// The residual stack and head from the first convolution's output h [B, R, T].
    func stack(_ first: Tensor, c: Tensor?, g: Tensor?) -> Tensor {
        if let c { precondition(c.shape[2] == first.shape[2], "WaveNet: conditioning has \(c.shape[2]) steps, input \(first.shape[2])") }
        var h = first
        var skips: Tensor?
        for layer in convLayers {
            let (r, s) = layer(h, c: c, g: g)
            h = r
            if let previous = skips {
                skips = config.legacy == true ? (previous + s) * Float(0.5).squareRoot() : previous + s
            } else {
                skips = s
            }
        }
        // r9y9's current code scales the summed skips by √(1/layers); its 2018 code did not.
        let combined = config.legacy == nil ? skips! * Float(1 / Double(config.layers)).squareRoot() : skips!
        return lastConvLayers.reduce(combined) { $1($0) }
    }

    /// Throws, naming the problem, when `mel` [B, C_mel, F] and `speakers` are not what this
    /// model takes for a batch of `batch` utterances of `samples` samples each (a mel for a
    /// mel-conditioned model and none otherwise, its band count, at least samples / hop
    /// frames when `samples` is given, one speaker id in range per utterance or none). The
    /// model's entry points stop on what this would throw: library code reading mels from
    /// files checks them first.
    public func checkInputs(mel: Tensor?, speakers: [Int]?, batch: Int, samples: Int? = nil) throws {
        func bad(_ s: String) -> NNError { .invalidConfig("WaveNet input: \(s)") }
        if let cin = config.cinChannels {
            guard let mel else { throw bad("this model is mel-conditioned; pass a mel [\(batch), \(cin), frames].") }
            guard mel.rank == 3, mel.shape[0] == batch, mel.shape[1] == cin else {
                throw bad("the mel has shape \(mel.shape) but the model takes [\(batch), \(cin), frames] (batch, bands, frames).")
            }
            if let samples, mel.shape[2] * config.hopLength < samples {
                throw bad("\(mel.shape[2]) mel frames cover \(mel.shape[2] * config.hopLength) samples, fewer than the \(samples) asked for (hop \(config.hopLength)).")
            }
        } else if mel != nil {
            throw bad("this model takes no mel (cin_channels is null); pass nil.")
        }
        if let n = config.nSpeakers {
            guard let speakers else { throw bad("this model is speaker-conditioned; pass one speaker id (0…\(n - 1)) per utterance.") }
            guard speakers.count == batch, speakers.allSatisfy({ (0..<n).contains($0) }) else {
                throw bad("speakers \(speakers) must be \(batch) id(s) in 0…\(n - 1).")
            }
        } else if speakers != nil {
            throw bad("this model has no speaker conditioning; pass nil speakers.")
        }
    }

    /// Teacher-forced mean negative log-likelihood (nats per sample) of audio [B, T] in
    /// [-1, 1] given its mel [B, C_mel, ≥ T / hop] (frames beyond the audio are ignored):
    /// sample t is predicted from samples < t.
    public func negativeLogLikelihood(audio: Tensor, mel: Tensor?, speakers: [Int]? = nil) -> Tensor {
        precondition(audio.rank == 2, "WaveNet.negativeLogLikelihood: audio must be [B, T], got \(audio.shape)")
        do { try checkInputs(mel: mel, speakers: speakers, batch: audio.shape[0], samples: audio.shape[1]) } catch { preconditionFailure("\(error)") }
        let target: Tensor
        if config.outputDistribution == .mulaw {
            target = withoutGradient { Tensor(shape: audio.shape, scalars: audio.scalars.map { Float(MuLawClasses.encode($0, classes: config.outChannels)) }) }
        } else {
            target = audio
        }
        let t = audio.shape[1]
        // Input is the sequence shifted right by one (zero / the middle class first).
        let start = config.outputDistribution == .mulaw ? Float(config.outChannels / 2) : 0
        let shifted = Tensor.concat([Tensor.full([audio.shape[0], 1], start), target.sliced(axis: 1, end: t - 1)], axis: 1).detached()
        // A mel may cover more than the audio (`MelSpectrogram` gives 1 + T / hop centred
        // frames): the conditioning is cut to the audio's length.
        let c = mel.map { m -> Tensor in
            let up = upsampledConditioning(m)
            return up.shape[2] > t ? up.sliced(axis: 2, end: t) : up
        }
        let g = speakers.flatMap { speakerConditioning($0) }
        let first: Tensor
        if config.scalarInput {
            first = firstConv(input(shifted))
        } else {
            // first_conv of a one-hot is a column of its weight: look the columns up instead of
            // materialising [B, 256, T] and multiplying (same values and gradients).
            let w = firstConv.effectiveWeight.reshaped([config.residualChannels, config.outChannels]).transposed()   // [256, R]
            first = w.embedding(shifted).permuted([0, 2, 1]) + firstConv.bias!.value.reshaped([1, -1, 1])
        }
        let params = stack(first, c: c, g: g)
        return -config.distribution.logLikelihood(params, target).mean()
    }
}

/// μ-law classes without depending on AudioIO (Models sits beside it): the same curve and
/// binning as `MuLaw` (librosa's), tested against it.
public enum MuLawClasses {
    public static func encode(_ x: Float, classes: Int = 256) -> Int {
        let mu = Double(classes - 1)
        let c = Double(Swift.min(Swift.max(x, -1), 1))
        let l = Foundation.log1p(mu * Swift.abs(c)) / Foundation.log1p(mu)
        let y = c < 0 ? -l : l
        let step = 2.0 / mu
        var k = Swift.max(0, Swift.min(classes, Int(((y + 1) / step).rounded(.down))))
        while k <= classes - 1 && -1 + Double(k) * step < y { k += 1 }
        while k > 0 && !(-1 + Double(k - 1) * step < y) { k -= 1 }
        return Swift.min(k, classes - 1)
    }

    public static func decode(_ k: Int, classes: Int = 256) -> Float {
        let mu = Double(classes - 1)
        let y = Double(k - classes / 2) * 2 / Double(classes)
        return Float((y < 0 ? -1 : 1) * (Foundation.pow(1 + mu, Swift.abs(y)) - 1) / mu)
    }
}

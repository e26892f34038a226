import Foundation
import NN
import TensorCore

/// WaveGlow (Prenger, Valle & Catanzaro 2018): a normalising flow from audio to Gaussian noise
/// conditioned on mels. The audio is squeezed into groups of `n_group` samples; each of
/// `n_flows` steps is an invertible 1×1 convolution and an affine coupling whose scale and
/// shift come from a WN network; `n_early_size` channels leave every `n_early_every` flows.
/// Keys follow NVIDIA/waveglow (`upsample`, `WN.k.…`, `convinv.k.conv.weight`).
public final class WaveGlow: Module {
    public static let family = "waveglow"
    public static var keyOverrides: [String: String] { ["wn": "WN"] }
    public let config: WaveGlowConfig
    let upsample: ConvTranspose1d
    let wn: [WN]
    let convinv: [InvertibleConv1x1]

    public init(config: WaveGlowConfig, using g: inout RandomGenerator) throws {
        try config.validate()
        self.config = config
        upsample = ConvTranspose1d(config.nMelChannels, config.nMelChannels, kernelSize: config.upsampleKernel, stride: config.hopLength, using: &g)
        var wns: [WN] = [], convs: [InvertibleConv1x1] = []
        for k in 0..<config.nFlows {
            let c = config.channels(atFlow: k)
            convs.append(InvertibleConv1x1(channels: c, using: &g))
            wns.append(WN(inChannels: c / 2, melChannels: config.nMelChannels * config.nGroup, layers: config.nLayers,
                          channels: config.nChannels, kernelSize: config.kernelSize, using: &g))
        }
        wn = wns; convinv = convs
    }

    /// mel [B, n_mel, F] upsampled and squeezed to [B, n_mel·n_group, T / n_group] for T samples.
    func squeezedConditioning(_ mel: Tensor, samples t: Int) -> Tensor {
        let up = upsample(mel)
        precondition(up.shape[2] >= t, "WaveGlow: the mel covers \(up.shape[2]) samples, fewer than \(t)")
        let (b, m, g) = (mel.shape[0], config.nMelChannels, config.nGroup)
        return up.sliced(axis: 2, end: t).reshaped([b, m, t / g, g]).permuted([0, 2, 1, 3])
            .reshaped([b, t / g, m * g]).permuted([0, 2, 1])
    }

    /// Throws, naming the problem, when `mel` is not [B, n_mel_channels, frames ≥ 1], or when
    /// `audio` (for the flow and the loss) is not [B, T] with T a multiple of n_group that the
    /// mel covers ((frames − 1) · 256 + upsample_kernel samples). The entry points stop on
    /// what this would throw: library code reading mels from files checks them first.
    public func checkInputs(mel: Tensor, audio: Tensor? = nil) throws {
        func bad(_ s: String) -> NNError { .invalidConfig("WaveGlow input: \(s)") }
        let m = config.nMelChannels
        guard mel.rank == 3, mel.shape[1] == m, mel.shape[2] >= 1 else {
            throw bad("the mel has shape \(mel.shape) but the model takes [batch, \(m), frames ≥ 1].")
        }
        guard let audio else { return }
        guard audio.rank == 2, audio.shape[0] == mel.shape[0] else {
            throw bad("audio has shape \(audio.shape) but the mel's batch is \(mel.shape[0]); pass [\(mel.shape[0]), samples].")
        }
        let t = audio.shape[1], covered = (mel.shape[2] - 1) * config.hopLength + config.upsampleKernel
        guard t % config.nGroup == 0 else { throw bad("audio length \(t) must be a multiple of n_group \(config.nGroup).") }
        guard t <= covered else { throw bad("the mel's \(mel.shape[2]) frames cover \(covered) samples, fewer than the audio's \(t).") }
    }

    /// The flow from audio [B, T] (T a multiple of n_group) to noise: (z [B, n_group, T/n_group]
    /// with early outputs first, Σ log s, Σ log|det W|) — NVIDIA's `forward`.
    public func callAsFunction(mel: Tensor, audio: Tensor) -> (z: Tensor, logS: Tensor, logDetW: Tensor) {
        do { try checkInputs(mel: mel, audio: audio) } catch { preconditionFailure("\(error)") }
        let (b, t, g) = (audio.shape[0], audio.shape[1], config.nGroup)
        let spect = squeezedConditioning(mel, samples: t)
        var x = audio.reshaped([b, t / g, g]).permuted([0, 2, 1])          // [B, n_group, T/g]
        var early: [Tensor] = []
        var logS = Tensor(Float(0)), logDet = Tensor(Float(0))
        for k in 0..<config.nFlows {
            if k % config.nEarlyEvery == 0 && k > 0 {
                early.append(x.sliced(axis: 1, end: config.nEarlySize))
                x = x.sliced(axis: 1, start: config.nEarlySize)
            }
            let (z, ld) = convinv[k](x)
            logDet = logDet + ld.sum()
            let half = z.shape[1] / 2
            let (x0, x1) = (z.sliced(axis: 1, end: half), z.sliced(axis: 1, start: half))
            let out = wn[k](x0, spect: spect)                              // [shift | log s]
            let (shift, ls) = (out.sliced(axis: 1, end: half), out.sliced(axis: 1, start: half))
            x = Tensor.concat([x0, ls.exp() * x1 + shift], axis: 1)
            logS = logS + ls.sum()
        }
        return (Tensor.concat(early + [x], axis: 1), logS, logDet)
    }

    /// NVIDIA's WaveGlowLoss: (Σ z²/(2σ²) − Σ log s − Σ log|det W|) / z.count, in nats per
    /// element (the negative log-likelihood per sample, up to the constant ½ log 2πσ²).
    public func loss(mel: Tensor, audio: Tensor, sigma: Float = 1) -> Tensor {
        let (z, logS, logDet) = self(mel: mel, audio: audio)
        return (z.square().sum() / (2 * sigma * sigma) - logS - logDet) / Float(z.count)
    }

    /// Exact negative log-likelihood per sample in nats (with the Gaussian's normaliser), for `score`.
    public func negativeLogLikelihood(mel: Tensor, audio: Tensor, sigma: Float = 1) -> Tensor {
        loss(mel: mel, audio: audio, sigma: sigma) + Float(0.5 * Foundation.log(2 * Double.pi * Double(sigma * sigma)))
    }

    /// The inverse of the flow: z [B, n_group, T/n_group] (early outputs first, as `forward`
    /// returns it) and the squeezed conditioning → audio [B, T].
    func inverse(z: Tensor, spect: Tensor) -> Tensor {
        let b = z.shape[0]
        let earlyCount = (config.nFlows - 1) / config.nEarlyEvery
        let finalChannels = config.channels(atFlow: config.nFlows - 1)
        var early = (0..<earlyCount).map { z.sliced(axis: 1, start: $0 * config.nEarlySize, end: ($0 + 1) * config.nEarlySize) }
        var x = z.sliced(axis: 1, start: earlyCount * config.nEarlySize, end: earlyCount * config.nEarlySize + finalChannels)
        for k in stride(from: config.nFlows - 1, through: 0, by: -1) {
            let half = x.shape[1] / 2
            let (x0, x1) = (x.sliced(axis: 1, end: half), x.sliced(axis: 1, start: half))
            let out = wn[k](x0, spect: spect)
            let (shift, ls) = (out.sliced(axis: 1, end: half), out.sliced(axis: 1, start: half))
            x = convinv[k].inverse(Tensor.concat([x0, (x1 - shift) * (-ls).exp()], axis: 1))
            if k % config.nEarlyEvery == 0 && k > 0 { x = Tensor.concat([early.removeLast(), x], axis: 1) }
        }
        return x.permuted([0, 2, 1]).reshaped([b, -1])
    }

    /// The inverse of `callAsFunction(mel:audio:)`: z → audio [B, T] for T = z's steps · n_group.
    public func inverse(z: Tensor, mel: Tensor) -> Tensor {
        inverse(z: z, spect: squeezedConditioning(mel, samples: z.shape[2] * config.nGroup))
    }

    /// Audio from mel [B, n_mel, F]: F·256 samples (the upsampler makes (F − 1)·256 + K and
    /// NVIDIA trims its tail of K − 256, K = upsample_kernel), from noise at temperature `sigma` (0: deterministic).
    /// Returns [B, T].
    public func infer(mel: Tensor, sigma: Float, using rng: inout RandomGenerator) -> Tensor {
        do { try checkInputs(mel: mel) } catch { preconditionFailure("WaveGlow.infer: \(error)") }
        return withoutGradient {
            let (b, m, g) = (mel.shape[0], config.nMelChannels, config.nGroup)
            // In a closure so the upsampled mel is freed once squeezed (70 MB for 10 s).
            let spect: Tensor = {
                let up = upsample(mel)
                let t = (up.shape[2] - (config.upsampleKernel - 256)) / g * g
                return up.sliced(axis: 2, end: t).reshaped([b, m, t / g, g]).permuted([0, 2, 1, 3])
                    .reshaped([b, t / g, m * g]).permuted([0, 2, 1]).contiguous()
            }()
            let t = spect.shape[2] * g
            let z = sigma == 0 ? Tensor.zeros([b, g, t / g]) : Tensor.randomNormal([b, g, t / g], std: sigma, using: &rng)
            return inverse(z: z, spect: spect)
        }
    }
}

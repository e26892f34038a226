import DSP
import TensorCore

/// NVIDIA's WaveGlow denoiser (`denoiser.py`): the vocoder's bias, its output for an all-zero
/// mel at σ = 0, is measured once as a magnitude spectrum (the first STFT frame), and
/// `strength` times that spectrum is subtracted from the magnitude of the audio's STFT,
/// clamped at zero, keeping the phase. The STFT is NVIDIA's: n_fft = win = 1024, hop 256,
/// Hann, centred with reflect padding (the same as librosa's).
public struct WaveGlowDenoiser {
    public let stft: STFT
    /// |STFT(bias audio)| of the first frame, [bins].
    public let biasSpectrum: [Float]

    /// A denoiser with a bias spectrum measured before (`biasSpectrum` of a denoiser made from
    /// the same model), which skips the inference.
    public init(biasSpectrum: [Float]) throws {
        stft = try STFT(nFFT: 1024, hopLength: 256, winLength: 1024, window: .hann)
        precondition(biasSpectrum.count == stft.bins, "WaveGlowDenoiser: \(biasSpectrum.count) bias bins, expected \(stft.bins)")
        self.biasSpectrum = biasSpectrum
    }

    /// - Parameter biasFrames: frames of the zero mel (NVIDIA uses 88).
    public init(model: WaveGlow, biasFrames: Int = 88) throws {
        stft = try STFT(nFFT: 1024, hopLength: 256, winLength: 1024, window: .hann)
        var rng = RandomGenerator(seed: 0)
        let bias = model.infer(mel: Tensor.zeros([1, model.config.nMelChannels, biasFrames]), sigma: 0, using: &rng).scalars
        let magnitude = stft.magnitude(bias).contiguous().scalars       // [bins, frames]
        let frames = stft.frameCount(samples: bias.count)
        biasSpectrum = (0..<stft.bins).map { magnitude[$0 * frames] }
    }

    /// `audio` with `strength` × the bias spectrum removed (NVIDIA's inference script uses 0.01
    /// on the command line; its `Denoiser.forward` defaults to 0.1). The length is kept.
    public func callAsFunction(_ audio: [Float], strength: Float) -> [Float] {
        let s = stft(audio)
        let (bins, frames) = (s.bins, s.frames)
        var re = s.real.contiguous().scalars, im = s.imag.contiguous().scalars
        for k in 0..<bins {
            let remove = biasSpectrum[k] * strength
            for t in 0..<frames {
                let i = k * frames + t
                let m = (re[i] * re[i] + im[i] * im[i]).squareRoot()
                let scale = m > 0 ? Swift.max(m - remove, 0) / m : 0
                re[i] *= scale; im[i] *= scale
            }
        }
        let cleaned = ComplexSpectrogram(real: Tensor(shape: [bins, frames], scalars: re),
                                         imag: Tensor(shape: [bins, frames], scalars: im))
        return stft.inverse(cleaned, length: audio.count)
    }
}

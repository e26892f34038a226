import Foundation
import TensorCore

/// Phase reconstruction by the fast Griffin–Lim algorithm (Perraudin, Balazs & Søndergaard
/// 2013), as `librosa.griffinlim`: alternate projections between consistent spectrograms and
/// the given magnitude, with momentum.
public struct GriffinLim: Sendable {
    /// Where the phase starts.
    public enum Initialization: Sendable {
        /// Zero phase (librosa's `init=None`).
        case zeroPhase
        /// Uniformly random phase from a seeded generator (librosa's default `init='random'`).
        case random(seed: UInt64)
    }

    public let stft: STFT
    public var iterations: Int
    public var momentum: Float

    public init(stft: STFT, iterations: Int = 32, momentum: Float = 0.99) throws {
        guard iterations >= 0 else { throw DSPError.invalidParameter("Griffin-Lim needs a non-negative iteration count, got \(iterations).") }
        guard momentum >= 0 else { throw DSPError.invalidParameter("Griffin-Lim momentum must be non-negative, got \(momentum).") }
        self.stft = stft; self.iterations = iterations; self.momentum = momentum
    }

    /// A signal whose STFT magnitude approximates `magnitude` [bins, frames].
    /// `progress(i)` is called after iteration i (1-based). Throws for a magnitude of the wrong
    /// shape, with no frames, or with a negative or non-finite value.
    public func reconstruct(magnitude: Tensor, length: Int? = nil, initialization: Initialization = .random(seed: 0),
                            progress: ((Int) -> Void)? = nil) throws -> [Float] {
        guard magnitude.rank == 2, magnitude.shape[0] == stft.bins, magnitude.shape[1] > 0 else {
            throw DSPError.invalidParameter(
                "Griffin-Lim needs a magnitude spectrogram of shape [\(stft.bins), frames] (n_fft \(stft.nFFT) gives "
                + "\(stft.bins) bins) with at least one frame, got \(magnitude.shape). For a mel, use MelSpectrogram.invert.")
        }
        if let length, length < 0 {
            throw DSPError.invalidParameter("Griffin-Lim output length must be non-negative, got \(length).")
        }
        let values = magnitude.scalars
        if let bad = values.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
            throw DSPError.invalidParameter(
                "Griffin-Lim needs a finite, non-negative magnitude; bin \(bad / magnitude.shape[1]), frame "
                + "\(bad % magnitude.shape[1]) is \(values[bad]). A log or dB spectrogram must be turned back into magnitudes first.")
        }
        return withoutGradient {
            let s = magnitude.detached()
            let frames = s.shape[1]
            var angleRe: Tensor, angleIm: Tensor
            switch initialization {
            case .zeroPhase:
                angleRe = Tensor.ones(s.shape); angleIm = Tensor.zeros(s.shape)
            case .random(let seed):
                var rng = RandomGenerator(seed: seed)
                let phase = Tensor.randomUniform(s.shape, low: 0, high: 2 * Float.pi, using: &rng)
                angleRe = phase.cos(); angleIm = phase.sin()
            }
            var prevRe = Tensor.zeros(s.shape), prevIm = Tensor.zeros(s.shape)
            let beta = momentum / (1 + momentum)
            for i in 0..<iterations {
                let y = stft.inverse(ComplexSpectrogram(real: s * angleRe, imag: s * angleIm), length: length)
                var rebuilt = stft(y)
                rebuilt = fitted(rebuilt, frames: frames)
                angleRe = rebuilt.real - prevRe * beta
                angleIm = rebuilt.imag - prevIm * beta
                let norm = (angleRe.square() + angleIm.square()).sqrt() + Float.leastNormalMagnitude
                angleRe = angleRe / norm
                angleIm = angleIm / norm
                (prevRe, prevIm) = (rebuilt.real, rebuilt.imag)
                progress?(i + 1)
            }
            return stft.inverse(ComplexSpectrogram(real: s * angleRe, imag: s * angleIm), length: length)
        }
    }

    /// `spec` cropped or zero-padded to `frames` (a `length` that is not a whole number of hops
    /// can change the frame count by one).
    private func fitted(_ spec: ComplexSpectrogram, frames: Int) -> ComplexSpectrogram {
        if spec.frames == frames { return spec }
        if spec.frames > frames {
            return ComplexSpectrogram(real: spec.real.sliced(axis: 1, end: frames), imag: spec.imag.sliced(axis: 1, end: frames))
        }
        let pad = frames - spec.frames
        return ComplexSpectrogram(real: spec.real.padded([(0, pad)]), imag: spec.imag.padded([(0, pad)]))
    }
}

/// Inverting a mel filterbank: the non-negative least-squares magnitude spectrogram whose mel
/// bands match (as `librosa.feature.inverse.mel_to_stft`).
public enum MelInversion {
    /// A [bins, frames] spectrogram X ≥ 0 minimising ‖M X − mel‖², from the clipped
    /// pseudo-inverse by accelerated projected gradient (FISTA).
    public static func linearSpectrogram(mel: Tensor, filterbank: MelFilterbank, iterations: Int = 60) -> Tensor {
        withoutGradient {
            let m = filterbank.weights                         // [nMels, bins]
            let mt = m.transposed()
            let gram = m.matmul(mt)                            // [nMels, nMels]
            // Pseudo-inverse Mᵀ (M Mᵀ)⁻¹ mel; empty filters make M Mᵀ singular, so regularise slightly.
            let solved = solveSymmetric(gram, mel, ridge: 1e-10)
            var x = mt.matmul(solved).relu()
            let step = 1 / Swift.max(largestEigenvalue(gram), 1e-12)
            var z = x, t: Float = 1
            for _ in 0..<iterations {
                let grad = mt.matmul(m.matmul(z) - mel)
                let next = (z - grad * step).relu()
                let tNext = (1 + (1 + 4 * t * t).squareRoot()) / 2
                z = next + (next - x) * ((t - 1) / tNext)
                x = next
                t = tNext
            }
            return x
        }
    }

    /// Solves (A + ridge·I) X = B for symmetric positive semi-definite A by Cholesky, in double precision.
    static func solveSymmetric(_ a: Tensor, _ b: Tensor, ridge: Double) -> Tensor {
        let n = a.shape[0], cols = b.shape[1]
        var l = a.scalars.map(Double.init)
        let trace = (0..<n).reduce(0.0) { $0 + l[$1 * n + $1] }
        for i in 0..<n { l[i * n + i] += ridge * Swift.max(trace / Double(n), 1e-30) }
        for j in 0..<n {
            var d = l[j * n + j]
            for k in 0..<j { d -= l[j * n + k] * l[j * n + k] }
            let djj = d > 0 ? d.squareRoot() : 1e-30
            l[j * n + j] = djj
            for i in (j + 1)..<Swift.max(n, j + 1) {
                var s = l[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = s / djj
            }
        }
        var x = b.scalars.map(Double.init)
        for c in 0..<cols {
            for i in 0..<n {                                 // L y = b
                var s = x[i * cols + c]
                for k in 0..<i { s -= l[i * n + k] * x[k * cols + c] }
                x[i * cols + c] = s / l[i * n + i]
            }
            for i in stride(from: n - 1, through: 0, by: -1) {   // Lᵀ x = y
                var s = x[i * cols + c]
                for k in (i + 1)..<Swift.max(n, i + 1) { s -= l[k * n + i] * x[k * cols + c] }
                x[i * cols + c] = s / l[i * n + i]
            }
        }
        return Tensor(shape: [n, cols], scalars: x.map { Float($0) })
    }

    /// The largest eigenvalue of a symmetric PSD matrix, by power iteration.
    static func largestEigenvalue(_ a: Tensor) -> Float {
        var v = Tensor.ones([a.shape[0], 1])
        var lambda: Float = 0
        for _ in 0..<50 {
            let w = a.matmul(v)
            lambda = w.norm().item
            if lambda == 0 { return 0 }
            v = w / lambda
        }
        return lambda
    }
}

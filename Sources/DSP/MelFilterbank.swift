import CKernels
import Foundation
import TensorCore

/// The frequency scale a mel filterbank is spaced on.
public enum MelScale: String, Codable, Sendable {
    /// Slaney's Auditory Toolbox scale: linear below 1 kHz, logarithmic above (librosa's default).
    case slaney
    /// HTK's 2595 · log10(1 + f / 700) (torchaudio's default).
    case htk

    /// Hz → mel.
    public func mel(fromHz f: Double) -> Double {
        switch self {
        case .htk: return 2595 * log10(1 + f / 700)
        case .slaney:
            let fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fSp, logStep = log(6.4) / 27
            return f >= minLogHz ? minLogMel + log(f / minLogHz) / logStep : f / fSp
        }
    }

    /// mel → Hz.
    public func hz(fromMel m: Double) -> Double {
        switch self {
        case .htk: return 700 * (pow(10, m / 2595) - 1)
        case .slaney:
            let fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fSp, logStep = log(6.4) / 27
            return m >= minLogMel ? minLogHz * exp(logStep * (m - minLogMel)) : fSp * m
        }
    }
}

/// How each mel filter is normalised.
public enum MelNorm: String, Codable, Sendable {
    /// Slaney's area normalisation: each triangle is scaled by 2 / (its bandwidth in Hz).
    case slaney
    /// Triangles with peak 1 (torchaudio's default).
    case none
}

/// Triangular mel filters over the bins of an nFFT-point FFT, exactly as `librosa.filters.mel`
/// (computed in double precision, stored as Float). Applied sparsely: each filter is a short
/// run of non-zero weights.
public struct MelFilterbank: Sendable {
    public let sampleRate: Int
    public let nFFT: Int
    public let nMels: Int
    public let fMin: Double
    public let fMax: Double
    public let scale: MelScale
    public let norm: MelNorm
    /// Dense weights, [nMels, nFFT/2 + 1].
    public let weights: Tensor

    let starts: [Int]
    let lengths: [Int]
    let offsets: [Int]
    let values: [Float]

    public init(sampleRate: Int, nFFT: Int, nMels: Int, fMin: Double = 0, fMax: Double? = nil,
                scale: MelScale = .slaney, norm: MelNorm = .slaney) throws {
        let top = fMax ?? Double(sampleRate) / 2
        guard sampleRate > 0, nFFT >= 2, nMels >= 1 else {
            throw DSPError.invalidParameter("mel filterbank needs a positive sample rate, n_fft ≥ 2 and n_mels ≥ 1 (got \(sampleRate), \(nFFT), \(nMels)).")
        }
        guard fMin >= 0, top > fMin, top <= Double(sampleRate) / 2 + 1e-9 else {
            throw DSPError.invalidParameter("mel range fmin \(fMin) Hz – fmax \(top) Hz must satisfy 0 ≤ fmin < fmax ≤ sample_rate / 2 (\(sampleRate / 2) Hz).")
        }
        self.sampleRate = sampleRate; self.nFFT = nFFT; self.nMels = nMels
        self.fMin = fMin; self.fMax = top; self.scale = scale; self.norm = norm
        let bins = nFFT / 2 + 1
        let fftFreqs = (0..<bins).map { Double($0) * Double(sampleRate) / Double(nFFT) }
        let lo = scale.mel(fromHz: fMin), hi = scale.mel(fromHz: top)
        let melF = (0..<(nMels + 2)).map { scale.hz(fromMel: lo + (hi - lo) * Double($0) / Double(nMels + 1)) }
        var dense = [Float](repeating: 0, count: nMels * bins)
        var starts: [Int] = [], lengths: [Int] = [], offsets: [Int] = [], values: [Float] = []
        for i in 0..<nMels {
            let dLow = melF[i + 1] - melF[i], dHigh = melF[i + 2] - melF[i + 1]
            let enorm = norm == .slaney ? 2 / (melF[i + 2] - melF[i]) : 1
            var first = -1, last = -1
            for k in 0..<bins {
                let lower = (fftFreqs[k] - melF[i]) / dLow
                let upper = (melF[i + 2] - fftFreqs[k]) / dHigh
                let w = Float(Swift.max(0, Swift.min(lower, upper)) * enorm)
                dense[i * bins + k] = w
                if w != 0 { if first < 0 { first = k }; last = k }
            }
            offsets.append(values.count)
            if first >= 0 {
                starts.append(first); lengths.append(last - first + 1)
                values += dense[(i * bins + first)...(i * bins + last)]
            } else {
                starts.append(0); lengths.append(0)
            }
        }
        weights = Tensor(shape: [nMels, bins], scalars: dense)
        self.starts = starts; self.lengths = lengths; self.offsets = offsets; self.values = values
    }

    /// Filters that no FFT bin falls in (more bands than n_fft resolves at low frequencies):
    /// their band is the floor in every frame. librosa warns about the same.
    public var emptyBands: Int { lengths.filter { $0 == 0 }.count }

    /// One past the highest FFT bin any filter uses.
    var usedBins: Int { zip(starts, lengths).map { $0 + $1 }.max() ?? 0 }

    /// Mel bands of a [bins, frames] (magnitude or power) spectrogram → [nMels, frames].
    public func apply(_ spectrogram: Tensor) -> Tensor {
        precondition(spectrogram.rank == 2 && spectrogram.shape[0] == nFFT / 2 + 1,
                     "MelFilterbank.apply: expected [\(nFFT / 2 + 1), frames], got \(spectrogram.shape)")
        let s = spectrogram.contiguous().detached()
        let frames = s.shape[1]
        let out = Storage(count: nMels * frames)
        bandSums(s.storage.base + s.offset, frames: frames, into: out.base, ldo: frames)
        return Tensor(shape: [nMels, frames], storage: out)
    }

    /// Band sums of a bin-major block x [bins, F] into out rows of stride `ldo`.
    func bandSums(_ x: UnsafePointer<Float>, frames: Int, into out: UnsafeMutablePointer<Float>, ldo: Int) {
        wk_band_sums(nMels, starts, lengths, offsets, values, frames, x, out, ldo)
    }
}

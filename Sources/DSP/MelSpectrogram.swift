import CKernels
import Foundation
import TensorCore

/// Mel-spectrogram features of a preset. The linear mel runs as one fused pass per block of
/// frames (window, batched FFT, magnitude, sparse mel bands), with no full spectrogram in memory.
public struct MelSpectrogram: Sendable {
    public let preset: MelPreset
    public let stft: STFT
    public let filterbank: MelFilterbank

    public init(preset: MelPreset) throws {
        self.preset = preset
        stft = try STFT(nFFT: preset.nFFT, hopLength: preset.hopLength, winLength: preset.winLength,
                        window: .hann, center: preset.center, padMode: preset.padMode)
        filterbank = try MelFilterbank(sampleRate: preset.sampleRate, nFFT: preset.nFFT, nMels: preset.nMels,
                                       fMin: preset.fMin, fMax: preset.fMax, scale: preset.scale, norm: preset.norm)
    }

    /// Features of mono samples at the preset's sample rate: [nMels, frames].
    public func callAsFunction(_ samples: [Float]) -> Tensor {
        if case .naturalLog(let floor) = preset.compression { return linear(samples, logFloor: floor) }
        return compress(linear(samples))
    }

    /// The linear mel (magnitude or power, per the preset) of mono samples: [nMels, frames].
    public func linear(_ samples: [Float]) -> Tensor { linear(samples, logFloor: nil) }

    /// The linear mel, or with `logFloor` its ln(max(x, floor)) applied to each block while
    /// it is still in cache (the log-mel then costs no extra pass over memory).
    private func linear(_ samples: [Float], logFloor: Float?) -> Tensor {
        let frames = stft.frameCount(samples: samples.count)
        let nMels = preset.nMels, b = STFT.block
        let out = Storage(count: nMels * frames)
        let power = Int32(preset.power)
        // Only the bins some filter uses need a magnitude.
        let usedBins = filterbank.usedBins
        stft.forEachBlock(samples) { first, count, spectrum, ld, scratch in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: usedBins * b) { mag in
                wk_complex_abs_transposed(count, usedBins, ld, spectrum, mag.baseAddress!, b, power, scratch)
                if count == b {
                    filterbank.bandSums(mag.baseAddress!, frames: b, into: out.base + first, ldo: frames)
                    if let logFloor {
                        for m in 0..<nMels { wk_unary(Int32(WK_LOG_FLOOR.rawValue), b, out.base + m * frames + first, out.base + m * frames + first, logFloor) }
                    }
                } else {
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: nMels * b) { tail in
                        filterbank.bandSums(mag.baseAddress!, frames: b, into: tail.baseAddress!, ldo: b)
                        if let logFloor { wk_unary(Int32(WK_LOG_FLOOR.rawValue), nMels * b, tail.baseAddress!, tail.baseAddress!, logFloor) }
                        for m in 0..<nMels {
                            (out.base + m * frames + first).update(from: tail.baseAddress! + m * b, count: count)
                        }
                    }
                }
            }
        }
        return Tensor(shape: [nMels, frames], storage: out)
    }

    /// Linear mel → features, per the preset's compression.
    public func compress(_ linear: Tensor) -> Tensor {
        withoutGradient {
            switch preset.compression {
            case .naturalLog(let floor):
                return linear.maximum(Tensor(floor)).log()
            case .normalizedDecibels(let minDB, let refDB):
                let minAmplitude = Float(Foundation.pow(10, Double(minDB) / 20))
                let db = linear.maximum(Tensor(minAmplitude)).log() * Float(20 / Foundation.log(10.0)) - refDB
                return ((db - minDB) / -minDB).clamped(min: 0, max: 1)
            case .none:
                return linear
            }
        }
    }

    /// Features → linear mel (the inverse of `compress` above its floor).
    public func decompress(_ features: Tensor) -> Tensor {
        withoutGradient {
            switch preset.compression {
            case .naturalLog:
                return features.exp()
            case .normalizedDecibels(let minDB, let refDB):
                let db = features.clamped(min: 0, max: 1) * -minDB + minDB + refDB
                return (db * Float(Foundation.log(10.0) / 20)).exp()
            case .none:
                return features
            }
        }
    }

    /// The STFT magnitude [bins, frames] a mel (features) most plausibly came from: the
    /// compression undone, the filterbank inverted by non-negative least squares, and the
    /// square root taken for power presets.
    public func linearMagnitude(_ features: Tensor, source: String = "mel") throws -> Tensor {
        try preset.validate(features, source: source)
        let spectrogram = MelInversion.linearSpectrogram(mel: decompress(features), filterbank: filterbank)
        return preset.power == 2 ? withoutGradient { spectrogram.sqrt() } : spectrogram
    }

    /// Audio from a mel (features of this preset, [n_mels, frames]) by Griffin-Lim, as
    /// `wavekit vocode` does without a checkpoint: `iterations` of fast Griffin-Lim with
    /// `momentum` from a random phase drawn with `seed`. Throws for a mel that does not fit the
    /// preset (`MelPreset.validate`). `progress(i)` is called after iteration i.
    public func invert(_ features: Tensor, iterations: Int = 32, momentum: Float = 0.99, seed: UInt64 = 0,
                       source: String = "mel", progress: ((Int) -> Void)? = nil) throws -> [Float] {
        let magnitude = try linearMagnitude(features, source: source)
        return try GriffinLim(stft: stft, iterations: iterations, momentum: momentum)
            .reconstruct(magnitude: magnitude, initialization: .random(seed: seed), progress: progress)
    }
}

/// Decibel scaling and mel-frequency cepstral coefficients (librosa's `power_to_db` and `mfcc`).
public enum MFCC {
    /// 10·log10(max(S, amin)) − 10·log10(max(ref, amin)), floored at max − topDB when given.
    public static func powerToDB(_ s: Tensor, ref: Float = 1, amin: Float = 1e-10, topDB: Float? = 80) -> Tensor {
        withoutGradient {
            let scale = Float(10 / Foundation.log(10.0))
            var db = s.maximum(Tensor(amin)).log() * scale - Float(10 * Foundation.log10(Double(Swift.max(ref, amin))))
            if let topDB { db = db.maximum(db.max() - topDB) }
            return db
        }
    }

    /// The orthonormal DCT-II matrix [nMFCC, nMels] (scipy's `dct(type=2, norm='ortho')`).
    public static func dctMatrix(nMFCC: Int, nMels: Int) -> Tensor {
        var d = [Float](repeating: 0, count: nMFCC * nMels)
        for k in 0..<nMFCC {
            let scale = k == 0 ? (1 / Double(nMels)).squareRoot() : (2 / Double(nMels)).squareRoot()
            for n in 0..<nMels {
                d[k * nMels + n] = Float(scale * Foundation.cos(Double.pi * Double(k) * Double(2 * n + 1) / Double(2 * nMels)))
            }
        }
        return Tensor(shape: [nMFCC, nMels], scalars: d)
    }

    /// MFCCs [nMFCC, frames] of a mel power spectrogram [nMels, frames]: the DCT of its decibels.
    public static func compute(melPower: Tensor, nMFCC: Int = 20, topDB: Float? = 80) -> Tensor {
        withoutGradient { dctMatrix(nMFCC: nMFCC, nMels: melPower.shape[0]).matmul(powerToDB(melPower, topDB: topDB)) }
    }
}

/// Pre-emphasis y[n] = x[n] − αx[n−1] and its exact inverse (x[−1] taken as 0).
public enum Emphasis {
    public static func preEmphasized(_ x: [Float], coefficient a: Float = 0.97) -> [Float] {
        var y = x
        for n in stride(from: x.count - 1, to: 0, by: -1) { y[n] = x[n] - a * x[n - 1] }
        return y
    }

    public static func deEmphasized(_ y: [Float], coefficient a: Float = 0.97) -> [Float] {
        var x = y
        for n in 1..<Swift.max(y.count, 1) { x[n] = y[n] + a * x[n - 1] }
        return x
    }
}

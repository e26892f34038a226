import CSoxr
import TensorCore

/// Band-limited resampling through libsoxr (the SoX resampler), so a 44.1 kHz or 48 kHz file
/// can feed a 22.05 kHz or 16 kHz model.
public enum Resampler {
    /// Resampling quality; `.veryHigh` is SoX's VHQ (about 175 dB stop-band), `.high` its HQ.
    public enum Quality: Sendable { case quick, low, medium, high, veryHigh }

    /// `audio` at `sampleRate`; every channel is resampled. Returns the input unchanged when the
    /// rates already match.
    public static func resample(_ audio: Audio, to sampleRate: Int, quality: Quality = .high) throws -> Audio {
        guard sampleRate > 0 else { throw AudioIOError.resampleFailed("target sample rate \(sampleRate) must be positive") }
        if sampleRate == audio.sampleRate { return audio }
        var channels: [Tensor] = []
        for c in 0..<audio.channels {
            let x = audio.samples.sliced(axis: 0, start: c, end: c + 1).scalars
            channels.append(Tensor(try resample(x, from: audio.sampleRate, to: sampleRate, quality: quality)).unsqueezed(axis: 0))
        }
        return Audio(samples: Tensor.concat(channels, axis: 0).detached(), sampleRate: sampleRate)
    }

    /// One channel of samples from `inRate` to `outRate` Hz. The output has
    /// ⌊len · outRate / inRate + ½⌋ samples, aligned with the input (no delay).
    public static func resample(_ x: [Float], from inRate: Int, to outRate: Int, quality: Quality = .high) throws -> [Float] {
        guard inRate > 0, outRate > 0 else { throw AudioIOError.resampleFailed("sample rates must be positive (got \(inRate) → \(outRate))") }
        let outCount = Int((Double(x.count) * Double(outRate) / Double(inRate)).rounded())
        var out = [Float](repeating: 0, count: Swift.max(outCount, 1))
        let recipe: UInt
        switch quality {
        case .quick: recipe = UInt(SOXR_QQ)
        case .low: recipe = UInt(SOXR_LQ)
        case .medium: recipe = UInt(SOXR_MQ)
        case .high: recipe = UInt(SOXR_HQ)
        case .veryHigh: recipe = UInt(SOXR_VHQ)
        }
        var q = soxr_quality_spec(recipe, 0)
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var done = 0
        let err = x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                soxr_oneshot(Double(inRate), Double(outRate), 1, src.baseAddress, x.count, nil,
                             dst.baseAddress, outCount, &done, &io, &q, nil)
            }
        }
        if let err { throw AudioIOError.resampleFailed(String(cString: err)) }
        return Array(out.prefix(outCount))
    }
}

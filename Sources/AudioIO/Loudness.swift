import Foundation
import TensorCore

/// Level normalisation and silence trimming.
public enum Loudness {
    /// Decibels relative to full scale of an amplitude (−∞ for 0).
    public static func dbfs(_ amplitude: Float) -> Double {
        amplitude > 0 ? 20 * Foundation.log10(Double(amplitude)) : -.infinity
    }

    /// `audio` scaled so its peak is `peakDBFS` (0 dBFS = full scale). Silence is returned unchanged.
    public static func normalizedPeak(_ audio: Audio, to peakDBFS: Double = -1) -> Audio {
        let p = audio.peak
        guard p > 0 else { return audio }
        return scaled(audio, by: Float(Foundation.pow(10, peakDBFS / 20)) / p)
    }

    /// `audio` scaled so its RMS level is `rmsDBFS`. Silence is returned unchanged.
    public static func normalizedRMS(_ audio: Audio, to rmsDBFS: Double = -20) -> Audio {
        let r = audio.rms
        guard r > 0 else { return audio }
        return scaled(audio, by: Float(Foundation.pow(10, rmsDBFS / 20)) / r)
    }

    private static func scaled(_ audio: Audio, by gain: Float) -> Audio {
        Audio(samples: withoutGradient { audio.samples * gain }, sampleRate: audio.sampleRate)
    }

    /// Leading and trailing silence removed, as `librosa.effects.trim`: frames whose RMS (mean
    /// over channels) is more than `topDB` below the loudest frame are silence. Frames are
    /// `frameLength` samples every `hopLength`, centred. Returns the trimmed audio and the kept
    /// sample range.
    public static func trimmed(_ audio: Audio, topDB: Double = 60, frameLength: Int = 2048, hopLength: Int = 512) -> (Audio, Range<Int>) {
        let mono = audio.monoSamples
        let n = mono.count
        guard n > 0 else { return (audio, 0..<0) }
        // Centred frames with zero padding of frameLength/2 on both sides.
        let pad = frameLength / 2
        let frames = 1 + n / hopLength
        var power = [Double](repeating: 0, count: frames)
        for f in 0..<frames {
            var s = 0.0
            let start = f * hopLength - pad
            for i in Swift.max(start, 0)..<Swift.min(start + frameLength, n) { s += Double(mono[i]) * Double(mono[i]) }
            power[f] = s / Double(frameLength)
        }
        let ref = power.max() ?? 0
        guard ref > 0 else { return (Audio(samples: audio.samples.sliced(axis: 1, end: 0), sampleRate: audio.sampleRate), 0..<0) }
        // power_to_db(mse, ref=max) > −topDB, with librosa's amin of 1e-10.
        let threshold = ref * Foundation.pow(10, -topDB / 10)
        let loud = power.indices.filter { Swift.max(power[$0], 1e-10) > Swift.max(threshold, 1e-10) }
        guard let first = loud.first, let last = loud.last else {
            return (Audio(samples: audio.samples.sliced(axis: 1, end: 0), sampleRate: audio.sampleRate), 0..<0)
        }
        let start = first * hopLength
        let end = Swift.min(n, (last + 1) * hopLength)
        let kept = audio.samples.sliced(axis: 1, start: start, end: end).contiguous().detached()
        return (Audio(samples: kept, sampleRate: audio.sampleRate), start..<end)
    }
}

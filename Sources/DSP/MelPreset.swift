import Foundation
import TensorCore

/// A complete mel-spectrogram recipe: sample rate, STFT, filterbank and compression. Acoustic
/// models and vocoders must agree on every field; WaveKit records the preset's name in every
/// file it writes and checks mels against it.
public struct MelPreset: Codable, Equatable, Sendable {
    /// How linear mel values are compressed into features.
    public enum Compression: Codable, Equatable, Sendable {
        /// ln(max(x, floor)) (Tacotron 2 / NVIDIA WaveGlow: floor 1e-5).
        case naturalLog(floor: Float)
        /// r9y9/wavenet_vocoder: 20·log10(max(x, 10^(minLevelDB/20))) − refLevelDB, then
        /// (S − minLevelDB) / −minLevelDB clipped to [0, 1].
        case normalizedDecibels(minLevelDB: Float, refLevelDB: Float)
        /// Linear mel values.
        case none
    }

    public var name: String
    public var sampleRate: Int
    public var nFFT: Int
    public var hopLength: Int
    public var winLength: Int
    public var nMels: Int
    public var fMin: Double
    public var fMax: Double?
    public var scale: MelScale
    public var norm: MelNorm
    /// 1 for magnitude, 2 for power.
    public var power: Int
    public var center: Bool
    public var padMode: STFT.PadMode
    public var compression: Compression

    /// NVIDIA Tacotron 2 / WaveGlow: 22 050 Hz, n_fft 1024, hop 256, 80 Slaney mels 0–8000 Hz,
    /// magnitude, reflect padding, ln(max(x, 1e-5)).
    public static let tacotron2 = MelPreset(name: "tacotron2", sampleRate: 22050, nFFT: 1024, hopLength: 256, winLength: 1024,
                                            nMels: 80, fMin: 0, fMax: 8000, scale: .slaney, norm: .slaney, power: 1,
                                            center: true, padMode: .reflect, compression: .naturalLog(floor: 1e-5))
    /// 16 kHz speech: n_fft 1024, hop 200, win 800, 80 mels 0–8000 Hz, same log.
    public static let speech16k = MelPreset(name: "16k", sampleRate: 16000, nFFT: 1024, hopLength: 200, winLength: 800,
                                            nMels: 80, fMin: 0, fMax: 8000, scale: .slaney, norm: .slaney, power: 1,
                                            center: true, padMode: .reflect, compression: .naturalLog(floor: 1e-5))
    /// r9y9/wavenet_vocoder (LJSpeech hparams): 125–7600 Hz, dB with ref 20 and min −100, normalised to [0, 1].
    public static let r9y9 = MelPreset(name: "r9y9", sampleRate: 22050, nFFT: 1024, hopLength: 256, winLength: 1024,
                                       nMels: 80, fMin: 125, fMax: 7600, scale: .slaney, norm: .slaney, power: 1,
                                       center: true, padMode: .reflect,
                                       compression: .normalizedDecibels(minLevelDB: -100, refLevelDB: 20))
    /// torchaudio's `MelSpectrogram` defaults at 16 kHz: HTK scale, no filter norm, n_fft 400,
    /// hop 200, 128 mels, power 2, no log.
    public static let torchaudio = MelPreset(name: "torchaudio", sampleRate: 16000, nFFT: 400, hopLength: 200, winLength: 400,
                                             nMels: 128, fMin: 0, fMax: nil, scale: .htk, norm: .none, power: 2,
                                             center: true, padMode: .reflect, compression: .none)

    /// Every named preset.
    public static let all: [MelPreset] = [.tacotron2, .speech16k, .r9y9, .torchaudio]

    /// The preset called `name`.
    public static func named(_ name: String) throws -> MelPreset {
        guard let p = all.first(where: { $0.name == name }) else {
            throw DSPError.unknownPreset(name, known: all.map(\.name))
        }
        return p
    }

    /// Why this preset's mels cannot condition a model that takes `nMels` bands, upsamples
    /// each frame to `hopLength` samples (nil: not checked) and runs at `sampleRate` (nil: not
    /// checked); nil when they can. WaveNet, WaveGlow and `vocode` all decide fit with it.
    public func misfit(nMels: Int, hopLength: Int?, sampleRate: Int? = nil) -> String? {
        var why: [String] = []
        if self.nMels != nMels { why.append("the \(name) preset has \(self.nMels) bands, the model \(nMels)") }
        if let hopLength, self.hopLength != hopLength { why.append("the \(name) preset's hop is \(self.hopLength), the model's \(hopLength)") }
        if let sampleRate, self.sampleRate != sampleRate { why.append("the \(name) preset is \(self.sampleRate) Hz, the model \(sampleRate) Hz") }
        return why.isEmpty ? nil : why.joined(separator: "; ")
    }

    /// The smallest and largest feature value this preset can produce, where bounded.
    public var featureRange: (min: Float, max: Float?) {
        switch compression {
        case .naturalLog(let floor): return (Foundation.log(floor), nil)
        case .normalizedDecibels: return (0, 1)
        case .none: return (0, nil)
        }
    }

    /// Values to draw and the range that spans 80 dB of them (log-mels as they are; power mels
    /// in decibels; r9y9's normalised mels, where 1.0 is 100 dB, over 0.8).
    public func displayValues(_ features: Tensor) -> (values: Tensor, range: Float) {
        switch compression {
        case .naturalLog: return (features, Float(80 / 20 * Foundation.log(10.0)))
        case .normalizedDecibels(let minDB, _): return (features, 80 / -minDB)
        case .none: return (MFCC.powerToDB(power == 2 ? features : features.square(), topDB: nil), 80)
        }
    }

    /// A one-line description of every field, for metadata and `wavekit info`.
    public var summary: String {
        let comp: String
        switch compression {
        case .naturalLog(let floor): comp = "ln(max(x,\(floor)))"
        case .normalizedDecibels(let minDB, let refDB): comp = "dB(min=\(minDB),ref=\(refDB))->[0,1]"
        case .none: comp = "linear"
        }
        return "preset=\(name) sr=\(sampleRate) n_fft=\(nFFT) hop=\(hopLength) win=\(winLength) n_mels=\(nMels) "
            + "fmin=\(fMin) fmax=\(fMax ?? Double(sampleRate) / 2) scale=\(scale.rawValue) norm=\(norm.rawValue) "
            + "power=\(power) pad=\(center ? padMode.rawValue : "none") compression=\(comp)"
    }

    /// Metadata pairs for files (no spaces in keys or values).
    public var metadata: [String: String] {
        Dictionary(uniqueKeysWithValues: summary.split(separator: " ").compactMap { pair -> (String, String)? in
            let kv = pair.split(separator: "=", maxSplits: 1)
            return kv.count == 2 ? (String(kv[0]), String(kv[1])) : nil
        })
    }

    /// Checks that `mel` [nMels, frames] could have come from this preset, and says how to fix it if not.
    public func validate(_ mel: Tensor, source: String) throws {
        guard mel.rank == 2 else {
            throw DSPError.melMismatch("'\(source)' has shape \(mel.shape); a mel-spectrogram must be [n_mels, frames] (transpose a [frames, n_mels] array first).")
        }
        if mel.shape[0] != nMels {
            let hint = mel.shape[1] == nMels ? " It looks transposed ([frames, n_mels]): save array.T instead." : " Use the preset the mel was made with (--preset), or recompute it."
            throw DSPError.melMismatch("'\(source)' has \(mel.shape[0]) mel bands but the '\(name)' preset has \(nMels).\(hint)")
        }
        guard mel.shape[1] > 0 else { throw DSPError.melMismatch("'\(source)' has no frames; pass a mel of at least one frame.") }
        let values = mel.scalars
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            let frames = mel.shape[1]
            throw DSPError.melMismatch("'\(source)' has \(values[bad].isNaN ? "a NaN" : "an infinite value") at band \(bad / frames), frame \(bad % frames); recompute the mel.")
        }
        let lo = values.min()!, hi = values.max()!
        let range = featureRange
        // Allow float rounding and mels computed with a slightly different floor.
        if lo < range.min - 0.5 || (range.max.map { hi > $0 + 0.01 } ?? false) {
            var hint = ""
            if case .naturalLog = compression, lo < -20 {
                hint = " Values this low look like decibels (librosa.power_to_db), not natural-log magnitudes: recompute the mel with `wavekit mel`, or convert it (ln of magnitude = dB · ln 10 / 20 for an amplitude mel)."
            }
            if case .normalizedDecibels = compression, lo < 0 { hint = " Negative values look like natural-log mels: use --preset tacotron2 or 16k." }
            throw DSPError.melMismatch("'\(source)' has values from \(lo) to \(hi), outside what the '\(name)' preset produces (\(range.min) to \(range.max.map { "\($0)" } ?? "∞")).\(hint)")
        }
        // Inside the range but not an ln-mel. An ln-mel of audio in [-1, 1] goes negative in
        // its quieter bins (hard-clipped full-scale noise still reaches about −2.2), and never
        // exceeds what a window of `winLength` ones summed over a band gives (about
        // ln(winLength) + 3). All ≥ 0 is r9y9's [0, 1] or a linear mel; higher is decibels.
        if case .naturalLog = compression {
            let ceiling = Float(Foundation.log(Double(winLength))) + 3
            var problem: String?
            if lo >= 0 && hi <= 1 {
                problem = "all in [0, 1], as r9y9's normalised mels are, not natural-log magnitudes (which go negative in quiet bins): use --preset r9y9 if it is one"
            } else if lo >= 0 {
                problem = "none negative, as in linear mel magnitudes or power\(hi > ceiling ? " or decibels shifted above 0" : "") (an ln-mel goes negative in its quieter bins): take ln(max(x, 1e-5)) of a magnitude mel first"
            } else if hi > ceiling {
                problem = "beyond what a natural-log mel of audio in [-1, 1] reaches (about \(ceiling)); values this high look like decibels: recompute the mel with `wavekit mel`, or convert it (ln of magnitude = dB · ln 10 / 20 for an amplitude mel)"
            }
            if let problem {
                throw DSPError.melMismatch("'\(source)' has values from \(lo) to \(hi), \(problem).")
            }
        }
    }
}

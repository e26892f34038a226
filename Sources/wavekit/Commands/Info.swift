import ArgumentParser
import AudioIO
import DSP
import Foundation
import NN

/// `wavekit info`: what an audio file (or a WaveKit .npy) holds.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show an audio file's format, length and levels (or a mel's, or a checkpoint's).",
        discussion: """
        Reads any format libsndfile supports. Peak and RMS are in dBFS over all channels (null \
        in JSON for digital silence). For a .npy file, shows its shape, value range (finite \
        values; NaN and infinities counted apart) and, for files WaveKit wrote, the mel preset \
        they were made with (JSON keys: shape, dtype, min, max, nan, infinite, metadata). For a \
        .safetensors checkpoint, shows its model family, parameters, mel preset, sample rate, \
        training steps, speakers and configuration (JSON: the same, config as an object).
        """)

    @Argument(help: "An audio file, a .npy array or a .safetensors checkpoint.")
    var file: String
    @Flag(help: "Print one JSON object (audio keys: sample_rate, channels, frames, duration, format, subtype, peak_dbfs, rms_dbfs).")
    var json = false

    func run() throws {
        try reportingErrors {
            if file.lowercased().hasSuffix(".npy") { return try describeArray() }
            if file.lowercased().hasSuffix(".safetensors") { return try describeCheckpoint() }
            let audio = try SoundFile.read(file)
            let info = try SoundFile.info(file)
            let peak = Loudness.dbfs(audio.peak), rms = Loudness.dbfs(audio.rms)
            if json {
                var o: [String: Any] = ["sample_rate": info.sampleRate, "channels": info.channels, "frames": audio.frames,
                                        "duration": audio.duration, "format": info.format, "subtype": info.subtype]
                o["peak_dbfs"] = peak.isFinite ? peak : NSNull()
                o["rms_dbfs"] = rms.isFinite ? rms : NSNull()
                let data = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            func db(_ v: Double) -> String { v.isFinite ? String(format: "%.2f dBFS", v) : "-inf dBFS (silence)" }
            print("""
            file:        \(file)
            format:      \(info.format) (\(info.subtype))
            sample rate: \(info.sampleRate) Hz
            channels:    \(info.channels)
            frames:      \(audio.frames)
            duration:    \(String(format: "%.3f", audio.duration)) s
            peak:        \(db(peak))
            rms:         \(db(rms))
            """)
        }
    }

    private func describeCheckpoint() throws {
        let f = try Safetensors.read(file)
        let model = f.tensors.filter { !$0.key.hasPrefix("optimizer.") && !$0.key.hasPrefix("ema.") }
        let parameters = model.values.reduce(0) { $0 + $1.count }
        var meta = f.metadata
        // Converted checkpoints record the preset only in their config.
        if meta["wavekit.mel_preset"] == nil, let config = meta[Checkpoint.configKey],
           let object = try? JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any],
           let preset = object["mel_preset"] as? String {
            meta["wavekit.mel_preset"] = preset
        }
        if json {
            var o: [String: Any] = ["tensors": model.count, "parameters": parameters]
            for (k, v) in meta where k.hasPrefix("wavekit.") && k != "wavekit.recipe" {
                // Numbers as numbers and the config as an object, not as the strings safetensors stores.
                if k == Checkpoint.configKey, let object = try? JSONSerialization.jsonObject(with: Data(v.utf8)) {
                    o[String(k.dropFirst(8))] = object
                } else if k == Checkpoint.speakersKey {
                    o["speakers"] = Checkpoint.speakerNames(meta)
                } else {
                    o[String(k.dropFirst(8))] = Int(v).map { $0 as Any } ?? v
                }
            }
            print(String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        print("file:       \(file)")
        print("family:     \(meta[Checkpoint.familyKey] ?? "unknown (not a WaveKit checkpoint: convert it with tools/convert_checkpoint.py)")")
        print("parameters: \(parameters) in \(model.count) tensors")
        if let preset = meta["wavekit.mel_preset"] {
            let summary = (try? MelPreset.named(preset).summary) ?? "preset=\(preset)"
            print("mel:        \(summary)")
        }
        if let rate = meta["wavekit.sample_rate"] { print("rate:       \(rate) Hz") }
        if let step = meta["wavekit.step"] { print("step:       \(step) (a training checkpoint: optimizer state included)") }
        if let steps = meta["wavekit.trained_steps"] { print("trained:    \(steps) steps (\(meta["wavekit.exported"] ?? "exported"))") }
        let speakers = Checkpoint.speakerNames(meta)
        if !speakers.isEmpty {
            print("speakers:   \(speakers.count) (\(speakers.prefix(8).map { "'\($0)'" }.joined(separator: " "))\(speakers.count > 8 ? " …" : ""); --speaker takes a name or an id)")
        }
        if let config = meta[Checkpoint.configKey] { print("config:     \(config)") }
    }

    private func describeArray() throws {
        let npy = try NPY.read(file)
        let v = npy.tensor.scalars
        // The range is over the finite values; NaN and infinities are counted apart (JSON has
        // no number for them).
        let finite = v.filter(\.isFinite)
        let nan = v.count { $0.isNaN }, infinite = v.count { $0.isInfinite }
        let lo = finite.min(), hi = finite.max()
        if json {
            var o: [String: Any] = ["shape": npy.tensor.shape, "dtype": "float32", "min": lo ?? NSNull(), "max": hi ?? NSNull(),
                                    "nan": nan, "infinite": infinite]
            if !npy.metadata.isEmpty { o["metadata"] = npy.metadata }
            print(String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        var values = v.isEmpty ? "none (the array is empty)" : lo.map { "\($0) to \(hi!)" } ?? "no finite value"
        if nan + infinite > 0 {
            values += " (\([nan > 0 ? "\(nan) NaN" : nil, infinite > 0 ? "\(infinite) infinite" : nil].compactMap { $0 }.joined(separator: ", ")) of \(v.count) values\(lo == nil ? "" : " left out of the range"))"
        }
        print("file:   \(file)\nshape:  \(npy.tensor.shape)\nvalues: \(values)")
        if !npy.metadata.isEmpty {
            print("made by WaveKit with: " + npy.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
    }
}

import Foundation
import Testing

/// `wavekit info`, `mel` and `vocode` end to end on small files made here.
@Suite struct AudioCommandTests {
    static func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wavekit-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The samples of a mono 16-bit PCM or 32-bit float WAV, read here (independent of AudioIO).
    static func samples(_ path: String) throws -> [Float] {
        let d = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func u32(_ i: Int) -> Int { Int(d[i]) | Int(d[i + 1]) << 8 | Int(d[i + 2]) << 16 | Int(d[i + 3]) << 24 }
        var i = 12, format = 1, bits = 16
        while i + 8 <= d.count {
            let id = String(decoding: d[i..<(i + 4)], as: UTF8.self), size = u32(i + 4)
            if id == "fmt " { format = Int(d[i + 8]) | Int(d[i + 9]) << 8; bits = Int(d[i + 22]) }
            if id == "data" {
                let body = Array(d[(i + 8)..<Swift.min(d.count, i + 8 + size)])
                if format == 3 || bits == 32 {
                    return stride(from: 0, to: body.count - 3, by: 4).map { Float(bitPattern: UInt32(body[$0]) | UInt32(body[$0 + 1]) << 8 | UInt32(body[$0 + 2]) << 16 | UInt32(body[$0 + 3]) << 24) }
                }
                return stride(from: 0, to: body.count - 1, by: 2).map { Float(Int16(bitPattern: UInt16(body[$0]) | UInt16(body[$0 + 1]) << 8)) / 32768 }
            }
            i += 8 + size + (size & 1)
        }
        throw CocoaError(.fileReadCorruptFile)
    }

    /// A 0.5 s, 22 050 Hz tone pair written as 16-bit WAV by wavekit's own reader/writer path
    /// (through a tiny WAV header written here, independent of the code under test).
    static func writeTone(_ url: URL, sampleRate: Int = 22050, seconds: Double = 0.5, channels: Int = 1) throws {
        let n = Int(Double(sampleRate) * seconds)
        var pcm = Data()
        for i in 0..<n {
            let t = Double(i) / Double(sampleRate)
            let v = Int16(8000 * sin(2 * .pi * 220 * t) + 4000 * sin(2 * .pi * 1330 * t))
            for _ in 0..<channels { withUnsafeBytes(of: v.littleEndian) { pcm.append(contentsOf: $0) } }
        }
        var h = Data("RIFF".utf8)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { h.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { h.append(contentsOf: $0) } }
        u32(36 + pcm.count); h.append(contentsOf: Array("WAVEfmt ".utf8)); u32(16); u16(1); u16(channels)
        u32(sampleRate); u32(sampleRate * 2 * channels); u16(2 * channels); u16(16)
        h.append(contentsOf: Array("data".utf8)); u32(pcm.count)
        try (h + pcm).write(to: url)
    }

    @Test func infoReportsTheContract() throws {
        let dir = try Self.folder(); defer { try? FileManager.default.removeItem(at: dir) }
        let wav = dir.appendingPathComponent("tone.wav")
        try Self.writeTone(wav, channels: 2)
        let r = try CLITests.run(["info", wav.path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(Set(o.keys) == ["sample_rate", "channels", "frames", "duration", "format", "subtype", "peak_dbfs", "rms_dbfs"])
        #expect(o["sample_rate"] as? Int == 22050 && o["channels"] as? Int == 2 && o["frames"] as? Int == 11025)
        #expect(o["format"] as? String == "WAV" && o["subtype"] as? String == "PCM_16")
        let peak = o["peak_dbfs"] as? Double ?? 0
        #expect(peak < -8.5 && peak > -9.5)    // the two sines add to 12000/32768 ≈ −8.7 dBFS at best
        let text = try CLITests.run(["info", wav.path])
        #expect(text.status == 0 && text.stdout.contains("22050 Hz"))
    }

    @Test func melThenVocodeRoundTrip() throws {
        let dir = try Self.folder(); defer { try? FileManager.default.removeItem(at: dir) }
        let wav = dir.appendingPathComponent("tone.wav")
        try Self.writeTone(wav, sampleRate: 44100)      // resampled to the preset's 22 050 Hz
        let mel = dir.appendingPathComponent("tone.npy"), png = dir.appendingPathComponent("tone.png")
        let m = try CLITests.run(["mel", wav.path, "-o", mel.path, "--png", png.path])
        #expect(m.status == 0, "\(m.stderr)")
        #expect(m.stderr.contains("resampling 44100 Hz"))
        let header = String(decoding: try Data(contentsOf: mel).prefix(400), as: UTF8.self)
        // 11 025 samples after resampling: 1 + 11025 / 256 = 44 frames.
        #expect(header.contains("preset=tacotron2") && header.contains("'shape': (80, 44)"))
        let pngBytes = try Data(contentsOf: png)
        #expect(pngBytes.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        #expect(String(decoding: pngBytes, as: UTF8.self).contains("preset=tacotron2"))
        let out = dir.appendingPathComponent("back.wav")
        let v = try CLITests.run(["vocode", mel.path, "-o", out.path, "--iterations", "8", "--quiet"])
        #expect(v.status == 0, "\(v.stderr)")
        let info = try CLITests.run(["info", out.path, "--json"])
        let o = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(o["sample_rate"] as? Int == 22050)
        #expect(abs((o["duration"] as? Double ?? 0) - 0.5) < 0.02)
        // Same seed, same bytes.
        let again = dir.appendingPathComponent("again.wav")
        _ = try CLITests.run(["vocode", mel.path, "-o", again.path, "--iterations", "8", "--quiet"])
        #expect(try Data(contentsOf: out) == Data(contentsOf: again))
    }

    @Test func badInputFailsClearlyAndWritesNothing() throws {
        let dir = try Self.folder(); defer { try? FileManager.default.removeItem(at: dir) }
        let junk = dir.appendingPathComponent("junk.wav")
        try Data("definitely not audio".utf8).write(to: junk)
        let empty = dir.appendingPathComponent("empty.wav")
        try Data().write(to: empty)
        let out = dir.appendingPathComponent("out.npy")
        for (args, needle) in [
            (["mel", dir.appendingPathComponent("missing.wav").path, "-o", out.path], "does not exist"),
            (["mel", junk.path, "-o", out.path], "not a readable audio file"),
            (["mel", empty.path, "-o", out.path], "no audio samples"),
            (["mel", junk.path, "-o", dir.appendingPathComponent("x.txt").path], ".npy"),
            (["mel", junk.path, "-o", out.path, "--preset", "nope"], "unknown --preset 'nope'"),
        ] {
            let r = try CLITests.run(args)
            #expect(r.status != 0)
            #expect(r.stderr.contains(needle), "\(args): \(r.stderr)")
        }
        // A mel of the wrong band count or dtype, and an existing output that must survive.
        let wav = dir.appendingPathComponent("tone.wav")
        try Self.writeTone(wav)
        let mel16 = dir.appendingPathComponent("m16.npy")
        #expect(try CLITests.run(["mel", wav.path, "-o", mel16.path, "--n-mels", "40", "--quiet"]).status == 0)
        let keep = dir.appendingPathComponent("keep.wav")
        try Data("precious".utf8).write(to: keep)
        let r = try CLITests.run(["vocode", mel16.path, "-o", keep.path])
        #expect(r.status != 0 && r.stderr.contains("custom"))
        let bands = dir.appendingPathComponent("bands.npy")
        try npy(shape: [40, 10], values: Array(repeating: -5, count: 400)).write(to: bands)
        let b = try CLITests.run(["vocode", bands.path, "-o", keep.path])
        #expect(b.status != 0 && b.stderr.contains("40 mel bands"), "\(b.stderr)")
        let nan = dir.appendingPathComponent("nan.npy")
        try npy(shape: [80, 2], values: [Float.nan] + Array(repeating: -5, count: 159)).write(to: nan)
        let n = try CLITests.run(["vocode", nan.path, "-o", keep.path])
        #expect(n.status != 0 && n.stderr.contains("NaN"))
        #expect(try Data(contentsOf: keep) == Data("precious".utf8))
        // Options of another vocoder, a one-frame mel, a --png into a missing folder (which
        // must not replace the .npy first), and a batch with one bad input (which must not
        // replace the good input's existing output).
        let good = dir.appendingPathComponent("good.npy")
        #expect(try CLITests.run(["mel", wav.path, "-o", good.path, "--quiet"]).status == 0)
        let one = dir.appendingPathComponent("one.npy")
        try npy(shape: [80, 1], values: Array(repeating: -5, count: 80)).write(to: one)
        let keepNPY = dir.appendingPathComponent("keep.npy")
        try Data("precious".utf8).write(to: keepNPY)
        let batchDir = dir.appendingPathComponent("batch")
        try FileManager.default.createDirectory(at: batchDir, withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: batchDir.appendingPathComponent("good.wav"))
        let good2 = dir.appendingPathComponent("good2.npy")
        try FileManager.default.copyItem(at: good, to: good2)
        try FileManager.default.createDirectory(at: batchDir.appendingPathComponent("good2.wav"), withIntermediateDirectories: true)
        let cases: [([String], Int32, String)] = [
            (["vocode", good.path, "-o", keep.path, "--temperature", "0.5"], Int32(64), "--temperature does not apply to Griffin-Lim"),
            (["vocode", good.path, "-o", keep.path, "--sigma", "0", "--denoise", "none"], 64, "--sigma, --denoise do not apply"),
            (["vocode", one.path, "-o", keep.path], 1, "Griffin-Lim needs at least 2"),
            (["mel", wav.path, "-o", keepNPY.path, "--png", dir.path + "/missing/x.png"], 1, "does not exist"),
            (["vocode", good.path, bands.path, "--batch", "-o", batchDir.path], 1, "40 mel bands"),
            (["vocode", good.path, good2.path, "--batch", "-o", batchDir.path], 1, "it is a folder"),
        ]
        for (args, status, needle) in cases {
            let r = try CLITests.run(args)
            #expect(r.status == status && r.stderr.contains(needle), "\(args): \(r.status) \(r.stderr)")
        }
        #expect(try Data(contentsOf: keep) == Data("precious".utf8))
        #expect(try Data(contentsOf: keepNPY) == Data("precious".utf8))
        #expect(try Data(contentsOf: batchDir.appendingPathComponent("good.wav")) == Data("precious".utf8))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    func npy(shape: [Int], values: [Float]) -> Data {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", ")),), }"
        header += String(repeating: " ", count: (64 - (10 + header.count + 1) % 64) % 64) + "\n"
        var d = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
        d.append(contentsOf: Array(header.utf8))
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }
}

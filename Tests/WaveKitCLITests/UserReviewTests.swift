import Foundation
import Testing

/// What the third review (a new user's walk through the README) found: each must be a clear
/// error, or now work, without a crash or a misleading message.
@Suite struct UserReviewTests {
    static let waveNet = CLITests.repositoryRoot.appendingPathComponent("Audio/wavenet-small-espeak.safetensors").path
    static let waveGlow = CLITests.repositoryRoot.appendingPathComponent("Audio/waveglow-small-espeak.safetensors").path

    /// `source` with its config's mel_preset set to null and no `wavekit.mel_preset`, as a
    /// converted r9y9 checkpoint without --preset is: the header is rewritten, the tensors kept.
    static func withoutPreset(_ source: String, to path: URL) throws {
        try withConfig(source, to: path) { $0["mel_preset"] = NSNull() }
    }

    /// `source` with its config changed by `change` (and no `wavekit.mel_preset`).
    static func withConfig(_ source: String, to path: URL, _ change: (inout [String: Any]) -> Void) throws {
        let d = try Data(contentsOf: URL(fileURLWithPath: source))
        let n = d.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var header = try JSONSerialization.jsonObject(with: d.subdata(in: 8..<(8 + n))) as! [String: Any]
        var meta = header["__metadata__"] as! [String: String]
        var config = try JSONSerialization.jsonObject(with: Data(meta["wavekit.config"]!.utf8)) as! [String: Any]
        change(&config)
        meta["wavekit.config"] = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        meta["wavekit.mel_preset"] = nil
        header["__metadata__"] = meta
        let json = try JSONSerialization.data(withJSONObject: header)
        var out = Data((0..<8).map { UInt8((json.count >> (8 * $0)) & 0xff) })
        out.append(json)
        out.append(d.subdata(in: (8 + n)..<d.count))
        try out.write(to: path)
    }

    @Test func aCheckpointWithoutAPresetRefusesAudioAndTakesARecordedMel() throws {
        let dir = try AudioCommandTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = dir.appendingPathComponent("nopreset.safetensors")
        try Self.withoutPreset(Self.waveNet, to: ckpt)
        let tone = dir.appendingPathComponent("tone.wav")
        try AudioCommandTests.writeTone(tone, seconds: 0.1)
        let fromAudio = try CLITests.run(["vocode", tone.path, "-c", ckpt.path, "-o", dir.appendingPathComponent("a.wav").path])
        #expect(fromAudio.status == 1 && fromAudio.stderr.contains("records no mel preset") && fromAudio.stderr.contains("--preset"),
                "\(fromAudio.stderr)")
        // A mel made by `wavekit mel` records its preset, which the model then uses.
        let mel = dir.appendingPathComponent("tone.npy")
        #expect(try CLITests.run(["mel", tone.path, "-o", mel.path, "--quiet"]).status == 0)
        let fromMel = try CLITests.run(["vocode", mel.path, "-c", ckpt.path, "-o", dir.appendingPathComponent("m.wav").path, "--quiet"])
        #expect(fromMel.status == 0, "\(fromMel.stderr)")
        // A mel of another hop than the model's upsampler is refused, naming both.
        let other = dir.appendingPathComponent("16k.npy")
        #expect(try CLITests.run(["mel", tone.path, "-o", other.path, "--preset", "16k", "--quiet"]).status == 0)
        let hop = try CLITests.run(["vocode", other.path, "-c", ckpt.path, "-o", dir.appendingPathComponent("h.wav").path])
        #expect(hop.status == 1 && hop.stderr.contains("256") && hop.stderr.contains("200"), "\(hop.stderr)")
    }

    @Test func negativeValuesWrittenWithASpaceGetTheirRange() throws {
        let cases: [([String], String)] = [
            (["vocode", "x.npy", "-o", "/tmp/x.wav", "-c", Self.waveNet, "--temperature", "-1"], "--temperature must be a positive number"),
            (["vocode", "x.npy", "-o", "/tmp/x.wav", "-c", Self.waveGlow, "--sigma", "-0.5"], "--sigma must be a number ≥ 0"),
            (["vocode", "x.npy", "-o", "/tmp/x.wav", "-c", Self.waveGlow, "--denoise", "-1"], "--denoise must be between 0 and 1"),
            (["generate", "-c", Self.waveNet, "-o", "/tmp/x.wav", "--seconds", "-1"], "--seconds must be in (0, 600]"),
            (["mel", "x.wav", "-o", "/tmp/x.npy", "--n-mels", "-1"], "--n-mels must be from 1 to 4096"),
        ]
        for (args, needle) in cases {
            let r = try CLITests.run(args)
            #expect(r.status == 64 && r.stderr.contains(needle), "\(args): \(r.status) \(r.stderr)")
        }
    }

    @Test func filesOfTheWrongKindAreNamed() throws {
        let dir = try AudioCommandTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tone = dir.appendingPathComponent("tone.wav")
        try AudioCommandTests.writeTone(tone, seconds: 0.1)
        let mel = dir.appendingPathComponent("tone.npy")
        #expect(try CLITests.run(["mel", tone.path, "-o", mel.path, "--quiet"]).status == 0)
        let transposed = dir.appendingPathComponent("t.npy")
        try AudioCommandTests().npy(shape: [20, 80], values: Array(repeating: -5, count: 1600)).write(to: transposed)
        let recipe = dir.appendingPathComponent("r.yaml")
        try Data([0x00, 0xff, 0xfe, 0x10, 0x80]).write(to: recipe)
        let cases: [([String], Int32, String)] = [
            (["vocode", mel.path, "-c", tone.path, "-o", dir.appendingPathComponent("a.wav").path], 1, "looks like a WAV audio file"),
            (["vocode", mel.path, "-c", mel.path, "-o", dir.appendingPathComponent("a.wav").path], 1, "looks like a NumPy array"),
            (["vocode", transposed.path, "-c", Self.waveNet, "-o", dir.appendingPathComponent("a.wav").path], 1, "looks transposed"),
            (["score", "-c", Self.waveNet, mel.path], 64, "is a mel-spectrogram, not audio"),
            (["train", recipe.path], 1, "is not a recipe"),
        ]
        for (args, status, needle) in cases {
            let r = try CLITests.run(args)
            #expect(r.status == status && r.stderr.contains(needle), "\(args): \(r.status) \(r.stderr)")
        }
        // Audio named .npy is named as such (it was called a mel-spectrogram).
        let misnamed = dir.appendingPathComponent("audio.npy")
        try FileManager.default.copyItem(at: tone, to: misnamed)
        let scored = try CLITests.run(["score", "-c", Self.waveNet, misnamed.path, "--json"])
        #expect(scored.status == 1 && scored.stderr.contains("is a WAV audio file, not a NumPy array"), "\(scored.stderr)")
    }

    @Test func batchOutputFoldersAreCheckedLikeFiles() throws {
        let dir = try AudioCommandTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let mel = dir.appendingPathComponent("a.npy")
        try AudioCommandTests().npy(shape: [80, 4], values: Array(repeating: -5, count: 320)).write(to: mel)
        let missing = try CLITests.run(["vocode", mel.path, "--batch", "-o", dir.appendingPathComponent("no/such/out").path])
        #expect(missing.status == 64 && missing.stderr.contains("does not exist"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("no").path))
        let fileName = try CLITests.run(["vocode", mel.path, "--batch", "-o", dir.appendingPathComponent("out.wav").path])
        #expect(fileName.status == 64 && fileName.stderr.contains("looks like an audio file name"), "\(fileName.stderr)")
        let made = try CLITests.run(["vocode", mel.path, "--batch", "-o", dir.appendingPathComponent("out").path, "--quiet"])
        #expect(made.status == 0 && FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/a.wav").path), "\(made.stderr)")
    }

    @Test func optionsAModelDoesNotTakeAreUsageErrors() throws {
        let dir = try AudioCommandTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tone = dir.appendingPathComponent("tone.wav")
        try AudioCommandTests.writeTone(tone, sampleRate: 16000, seconds: 0.2)
        let mel = dir.appendingPathComponent("tone.npy")
        #expect(try CLITests.run(["mel", tone.path, "-o", mel.path, "--preset", "16k", "--quiet"]).status == 0)
        let recipe = dir.appendingPathComponent("u.yaml")
        try """
        data: {path: \(dir.path), sample_rate: 16000, validation_fraction: 0}
        model: {family: wavenet, config: {cin_channels: null, upsample_scales: null, cin_pad: 0, layers: 2, stacks: 1, residual_channels: 8, gate_channels: 8, skip_out_channels: 8}}
        training: {steps: 1, batch_size: 1, crop_samples: 800}
        """.write(to: recipe, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("run").path
        #expect(try CLITests.run(["train", recipe.path, "--out", run, "--quiet"]).status == 0)
        let ckpt = run + "/checkpoint.safetensors"
        let withMel = try CLITests.run(["score", "-c", ckpt, tone.path, "--mel", mel.path])
        #expect(withMel.status == 64 && withMel.stderr.contains("--mel does not apply"), "\(withMel.stderr)")
        let speaker = try CLITests.run(["score", "-c", ckpt, tone.path, "--speaker", "3"])
        #expect(speaker.status == 64 && speaker.stderr.contains("--speaker does not apply"), "\(speaker.stderr)")
        // info --json gives the configuration as an object and counts as numbers.
        let info = try CLITests.run(["info", Self.waveNet, "--json"])
        let o = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any] ?? [:]
        #expect((o["config"] as? [String: Any])?["layers"] as? Int == 20 && o["trained_steps"] as? Int == 10500
                && o["sample_rate"] as? Int == 22050 && o["mel_preset"] as? String == "tacotron2", "\(info.stdout)")
    }

    /// This machine's environment forces OpenBLAS's Haswell kernels; `train` says so where the
    /// CPU has AVX-512 (about 1.35× slower training steps here), and says nothing when unset.
    @Test func trainWarnsOfAForcedOlderOpenBLASCore() throws {
        let hasAVX512 = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.contains(" avx512f") ?? false
        let forced = try CLITests.run(["train", "/nonexistent.yaml"], environment: ["OPENBLAS_CORETYPE": "Haswell"])
        #expect(forced.status == 1 && forced.stderr.contains("OPENBLAS_CORETYPE=Haswell") == hasAVX512, "\(forced.stderr)")
        let unset = try CLITests.run(["train", "/nonexistent.yaml"], environment: ["OPENBLAS_CORETYPE": ""])
        #expect(unset.status == 1 && !unset.stderr.contains("OPENBLAS_CORETYPE"), "\(unset.stderr)")
        // bench says so too, before its timings (a case name that matches nothing: no timing).
        let bench = try CLITests.run(["bench", "core", "--only", "no such case"], environment: ["OPENBLAS_CORETYPE": "Haswell"])
        #expect(bench.status != 0 && bench.stderr.contains("OPENBLAS_CORETYPE=Haswell") == hasAVX512, "\(bench.stderr)")
    }

    /// The second walk (training and data): --resume names or refuses changed settings, a data
    /// path with `..` is found beside a relative recipe, settings the data section owns are
    /// refused in model.config, and `bench wavenet` checks its options.
    @Test func resumePathsAndBenchOptions() throws {
        let dir = try AudioCommandTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clips = dir.appendingPathComponent("clips")
        try FileManager.default.createDirectory(at: clips, withIntermediateDirectories: true)
        for i in 1...2 { try AudioCommandTests.writeTone(clips.appendingPathComponent("a\(i).wav"), sampleRate: 16000, seconds: 0.2) }
        let recipes = dir.appendingPathComponent("recipes")
        try FileManager.default.createDirectory(at: recipes, withIntermediateDirectories: true)
        func recipe(_ file: String, optimizer: String = "{kind: adam, learning_rate: 0.001, ema: 0.99}", config: String = "",
                    data: String = "../clips") throws {
            try """
            name: u
            data: {path: \(data), sample_rate: 16000, validation_fraction: 0}
            model: {family: wavenet, config: {cin_channels: null, upsample_scales: null, cin_pad: 0, layers: 2, stacks: 1, residual_channels: 8, gate_channels: 8, skip_out_channels: 8\(config)}}
            optimizer: \(optimizer)
            training: {steps: 4, batch_size: 1, crop_samples: 800}
            """.write(to: recipes.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        try recipe("base.yaml")
        try recipe("sgd.yaml", optimizer: "{kind: sgd, learning_rate: 0.001, ema: 0.99}")
        try recipe("lr.yaml", optimizer: "{kind: adam, learning_rate: 0.002, ema: 0.99}")
        try recipe("adamw.yaml", optimizer: "{kind: adamw, learning_rate: 0.001, ema: 0.99}")
        try recipe("noema.yaml", optimizer: "{kind: adam, learning_rate: 0.001}")
        try recipe("preset.yaml", config: ", mel_preset: tacotron2")
        // A bad model configuration is reported before the corpus is scanned (whose unreadable
        // clip would otherwise be noted first, after reading every header).
        let broken = dir.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try AudioCommandTests.writeTone(broken.appendingPathComponent("ok.wav"), sampleRate: 16000, seconds: 0.2)
        try Data("not audio".utf8).write(to: broken.appendingPathComponent("garbage.wav"))
        try recipe("badconfig.yaml", config: ", kernel_size: 0", data: "../broken")
        let run = dir.appendingPathComponent("run").path
        // A relative recipe path whose data.path climbs out of the recipe's folder (the test
        // runs from the repository's root, so the recipe is named relative to it).
        let up = String(repeating: "../", count: CLITests.repositoryRoot.pathComponents.count - 1)
        let base = try CLITests.run(["train", up + recipes.appendingPathComponent("base.yaml").path.dropFirst(),
                                     "--out", run, "--max-steps", "2", "--quiet"])
        #expect(base.status == 0, "\(base.stderr)")
        let sgd = try CLITests.run(["train", recipes.appendingPathComponent("sgd.yaml").path, "--out", run, "--resume"])
        #expect(sgd.status == 1 && sgd.stderr.contains("changes optimizer.kind"), "\(sgd.stderr)")
        let noEMA = try CLITests.run(["train", recipes.appendingPathComponent("noema.yaml").path, "--out", run, "--resume"])
        #expect(noEMA.status == 1 && noEMA.stderr.contains("changes optimizer.ema"), "\(noEMA.stderr)")
        // Adam and AdamW keep the same state: a note, not a refusal.
        let adamw = try CLITests.run(["train", recipes.appendingPathComponent("adamw.yaml").path, "--out", run, "--resume", "--max-steps", "3"])
        #expect(adamw.status == 0 && adamw.stderr.contains("optimizer.kind"), "\(adamw.stderr)")
        let lr = try CLITests.run(["train", recipes.appendingPathComponent("lr.yaml").path, "--out", run, "--resume", "--seed", "5"])
        #expect(lr.status == 0 && lr.stderr.contains("optimizer.learning_rate") && lr.stderr.contains("training.seed"), "\(lr.stderr)")
        let done = try CLITests.run(["train", recipes.appendingPathComponent("lr.yaml").path, "--out", run, "--resume", "--seed", "5"])
        #expect(done.status == 0 && done.stderr.contains("already at step 4"), "\(done.stderr)")
        let preset = try CLITests.run(["train", recipes.appendingPathComponent("preset.yaml").path, "--out", dir.appendingPathComponent("r2").path])
        #expect(preset.status == 1 && preset.stderr.contains("model.config.mel_preset is taken from data.mel_preset"), "\(preset.stderr)")
        let badConfig = try CLITests.run(["train", recipes.appendingPathComponent("badconfig.yaml").path, "--out", dir.appendingPathComponent("r3").path])
        #expect(badConfig.status == 1 && badConfig.stderr.contains("kernel_size") && !badConfig.stderr.contains("garbage.wav"), "\(badConfig.stderr)")
        let noAudio = try CLITests.run(["bench", "audio", "--audio", dir.appendingPathComponent("none.wav").path])
        #expect(noAudio.status == 64 && noAudio.stderr.contains("tools/bench/run.sh --suite audio"), "\(noAudio.stderr)")
        let noCases = try CLITests.run(["bench", "audio", "--cases", dir.appendingPathComponent("none.json").path])
        #expect(noCases.status == 64 && noCases.stderr.contains("pass --cases PATH"), "\(noCases.stderr)")
        for (args, needle) in [(["--seconds", "-1"], "--seconds must be"), (["--threads", "0"], "--threads must be at least 1"),
                               (["--repeats", "0"], "--repeats must be at least 1")] {
            let r = try CLITests.run(["bench", "wavenet"] + args)
            #expect(r.status == 64 && r.stderr.contains(needle), "\(args): \(r.status) \(r.stderr)")
        }
    }

    /// The fourth walk (audio, mel, info, export): an export onto its own source by another
    /// path, NaN weights, huge mel options, no-op options, non-ln mels, silence's image, NaN in
    /// info --json, the extensible WAV header's name.
    @Test func fourthWalkFindings() throws {
        let dir = try AudioCommandTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A checkpoint recording a preset that does not fit it (a converter once wrote such):
        // a clear error, not a trap in the first convolution.
        let tone0 = dir.appendingPathComponent("tone0.wav")
        try AudioCommandTests.writeTone(tone0)
        for (source, preset) in [(Self.waveNet, "torchaudio"), (Self.waveNet, "16k"), (Self.waveGlow, "torchaudio")] {
            let misfit = dir.appendingPathComponent("misfit.safetensors")
            try Self.withConfig(source, to: misfit) { $0["mel_preset"] = preset }
            let r = try CLITests.run(["vocode", tone0.path, "-c", misfit.path, "-o", dir.appendingPathComponent("m.wav").path])
            #expect(r.status == 1 && r.stderr.contains("Convert the checkpoint again") && r.stderr.contains(misfit.path), "\(preset): \(r.status) \(r.stderr)")
        }
        // export -o naming the source through '..' or a symbolic link is refused; the source is kept.
        let ckpt = dir.appendingPathComponent("w.safetensors")
        try FileManager.default.copyItem(atPath: Self.waveNet, toPath: ckpt.path)
        let link = dir.appendingPathComponent("link.safetensors")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: ckpt)
        let before = try Data(contentsOf: ckpt)
        for target in [link.path, dir.path + "/../" + dir.lastPathComponent + "/w.safetensors"] {
            let r = try CLITests.run(["export", ckpt.path, "-o", target, "--half"])
            #expect(r.status == 64 && r.stderr.contains("would overwrite the checkpoint"), "\(target): \(r.stderr)")
        }
        #expect(try Data(contentsOf: ckpt) == before)
        // A weight set to NaN: every command that loads it refuses, naming the divergence.
        var d = before
        let n = d.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: d.subdata(in: 8..<(8 + n))) as! [String: Any]
        let (_, entry) = header.first { $0.key.hasSuffix("weight") && $0.key != "__metadata__" }!
        let start = 8 + n + ((entry as! [String: Any])["data_offsets"] as! [Int])[0]
        let dtype = (entry as! [String: Any])["dtype"] as! String
        d.replaceSubrange(start..<(start + (dtype == "F16" ? 2 : 4)), with: dtype == "F16" ? [0x00, 0x7E] : [0x00, 0x00, 0xC0, 0x7F])
        let nanCkpt = dir.appendingPathComponent("nan.safetensors")
        try d.write(to: nanCkpt)
        for args in [["export", nanCkpt.path, "-o", dir.appendingPathComponent("e.safetensors").path],
                     ["generate", "--checkpoint", nanCkpt.path, "--seconds", "0.01", "-o", dir.appendingPathComponent("g.wav").path]] {
            let r = try CLITests.run(args)
            #expect(r.status == 1 && r.stderr.contains("NaN or infinite weights") && !r.stderr.contains("export.safetensors"), "\(args[0]): \(r.stderr)")
        }
        // mel: huge values are range errors (they trapped), a no-op option keeps the preset's name.
        let tone = dir.appendingPathComponent("tone.wav")
        try AudioCommandTests.writeTone(tone)
        let mel = dir.appendingPathComponent("m.npy").path
        for args in [["--hop-length", "9223372036854775807"], ["--n-mels", "100000"], ["--n-fft", "4194304"], ["--preset", "nosuch"], ["--win-length", "2048"]] {
            let r = try CLITests.run(["mel", tone.path, "-o", mel] + args)
            #expect(r.status == 64, "\(args): \(r.status) \(r.stderr)")
        }
        #expect(try CLITests.run(["mel", tone.path, "-o", mel, "--n-mels", "80", "--n-fft", "1024"]).status == 0)
        #expect(try CLITests.run(["info", mel]).stdout.contains("preset=tacotron2 "))
        let vocoded = try CLITests.run(["vocode", mel, "-o", dir.appendingPathComponent("v.wav").path, "--iterations", "2"])
        #expect(vocoded.status == 0, "\(vocoded.stderr)")
        // Files of the wrong kind name the kind, and Opus at 22 050 Hz is refused before the work.
        let asAudio = try CLITests.run(["mel", mel, "-o", dir.appendingPathComponent("m2.npy").path])
        #expect(asAudio.status == 1 && asAudio.stderr.contains("is a NumPy array, not audio"), "\(asAudio.stderr)")
        let wavAsNPY = dir.appendingPathComponent("wav.npy")
        try FileManager.default.copyItem(at: tone, to: wavAsNPY)
        let asNPY = try CLITests.run(["vocode", wavAsNPY.path, "-o", dir.appendingPathComponent("v2.wav").path])
        #expect(asNPY.status == 1 && asNPY.stderr.contains("is a WAV audio file, not a NumPy array"), "\(asNPY.stderr)")
        let opus = try CLITests.run(["vocode", mel, "-o", dir.appendingPathComponent("v.opus").path, "--iterations", "200"])
        #expect(opus.status == 1 && opus.stderr.contains("Opus holds only") && !opus.stderr.contains("griffin-lim"), "\(opus.stderr)")
        // Silence makes a mel and an image (their pixels: AudioIOTests' SpectrogramImageTests).
        let silence = dir.appendingPathComponent("silence.wav")
        var wav = try Data(contentsOf: tone)
        wav.replaceSubrange(44..<wav.count, with: [UInt8](repeating: 0, count: wav.count - 44))
        try wav.write(to: silence)
        let png = dir.appendingPathComponent("s.png").path
        #expect(try CLITests.run(["mel", silence.path, "-o", mel, "--png", png]).status == 0)
        #expect(FileManager.default.fileExists(atPath: png))
        // info --json on an array holding an infinity (it failed with a Cocoa error).
        var npy = try Data(contentsOf: URL(fileURLWithPath: mel))
        npy.replaceSubrange((npy.count - 4)..<npy.count, with: [0x00, 0x00, 0x80, 0x7F])
        let infPath = dir.appendingPathComponent("inf.npy").path
        try npy.write(to: URL(fileURLWithPath: infPath))
        let info = try CLITests.run(["info", infPath, "--json"])
        #expect(info.status == 0 && info.stdout.contains("\"infinite\":1"), "\(info.stderr)")
        // A 24-bit WAV with the extensible header is named, not shown as 0x130000.
        var ext = Data("RIFF".utf8)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { ext.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { ext.append(contentsOf: $0) } }
        let frames = 100
        u32(4 + 48 + 8 + 3 * frames); ext.append(contentsOf: Array("WAVEfmt ".utf8)); u32(40); u16(0xFFFE); u16(1)
        u32(16000); u32(48000); u16(3); u16(24); u16(22); u16(24); u32(4)
        ext.append(contentsOf: [0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71])
        ext.append(contentsOf: Array("data".utf8)); u32(3 * frames); ext.append(contentsOf: [UInt8](repeating: 0, count: 3 * frames))
        let extPath = dir.appendingPathComponent("ext.wav").path
        try ext.write(to: URL(fileURLWithPath: extPath))
        let extInfo = try CLITests.run(["info", extPath, "--json"])
        #expect(extInfo.stdout.contains("\"format\":\"WAVEX\"") && extInfo.stdout.contains("PCM_24"), "\(extInfo.stdout) \(extInfo.stderr)")
    }
}

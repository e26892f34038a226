import Foundation
import Testing

/// `wavekit train`, `vocode --checkpoint`, `generate` and `score` end to end on a tiny WaveNet.
@Suite(.serialized) struct ModelCommandTests {
    /// A tiny corpus of tones in LJSpeech layout, a recipe for a 4-layer WaveNet, and a 2-step run.
    static func trainedRun() throws -> (dir: URL, checkpoint: String) {
        let dir = try AudioCommandTests.folder()
        let wavs = dir.appendingPathComponent("data/wavs")
        try FileManager.default.createDirectory(at: wavs, withIntermediateDirectories: true)
        var csv = ""
        for i in 1...4 {
            try AudioCommandTests.writeTone(wavs.appendingPathComponent("LJ001-000\(i).wav"), seconds: 0.4)
            csv += "LJ001-000\(i)|tone \(i)|tone \(i)\n"
        }
        try csv.write(to: dir.appendingPathComponent("data/metadata.csv"), atomically: true, encoding: .utf8)
        let recipe = """
        name: tiny
        data: {path: \(dir.path)/data, layout: ljspeech, sample_rate: 22050, mel_preset: tacotron2, validation_fraction: 0.25}
        model: {family: wavenet, preset: small, config: {layers: 2, stacks: 1, residual_channels: 8, gate_channels: 8, skip_out_channels: 8}}
        optimizer: {kind: adam, learning_rate: 0.001}
        training: {batch_size: 2, crop_samples: 1024, steps: 2, checkpoint_every: 1, validate_every: 2, log_every: 1}
        """
        let path = dir.appendingPathComponent("tiny.yaml")
        try recipe.write(to: path, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("run").path
        let r = try CLITests.run(["train", path.path, "--out", run, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        return (dir, run + "/checkpoint.safetensors")
    }

    /// A corpus with a damaged clip, a metadata row without its wav and
    /// a clip shorter than a crop: the run starts, and says what it left out or padded. Bad
    /// values and a --out among other files are refused before any work.
    @Test func corpusProblemsAreNotedOrRefused() throws {
        let dir = try AudioCommandTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let wavs = dir.appendingPathComponent("data/wavs")
        try FileManager.default.createDirectory(at: wavs, withIntermediateDirectories: true)
        var csv = ""
        for i in 1...3 {
            try AudioCommandTests.writeTone(wavs.appendingPathComponent("LJ001-000\(i).wav"), seconds: i == 3 ? 0.02 : 0.4)
            csv += "LJ001-000\(i)|tone|tone\n"
        }
        try Data("not audio".utf8).write(to: wavs.appendingPathComponent("LJ001-0004.wav"))
        csv += "LJ001-0004|damaged|damaged\nLJ001-0009|missing|missing\n"
        try csv.write(to: dir.appendingPathComponent("data/metadata.csv"), atomically: true, encoding: .utf8)
        func recipe(_ name: String, optimizer: String = "{kind: adam, learning_rate: 0.001}", crop: Int = 1024) throws -> String {
            // data.path relative to the recipe's folder (the test runs from elsewhere).
            let text = """
            name: \(name)
            data: {path: data, layout: ljspeech, sample_rate: 22050, mel_preset: tacotron2, validation_fraction: 0}
            model: {family: wavenet, preset: small, config: {layers: 2, stacks: 1, residual_channels: 8, gate_channels: 8, skip_out_channels: 8}}
            optimizer: \(optimizer)
            training: {batch_size: 2, crop_samples: \(crop), steps: 1, checkpoint_every: 1, validate_every: 1, log_every: 1}
            """
            let path = dir.appendingPathComponent(name + ".yaml").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let good = try CLITests.run(["train", try recipe("good"), "--out", dir.appendingPathComponent("run").path])
        #expect(good.status == 0, "\(good.stderr)")
        for needle in ["1 row of metadata.csv names a missing wav (LJ001-0009)", "1 file is not readable audio", "left out",
                       "1 of 3 clips are shorter than a 1024-sample crop", "3 clips in"] {
            #expect(good.stderr.contains(needle), "\(needle): \(good.stderr)")
        }
        let other = dir.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: other.appendingPathComponent("validation.txt"))
        for (args, needle) in [
            (["train", try recipe("momentum", optimizer: "{kind: sgd, learning_rate: 0.1, momentum: -1}")], "optimizer.momentum"),
            (["train", try recipe("warmup", optimizer: "{kind: adam, learning_rate: 0.1, schedule: {linearWarmup: {steps: 0}}}")], "linear_warmup needs steps"),
            (["train", try recipe("huge", crop: 100_000_000)], "crop_samples is 100000000"),
            (["train", try recipe("good"), "--out", other.path], "holds other files and no run"),
        ] {
            let r = try CLITests.run(args + (args.contains("--out") ? [] : ["--out", dir.appendingPathComponent("never").path]))
            #expect(r.status == 1 && r.stderr.contains(needle), "\(args): \(r.stderr)")
        }
        #expect(try String(contentsOf: other.appendingPathComponent("validation.txt"), encoding: .utf8) == "mine")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("never").path))
    }

    /// A speaker-conditioned vocoder: --speaker picks the embedding in vocode and score, is
    /// range-checked, and is refused by models without speakers.
    @Test func speakersAreChosenAndChecked() throws {
        let dir = try AudioCommandTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        // The second speaker's folder name holds a comma: names are recorded as a JSON array.
        for (speaker, i) in [("p225", 1), ("p225", 2), ("p226,b", 1), ("p226,b", 2)] {
            let folder = dir.appendingPathComponent("vctk/\(speaker)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try AudioCommandTests.writeTone(folder.appendingPathComponent("p\(speaker.dropFirst().prefix(3))_00\(i).wav"), seconds: 0.3)
        }
        let recipe = dir.appendingPathComponent("spk.yaml").path
        try """
        name: spk
        data: {path: vctk, layout: vctk, sample_rate: 22050, mel_preset: tacotron2, validation_fraction: 0}
        model: {family: wavenet, preset: small, config: {layers: 2, stacks: 1, residual_channels: 8, gate_channels: 8, skip_out_channels: 8, n_speakers: 2, gin_channels: 4}}
        training: {batch_size: 2, crop_samples: 1024, steps: 1, checkpoint_every: 1, validate_every: 1, log_every: 1}
        """.write(toFile: recipe, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("run").path
        let t = try CLITests.run(["train", recipe, "--out", run, "--quiet"])
        #expect(t.status == 0, "\(t.stderr)")
        let ckpt = run + "/checkpoint.safetensors", clip = dir.appendingPathComponent("vctk/p226,b/p226_001.wav").path
        let outs = try [0, 1].map { s -> [Float] in
            let out = dir.appendingPathComponent("s\(s).wav").path
            let v = try CLITests.run(["vocode", clip, "--checkpoint", ckpt, "-o", out, "--speaker", "\(s)", "--quiet"])
            #expect(v.status == 0, "\(v.stderr)")
            return try AudioCommandTests.samples(out)
        }
        #expect(outs[0] != outs[1])
        // By the name the checkpoint recorded from the corpus: 'p226,b' is speaker 1.
        let named = dir.appendingPathComponent("named.wav").path
        let byName = try CLITests.run(["vocode", clip, "--checkpoint", ckpt, "-o", named, "--speaker", "p226,b", "--quiet"])
        #expect(byName.status == 0, "\(byName.stderr)")
        let info = try CLITests.run(["info", ckpt]).stdout, infoJSON = try CLITests.run(["info", ckpt, "--json"]).stdout
        #expect(info.contains("speakers:   2 ('p225' 'p226,b'"), "\(info)")
        #expect(infoJSON.contains("\"speakers\":[\"p225\",\"p226,b\"]"), "\(infoJSON)")
        #expect(try AudioCommandTests.samples(named) == outs[1])
        let unknown = try CLITests.run(["vocode", clip, "--checkpoint", ckpt, "-o", named, "--speaker", "p999"])
        #expect(unknown.status == 1 && unknown.stderr.contains("it knows p225, p226,b"), "\(unknown.stderr)")
        let scores = try [0, 1].map { s in try CLITests.run(["score", "--checkpoint", ckpt, clip, "--speaker", "\(s)", "--json"]).stdout }
        #expect(scores[0] != scores[1] && scores.allSatisfy { $0.contains("nll_per_sample") })
        let range = try CLITests.run(["vocode", clip, "--checkpoint", ckpt, "-o", dir.appendingPathComponent("x.wav").path, "--speaker", "2"])
        #expect(range.status == 1 && range.stderr.contains("the model has 2 speakers"), "\(range.stderr)")
        let gl = try CLITests.run(["vocode", clip, "-o", dir.appendingPathComponent("x.wav").path, "--speaker", "1"])
        #expect(gl.status == 64 && gl.stderr.contains("--speaker does not apply to Griffin-Lim"), "\(gl.stderr)")
    }

    @Test func trainVocodeScoreAndErrors() throws {
        let (dir, checkpoint) = try Self.trainedRun()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(FileManager.default.fileExists(atPath: checkpoint))
        let events = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("run").path).filter { $0.hasPrefix("events.out.tfevents") }
        #expect(events.count == 1)
        let heldOut = try String(contentsOfFile: dir.appendingPathComponent("run/validation.txt").path, encoding: .utf8)
            .split(separator: "\n")
        #expect(!heldOut.isEmpty && heldOut.allSatisfy { $0.hasSuffix(".wav") && FileManager.default.fileExists(atPath: String($0)) })
        // Training again into the same folder needs --resume; with it, training continues.
        let recipe = dir.appendingPathComponent("tiny.yaml").path, run = dir.appendingPathComponent("run").path
        let again = try CLITests.run(["train", recipe, "--out", run])
        #expect(again.status != 0 && again.stderr.contains("--resume"))
        let resumed = try CLITests.run(["train", recipe, "--out", run, "--resume", "--max-steps", "2"])
        #expect(resumed.status == 0 && resumed.stderr.contains("resumed at step 2"), "\(resumed.stderr)")
        // Resuming with a changed model names what changed, not every mismatched tensor; a
        // temporary checkpoint left by a killed write is cleared.
        let changed = dir.appendingPathComponent("changed.yaml").path
        try String(contentsOfFile: recipe, encoding: .utf8).replacingOccurrences(of: "layers: 2", with: "layers: 3")
            .write(toFile: changed, atomically: true, encoding: .utf8)
        let stale = run + "/.checkpoint.safetensors.DEADBEEF.tmp"
        try Data("partial".utf8).write(to: URL(fileURLWithPath: stale))
        let mismatch = try CLITests.run(["train", changed, "--out", run, "--resume"])
        #expect(mismatch.status == 1 && mismatch.stderr.contains("differs from the checkpoint's in layers"), "\(mismatch.stderr)")
        #expect(!FileManager.default.fileExists(atPath: stale))

        let wav = dir.appendingPathComponent("data/wavs/LJ001-0001.wav").path
        let out = dir.appendingPathComponent("vocoded.wav").path
        let v = try CLITests.run(["vocode", wav, "--checkpoint", checkpoint, "-o", out, "--quiet"])
        #expect(v.status == 0, "\(v.stderr)")
        let info = try JSONSerialization.jsonObject(with: Data(try CLITests.run(["info", out, "--json"]).stdout.utf8)) as? [String: Any]
        #expect(info?["sample_rate"] as? Int == 22050)

        // --batch: two inputs of different lengths into a folder, each cut back to its own
        // length (the first as long as its single-input vocoding).
        let short = dir.appendingPathComponent("short.wav")
        try AudioCommandTests.writeTone(short, seconds: 0.2)
        let folder = dir.appendingPathComponent("batch").path
        let vb = try CLITests.run(["vocode", wav, short.path, "--checkpoint", checkpoint, "-o", folder, "--batch", "--threads", "2", "--quiet"])
        #expect(vb.status == 0, "\(vb.stderr)")
        let first = try Data(contentsOf: URL(fileURLWithPath: folder + "/LJ001-0001.wav")), single = try Data(contentsOf: URL(fileURLWithPath: out))
        #expect(first.count == single.count)
        let lengths = try ["LJ001-0001", "short"].map { name -> Int in
            let o = try JSONSerialization.jsonObject(with: Data(try CLITests.run(["info", folder + "/\(name).wav", "--json"]).stdout.utf8)) as? [String: Any]
            return o?["frames"] as? Int ?? -1
        }
        #expect(lengths[0] > lengths[1] && lengths[1] > 0, "\(lengths)")
        // The same batch on one thread: the same bytes.
        let folder1 = dir.appendingPathComponent("batch1").path
        let vb1 = try CLITests.run(["vocode", wav, short.path, "--checkpoint", checkpoint, "-o", folder1, "--batch", "--threads", "1", "--quiet"])
        #expect(vb1.status == 0, "\(vb1.stderr)")
        for name in ["LJ001-0001.wav", "short.wav"] {
            #expect(try Data(contentsOf: URL(fileURLWithPath: folder1 + "/" + name)) == Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)), "\(name)")
        }
        let noBatch = try CLITests.run(["vocode", wav, short.path, "--checkpoint", checkpoint, "-o", folder])
        #expect(noBatch.status != 0 && noBatch.stderr.contains("--batch"))
        let intoFile = try CLITests.run(["vocode", wav, short.path, "--checkpoint", checkpoint, "-o", out, "--batch"])
        #expect(intoFile.status != 0 && intoFile.stderr.contains("is a file"))
        // An input named in another spelling of the output folder's path is not overwritten.
        let roundabout = dir.path + "/data/../short.wav"
        let clobber = try CLITests.run(["vocode", roundabout, "--checkpoint", checkpoint, "-o", dir.path, "--batch"])
        #expect(clobber.status != 0 && clobber.stderr.contains("overwrite"), "\(clobber.stderr)")

        // Options a WaveNet does not take, a temperature that samples nothing, a mel of other audio.
        let sigma = try CLITests.run(["vocode", wav, "--checkpoint", checkpoint, "-o", out, "--sigma", "0.3"])
        #expect(sigma.status == 64 && sigma.stderr.contains("a WaveNet") && sigma.stderr.contains("--temperature"), "\(sigma.stderr)")
        let notMade = dir.appendingPathComponent("not-made").path
        let batchSigma = try CLITests.run(["vocode", wav, short.path, "--checkpoint", checkpoint, "-o", notMade, "--batch", "--sigma", "0.3"])
        #expect(batchSigma.status == 64 && !FileManager.default.fileExists(atPath: notMade), "\(batchSigma.stderr)")
        let cold = try CLITests.run(["vocode", wav, "--checkpoint", checkpoint, "-o", out, "--temperature", "0"])
        #expect(cold.status == 64 && cold.stderr.contains("--temperature must be a positive number"), "\(cold.stderr)")
        let shortMel = dir.appendingPathComponent("short.npy").path
        #expect(try CLITests.run(["mel", short.path, "-o", shortMel, "--quiet"]).status == 0)
        let otherMel = try CLITests.run(["score", "--checkpoint", checkpoint, wav, "--mel", shortMel])
        #expect(otherMel.status == 1 && otherMel.stderr.contains("pass the mel of this audio"), "\(otherMel.stderr)")

        let s = try CLITests.run(["score", "--checkpoint", checkpoint, wav, "--json"])
        #expect(s.status == 0, "\(s.stderr)")
        let o = try JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(Set(o.keys) == ["nll_per_sample", "bits_per_sample", "samples"])
        let nll = o["nll_per_sample"] as? Double ?? 0, bits = o["bits_per_sample"] as? Double ?? 0
        #expect(nll > 0 && abs(bits - nll / log(2)) < 1e-4)

        // A mel with the wrong band count names both numbers; a conditioned model cannot `generate`.
        let bands = dir.appendingPathComponent("bands.npy")
        try AudioCommandTests().npy(shape: [40, 10], values: Array(repeating: -5, count: 400)).write(to: bands)
        let b = try CLITests.run(["vocode", bands.path, "--checkpoint", checkpoint, "-o", out])
        #expect(b.status != 0 && b.stderr.contains("40") && b.stderr.contains("80"), "\(b.stderr)")
        let g = try CLITests.run(["generate", "--checkpoint", checkpoint, "-o", dir.appendingPathComponent("g.wav").path])
        #expect(g.status != 0 && g.stderr.contains("mel-conditioned"))
        let notModel = try CLITests.run(["score", "--checkpoint", wav, wav])
        #expect(notModel.status != 0 && notModel.stderr.contains("not a safetensors checkpoint: it looks like a WAV"))
        let badRecipe = dir.appendingPathComponent("bad.yaml")
        try "data: {path: /nonexistent, sample_rate: 22050}\nmodel: {family: wavenet}\n".write(to: badRecipe, atomically: true, encoding: .utf8)
        let br = try CLITests.run(["train", badRecipe.path, "--out", dir.appendingPathComponent("r2").path])
        #expect(br.status != 0 && br.stderr.contains("/nonexistent"))
    }

    /// A run killed with SIGKILL at an arbitrary moment leaves the last complete checkpoint loadable.
    @Test func killDashNineLeavesALoadableCheckpoint() throws {
        let (dir, checkpoint) = try Self.trainedRun()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = try String(contentsOf: dir.appendingPathComponent("tiny.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "steps: 2,", with: "steps: 100000,")
        let long = dir.appendingPathComponent("long.yaml")
        try recipe.write(to: long, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("run").path
        for delay in [0.8, 1.7] {
            let p = Process()
            p.executableURL = CLITests.binary
            p.arguments = ["train", long.path, "--out", run, "--resume", "--quiet"]
            try p.run()
            Thread.sleep(forTimeInterval: delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let info = try CLITests.run(["info", checkpoint, "--json"])
            #expect(info.status == 0, "\(info.stderr)")
            let o = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any] ?? [:]
            #expect(o["family"] as? String == "wavenet" && (o["step"] as? Int ?? 0) >= 2)
        }
    }
}

/// The training command under signals and a second run, and options a review found
/// misreported.
@Suite(.serialized) struct TrainingCommandTests {
    /// SIGTERM (a service stop, `timeout`) stops a run as Ctrl-C does: the step finishes, a
    /// checkpoint is saved, the exit status is 128 + 15. While it trains, a second run in its
    /// folder is refused, naming the first one's process. Started with SIGHUP ignored (as
    /// `nohup` does), a hang-up leaves it training.
    @Test func sigtermSavesAndASecondRunIsRefused() throws {
        let (dir, checkpoint) = try ModelCommandTests.trainedRun()
        defer { try? FileManager.default.removeItem(at: dir) }
        let long = dir.appendingPathComponent("long.yaml")
        try String(contentsOf: dir.appendingPathComponent("tiny.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "steps: 2,", with: "steps: 100000,").write(to: long, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("run").path
        let log = dir.appendingPathComponent("stderr.txt")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "trap '' HUP; exec \"$0\" \"$@\"", CLITests.binary.path, "train", long.path, "--out", run, "--resume"]
        p.standardError = try FileHandle(forWritingTo: log)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        func step() -> Int {
            guard let info = try? CLITests.run(["info", checkpoint, "--json"]),
                  let o = try? JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any] else { return 0 }
            return o["step"] as? Int ?? 0
        }
        let deadline = Date().addingTimeInterval(60)
        while step() <= 3 && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }   // training, past its resume
        let second = try CLITests.run(["train", long.path, "--out", run, "--resume"])
        #expect(second.status == 1 && second.stderr.contains("another training run (process \(p.processIdentifier)) is using the run folder"),
                "\(second.stderr)")
        kill(p.processIdentifier, SIGHUP)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(p.isRunning)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let said = try String(contentsOf: log, encoding: .utf8)
        #expect(p.terminationReason == .exit && p.terminationStatus == 143, "\(said)")
        #expect(said.contains("stopping after this step") && said.contains("stopped by SIGTERM at step"), "\(said)")
        #expect(step() > 3)
    }

    @Test func misreportedOptionsAreClearErrors() throws {
        let dir = try AudioCommandTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = dir.appendingPathComponent("a.wav").path
        try AudioCommandTests.writeTone(URL(fileURLWithPath: wav), seconds: 0.2)
        let seed = try CLITests.run(["vocode", wav, "-o", dir.appendingPathComponent("b.wav").path, "--seed", "-1"])
        #expect(seed.status == 64 && seed.stderr.contains("--seed takes a whole number from 0 to 18446744073709551615, got '-1'"), "\(seed.stderr)")
        let speaker = try CLITests.run(["score", "-c", "Audio/wavenet-small-espeak.safetensors", wav, "--speaker", "-1"])
        #expect(speaker.status != 0 && speaker.stderr.contains("--speaker does not apply"), "\(speaker.stderr)")
        // A clip shorter than one mel frame is too short for a WaveGlow's score, as for a WaveNet's.
        let short = dir.appendingPathComponent("short.wav").path
        try AudioCommandTests.writeTone(URL(fileURLWithPath: short), seconds: 100.0 / 22050)
        let glow = try CLITests.run(["score", "-c", "Audio/waveglow-small-espeak.safetensors", short])
        #expect(glow.status != 0 && glow.stderr.contains("needs at least 256"), "\(glow.stderr)")
        // A run folder under a file is refused by name.
        let recipe = dir.appendingPathComponent("r.yaml")
        try "data: {path: \(dir.path), sample_rate: 22050}\nmodel: {family: wavenet}\n".write(to: recipe, atomically: true, encoding: .utf8)
        let under = try CLITests.run(["train", recipe.path, "--out", wav + "/sub"])
        #expect(under.status != 0 && under.stderr.contains("'\(wav)' is a file, so the run folder"), "\(under.stderr)")
        let infinite = dir.appendingPathComponent("inf.yaml")
        try "data: {path: \(dir.path), sample_rate: 22050}\nmodel: {family: wavenet}\noptimizer:\n  learning_rate: .inf\n".write(to: infinite, atomically: true, encoding: .utf8)
        let lr = try CLITests.run(["train", infinite.path, "--out", dir.appendingPathComponent("run").path])
        #expect(lr.status != 0 && lr.stderr.contains("optimizer.learning_rate is not a finite number"), "\(lr.stderr)")
    }
}

/// Inputs the second review found crashing; each must be a clear error now.
@Suite struct ReviewRegressionTests {
    @Test func recipesThatDoNotFitTheModelAreErrors() throws {
        let dir = try AudioCommandTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("clips")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try AudioCommandTests.writeTone(data.appendingPathComponent("a.wav"), sampleRate: 16000, seconds: 0.5)
        func train(_ yaml: String) throws -> CLITests.Result {
            let r = dir.appendingPathComponent("r-\(UUID().uuidString.prefix(6)).yaml")
            try yaml.write(to: r, atomically: true, encoding: .utf8)
            return try CLITests.run(["train", r.path, "--out", dir.appendingPathComponent("run-\(UUID().uuidString.prefix(6))").path, "--quiet"])
        }
        let hop = try train("data: {path: \(data.path), sample_rate: 16000, mel_preset: 16k}\nmodel: {family: wavenet, preset: small}\ntraining: {steps: 1}")
        #expect(hop.status != 0 && hop.stderr.contains("256") && hop.stderr.contains("200"), "\(hop.stderr)")
        let bands = try train("data: {path: \(data.path), sample_rate: 16000, mel_preset: 16k}\nmodel: {family: wavenet, preset: small, config: {cin_channels: 64, upsample_scales: [2, 100]}}\ntraining: {steps: 1}")
        #expect(bands.status != 0 && bands.stderr.contains("64") && bands.stderr.contains("80"), "\(bands.stderr)")
        let negative = try train("data: {path: \(data.path), sample_rate: 16000}\nmodel: {family: wavenet, config: {cin_channels: null, upsample_scales: null, residual_channels: -8}}\ntraining: {steps: 1}")
        #expect(negative.status != 0 && negative.stderr.contains("residual_channels"), "\(negative.stderr)")
        let fraction = try train("data: {path: \(data.path), sample_rate: 16000, validation_fraction: 1}\nmodel: {family: wavenet}\n")
        #expect(fraction.status != 0 && fraction.stderr.contains("validation_fraction"))
        // A one-clip corpus trains (the split never empties training).
        let one = try train("data: {path: \(data.path), sample_rate: 16000, validation_fraction: 0.9}\nmodel: {family: wavenet, config: {cin_channels: null, upsample_scales: null, cin_pad: 0, layers: 2, stacks: 1, residual_channels: 8, gate_channels: 8, skip_out_channels: 8}}\ntraining: {steps: 1, batch_size: 1, crop_samples: 800}")
        #expect(one.status == 0, "\(one.stderr)")
    }

    @Test func hugeNPYShapesAreRejected() throws {
        let dir = try AudioCommandTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"
        header += String(repeating: " ", count: (64 - (10 + header.count + 1) % 64) % 64) + "\n"
        var d = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
        d.append(contentsOf: Array(header.utf8))
        let path = dir.appendingPathComponent("big.npy")
        try d.write(to: path)
        let r = try CLITests.run(["info", path.path])
        #expect(r.status == 1 && r.stderr.contains("absurdly large"), "\(r.stderr)")
    }

    @Test func generateRejectsImpossibleRates() throws {
        let r = try CLITests.run(["generate", "--checkpoint", "x.safetensors", "-o", "/tmp/x.wav", "--sample-rate", "3000000000"])
        #expect(r.status != 0 && r.stderr.contains("--sample-rate"))
    }
}

@Suite struct WaveGlowCommandTests {
    @Test func trainVocodeAndScoreAWaveGlow() throws {
        let dir = try AudioCommandTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let wavs = dir.appendingPathComponent("data/wavs")
        try FileManager.default.createDirectory(at: wavs, withIntermediateDirectories: true)
        try AudioCommandTests.writeTone(wavs.appendingPathComponent("LJ001-0001.wav"), seconds: 0.5)
        try AudioCommandTests.writeTone(wavs.appendingPathComponent("LJ001-0002.wav"), seconds: 0.5)
        try "LJ001-0001|a|a\nLJ001-0002|b|b\n".write(to: dir.appendingPathComponent("data/metadata.csv"), atomically: true, encoding: .utf8)
        let recipe = dir.appendingPathComponent("wg.yaml")
        try """
        data: {path: \(dir.path)/data, layout: ljspeech, sample_rate: 22050, mel_preset: tacotron2, validation_fraction: 0}
        model: {family: waveglow, preset: small, config: {n_flows: 4, n_early_every: 2, n_layers: 2, n_channels: 8}}
        optimizer: {kind: adam, learning_rate: 0.0001}
        training: {batch_size: 1, crop_samples: 2048, steps: 1, checkpoint_every: 1, validate_every: 1, log_every: 1}
        """.write(to: recipe, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("run").path
        let t = try CLITests.run(["train", recipe.path, "--out", run, "--quiet"])
        #expect(t.status == 0, "\(t.stderr)")
        let ckpt = run + "/checkpoint.safetensors"
        let wav = wavs.appendingPathComponent("LJ001-0001.wav").path
        let out = dir.appendingPathComponent("v.wav").path
        let v = try CLITests.run(["vocode", wav, "--checkpoint", ckpt, "-o", out, "--sigma", "0", "--quiet"])
        #expect(v.status == 0, "\(v.stderr)")
        let info = try JSONSerialization.jsonObject(with: Data(try CLITests.run(["info", out, "--json"]).stdout.utf8)) as? [String: Any]
        #expect(info?["frames"] as? Int == 44 * 256)                 // frames · 256, as NVIDIA's inference
        let s = try CLITests.run(["score", "--checkpoint", ckpt, wav, "--json"])
        #expect(s.status == 0 && s.stdout.contains("nll_per_sample"), "\(s.stderr)")
        let denoised = dir.appendingPathComponent("d.wav").path
        let freshCache = ["XDG_CACHE_HOME": dir.appendingPathComponent("cache0").path]
        let d = try CLITests.run(["vocode", wav, "--checkpoint", ckpt, "-o", denoised, "--sigma", "0", "--denoise", "0.01", "--quiet"],
                                 environment: freshCache)
        #expect(d.status == 0, "\(d.stderr)")
        let dinfo = try JSONSerialization.jsonObject(with: Data(try CLITests.run(["info", denoised, "--json"]).stdout.utf8)) as? [String: Any]
        #expect(dinfo?["frames"] as? Int == 44 * 256)
        // The bias is measured once per checkpoint file and cached; a cached, a damaged and a
        // re-measured bias all give the same audio, and a changed checkpoint gets a new entry.
        let cacheHome = dir.appendingPathComponent("cache"), entries = cacheHome.appendingPathComponent("wavekit/denoiser")
        let listing = { (try? FileManager.default.contentsOfDirectory(atPath: entries.path))?.filter { $0.hasSuffix(".bias") } ?? [] }
        var cachedRuns: [[Float]] = []
        for damage in [false, false, true] {
            if damage, let first = listing().first { try Data("WKDN junk".utf8).write(to: entries.appendingPathComponent(first)) }
            let path = dir.appendingPathComponent("cached.wav").path
            let c = try CLITests.run(["vocode", wav, "--checkpoint", ckpt, "-o", path, "--sigma", "0", "--denoise", "0.01", "--quiet"],
                                     environment: ["XDG_CACHE_HOME": cacheHome.path])
            #expect(c.status == 0, "\(c.stderr)")
            cachedRuns.append(try AudioCommandTests.samples(path))
            #expect(listing().count == 1)
        }
        #expect(cachedRuns.allSatisfy { $0 == (try? AudioCommandTests.samples(denoised)) })
        #expect((try? Data(contentsOf: entries.appendingPathComponent(listing()[0])).count) == 8 + 4 * 513)
        // The entry is what the denoiser uses: a forged bias of 1 000 in every bin removes everything.
        var forged = Data("WKDN".utf8)
        withUnsafeBytes(of: UInt32(513).littleEndian) { forged.append(contentsOf: $0) }
        for _ in 0..<513 { withUnsafeBytes(of: Float(1000).bitPattern.littleEndian) { forged.append(contentsOf: $0) } }
        try forged.write(to: entries.appendingPathComponent(listing()[0]))
        let silenced = dir.appendingPathComponent("silenced.wav").path
        let f = try CLITests.run(["vocode", wav, "--checkpoint", ckpt, "-o", silenced, "--sigma", "0", "--denoise", "0.01", "--quiet"],
                                 environment: ["XDG_CACHE_HOME": cacheHome.path])
        #expect(f.status == 0, "\(f.stderr)")
        #expect(try AudioCommandTests.samples(silenced).allSatisfy { $0 == 0 })
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: ckpt)
        _ = try CLITests.run(["vocode", wav, "--checkpoint", ckpt, "-o", dir.appendingPathComponent("cached.wav").path, "--sigma", "0",
                              "--denoise", "0.01", "--quiet"], environment: ["XDG_CACHE_HOME": cacheHome.path])
        #expect(listing().count == 2)
        // --batch with a WaveGlow: the model and its denoiser load once; each output equals its single vocoding.
        let second = wavs.appendingPathComponent("LJ001-0002.wav").path, folder = dir.appendingPathComponent("wgbatch").path
        let vb = try CLITests.run(["vocode", wav, second, "--checkpoint", ckpt, "-o", folder, "--batch", "--sigma", "0", "--denoise", "0.01", "--quiet"],
                                  environment: freshCache)
        #expect(vb.status == 0, "\(vb.stderr)")
        #expect(try AudioCommandTests.samples(folder + "/LJ001-0001.wav") == AudioCommandTests.samples(denoised))
        #expect(FileManager.default.fileExists(atPath: folder + "/LJ001-0002.wav"))
        let badStrength = try CLITests.run(["vocode", wav, "--checkpoint", ckpt, "-o", out, "--denoise", "2"])
        #expect(badStrength.status != 0 && badStrength.stderr.contains("--denoise"))
        let temperature = try CLITests.run(["vocode", wav, "--checkpoint", ckpt, "-o", out, "--temperature", "0.5"])
        #expect(temperature.status == 64 && temperature.stderr.contains("a WaveGlow") && temperature.stderr.contains("--sigma"), "\(temperature.stderr)")
        let none = try CLITests.run(["vocode", wav, "--checkpoint", ckpt, "-o", dir.appendingPathComponent("none.wav").path, "--sigma", "0", "--denoise", "none", "--quiet"])
        #expect(none.status == 0, "\(none.stderr)")
        #expect(try AudioCommandTests.samples(dir.appendingPathComponent("none.wav").path) == AudioCommandTests.samples(out))
        let noModel = try CLITests.run(["vocode", wav, "-o", out, "--denoise", "0.01"])
        #expect(noModel.status != 0 && noModel.stderr.contains("WaveGlow"))

        // Bad mels and a command for another family get clear errors and leave the output alone.
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        let bands = dir.appendingPathComponent("bands.npy")
        try AudioCommandTests().npy(shape: [40, 10], values: Array(repeating: -5, count: 400)).write(to: bands)
        let b = try CLITests.run(["vocode", bands.path, "--checkpoint", ckpt, "-o", out])
        #expect(b.status != 0 && b.stderr.contains("40") && b.stderr.contains("80"), "\(b.stderr)")
        let nan = dir.appendingPathComponent("nan.npy")
        try AudioCommandTests().npy(shape: [80, 2], values: [Float.nan] + Array(repeating: -5, count: 159)).write(to: nan)
        let n = try CLITests.run(["vocode", nan.path, "--checkpoint", ckpt, "-o", out])
        #expect(n.status != 0 && n.stderr.contains("NaN"), "\(n.stderr)")
        let empty = dir.appendingPathComponent("empty.npy")
        try AudioCommandTests().npy(shape: [80, 0], values: []).write(to: empty)
        let e = try CLITests.run(["vocode", empty.path, "--checkpoint", ckpt, "-o", out])
        #expect(e.status != 0 && e.stderr.contains("frame"), "\(e.stderr)")
        let g = try CLITests.run(["generate", "--checkpoint", ckpt, "-o", dir.appendingPathComponent("g.wav").path])
        #expect(g.status != 0 && g.stderr.contains("waveglow"), "\(g.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == before)

        // export --half: no optimizer state, F16, about a quarter of the training checkpoint,
        // and the same σ = 0 audio to half-precision accuracy.
        let half = dir.appendingPathComponent("half.safetensors").path
        let x = try CLITests.run(["export", ckpt, "-o", half, "--half", "--quiet"])
        #expect(x.status == 0, "\(x.stderr)")
        let size = { (p: String) in (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0 }
        #expect(size(half) * 5 < size(ckpt) && size(half) > 0)
        let hv = dir.appendingPathComponent("hv.wav").path
        let vh = try CLITests.run(["vocode", wav, "--checkpoint", half, "-o", hv, "--sigma", "0", "--quiet"])
        #expect(vh.status == 0, "\(vh.stderr)")
        let (a, b2) = (try AudioCommandTests.samples(out), try AudioCommandTests.samples(hv))
        #expect(a.count == b2.count && zip(a, b2).map { abs($0 - $1) }.max()! < 2e-3)
        let hinfo = try CLITests.run(["info", half])
        #expect(hinfo.stdout.contains("trained:    1 steps"), "\(hinfo.stdout)")
        let over = try CLITests.run(["export", ckpt, "-o", ckpt])
        #expect(over.status != 0 && over.stderr.contains("overwrite"))
    }
}

import AudioIO
import DSP
import Foundation
import Models
import NN
import Testing
import TensorCore
import TestSupport
@testable import Training

func temporaryFolder() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wavekit-train-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.path
}

/// Writes `count` short tones (different pitches) as WAV files.
func writeTones(in folder: String, names: [String], sampleRate: Int = 8000, seconds: Double = 0.6) throws {
    for (i, name) in names.enumerated() {
        let path = folder + "/" + name
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let f = 200 + 37 * Double(i)
        let x = (0..<Int(Double(sampleRate) * seconds)).map { Float(0.4 * sin(2 * .pi * f * Double($0) / Double(sampleRate))) }
        try SoundFile.write(Audio(mono: x, sampleRate: sampleRate), to: path)
    }
}

@Suite struct RecipeTests {
    static let yaml = """
    name: tiny
    data: {path: /tmp/x, layout: ljspeech, sample_rate: 22050, mel_preset: tacotron2}
    model: {family: wavenet, preset: small, config: {layers: 4}}
    optimizer: {kind: adamw, learning_rate: 0.0005, clip_grad_norm: 1.0, schedule: {cosine: {period: 100, minimum: 0.00001}}}
    training: {batch_size: 2, crop_samples: 4096, steps: 10, checkpoint_every: 5, validate_every: 5, log_every: 1}
    """

    @Test func parsesYAMLAndJSON() throws {
        let r = try Recipe.parse(Self.yaml, source: "tiny.yaml")
        #expect(r.data.layout == .ljspeech && r.data.melPreset == "tacotron2")
        #expect(r.optimizer.kind == .adamw && r.optimizer.weightDecay == 0.01)   // AdamW's default decay
        #expect(r.optimizer.schedule == .cosine(period: 100, minimum: 0.00001))
        #expect(r.model.config == .object(["layers": .number(4)]))
        let json = #"{"data": {"path": "/d", "sample_rate": 16000}, "model": {"family": "x"}}"#
        let j = try Recipe.parse(json, source: "r.json")
        #expect(j.training.batchSize == 4 && j.optimizer.kind == .adam)
    }

    @Test func unknownKeysAndWrongTypesAreNamed() throws {
        func message(_ text: String) -> String {
            do { _ = try Recipe.parse(text, source: "r.yaml"); return "" } catch { return "\(error)" }
        }
        let typo = message(Self.yaml.replacingOccurrences(of: "batch_size", with: "batchsize"))
        #expect(typo.contains("unknown key 'training.batchsize'") && typo.contains("batch_size"))
        let wrong = message(Self.yaml.replacingOccurrences(of: "steps: 10", with: "steps: ten"))
        #expect(wrong.contains("training.steps"))
        let missing = message("model: {family: x}")
        #expect(missing.contains("missing key 'data'"))
        #expect(message("data: [1, 2").contains("not valid YAML"))
        #expect(message(Self.yaml.replacingOccurrences(of: "batch_size: 2", with: "batch_size: 0")).contains("training.batch_size must be at least 1"))
        // A fraction for a count, an enum value not in the list, an unknown schedule, and a
        // schedule in snake_case (which is accepted, as everything else in a recipe).
        #expect(message(Self.yaml.replacingOccurrences(of: "batch_size: 2", with: "batch_size: 2.5")).contains("whole number"))
        #expect(message(Self.yaml.replacingOccurrences(of: "layout: ljspeech", with: "layout: LJSpeech")).contains("must be one of folder, ljspeech, vctk, sc09"))
        func schedule(_ s: String) -> String { Self.yaml.replacingOccurrences(of: "schedule: {cosine: {period: 100, minimum: 0.00001}}", with: "schedule: \(s)") }
        #expect(message(schedule("{bogus: 1}")).contains("unknown schedule 'bogus'"))
        let extra = message(schedule("{cosine: {period: 100, minimum: 0.00001, warmup: 10}}"))
        #expect(extra.contains("unknown parameter 'warmup' of the cosine schedule"), "\(extra)")
        #expect(message(schedule("{step: {stepsize: 3, gamma: 0.5}}")).contains("unknown parameter 'stepsize'"))
        #expect(message(schedule("{step: {step_size: 0, gamma: 0.5}}")).contains("step_size ≥ 1"))
        #expect(try Recipe.parse(schedule("{step: {step_size: 3, gamma: 0.5}}"), source: "r.yaml").optimizer.schedule == .step(stepSize: 3, gamma: 0.5))
        #expect(try Recipe.parse(schedule("{linear_warmup: {steps: 4}}"), source: "r.yaml").optimizer.schedule == .linearWarmup(steps: 4))
        // The key of a fraction or negative count is named; so are bad betas, eps, another
        // optimizer's options, a name that is not one folder, and JSON that does not parse.
        let fraction = message(Self.yaml.replacingOccurrences(of: "crop_samples: 4096", with: "crop_samples: 4096.5"))
        #expect(fraction.contains("training.crop_samples (4096.5)"), "\(fraction)")
        func optimizer(_ o: String) -> String {
            Self.yaml.replacingOccurrences(of: "kind: adamw, learning_rate: 0.0005", with: o)
        }
        #expect(message(optimizer("kind: adam, betas: [0.9, 1.5]")).contains("optimizer.betas must each be in [0, 1)"))
        #expect(message(optimizer("kind: adam, eps: 0")).contains("optimizer.eps must be positive"))
        #expect(message(optimizer("kind: sgd, amsgrad: true")).contains("optimizer.amsgrad does not apply to sgd"))
        #expect(message(optimizer("kind: adam, momentum: 0.9")).contains("optimizer.momentum does not apply to adam"))
        for bad in ["../../escaped", "''", "/abs", "a/../b"] {
            let r = try Recipe.parse(Self.yaml.replacingOccurrences(of: "name: tiny", with: "name: \(bad)"), source: "r.yaml")
            #expect(throws: TrainingError.self) { try r.defaultRunFolder() }
        }
        #expect(try Recipe.parse(Self.yaml.replacingOccurrences(of: "name: tiny", with: "name: exp/a"), source: "r.yaml").defaultRunFolder() == "runs/exp/a")
        let json: String
        do { _ = try Recipe.parse("{", source: "r.json"); json = "" } catch { json = "\(error)" }
        #expect(json.contains("not valid JSON"), "\(json)")
    }
}

@Suite struct CorpusTests {
    @Test func everyLayoutIsFound() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try writeTones(in: root + "/lj", names: ["wavs/LJ001-0001.wav", "wavs/LJ001-0002.wav", "wavs/LJ001-0003.wav"])
        try "LJ001-0001|Hello.|Hello.\nLJ001-0002|Two 2.|Two two.\nLJ001-0003|x|\nLJ009-0009|missing|missing\nLJ003\n"
            .write(toFile: root + "/lj/metadata.csv", atomically: true, encoding: .utf8)
        let lj = try AudioCorpus.scan(root + "/lj", layout: .ljspeech)
        #expect(lj.items.count == 3 && lj.items[1].text == "Two two." && lj.items[2].text == "x")
        #expect(lj.notes.contains { $0.contains("1 row of metadata.csv names a missing wav") }
                && lj.notes.contains { $0.contains("1 row of metadata.csv has no '|'") }, "\(lj.notes)")
        // When every row names a missing wav, the error says so.
        try FileManager.default.createDirectory(atPath: root + "/lj2/wavs", withIntermediateDirectories: true)
        try "LJ009-0009|missing|missing\n".write(toFile: root + "/lj2/metadata.csv", atomically: true, encoding: .utf8)
        do { _ = try AudioCorpus.scan(root + "/lj2", layout: .ljspeech); Issue.record("an LJSpeech folder without its wavs scanned") } catch {
            #expect("\(error)".contains("names a missing wav"), "\(error)")
        }
        try FileManager.default.removeItem(atPath: root + "/lj2")

        try writeTones(in: root + "/vctk/wav48_silence_trimmed", names: ["p225/p225_001.wav", "p225/p225_002.wav", "p226/p226_001.flac"])
        let vctk = try AudioCorpus.scan(root + "/vctk", layout: .vctk)
        #expect(vctk.speakers == ["p225", "p226"] && vctk.items.map { $0.speaker! } == [0, 0, 1])
        // VCTK 0.92's two microphones: mic1 kept where both exist (p280 has no mic2).
        try writeTones(in: root + "/vctk092/wav48_silence_trimmed",
                       names: ["p225/p225_001_mic1.flac", "p225/p225_001_mic2.wav", "p225/p225_002_mic2.flac", "p280/p280_001_mic1.flac"])
        let v092 = try AudioCorpus.scan(root + "/vctk092", layout: .vctk)
        #expect(v092.items.map { ($0.path as NSString).lastPathComponent } == ["p225_001_mic1.flac", "p225_002_mic2.flac", "p280_001_mic1.flac"])
        #expect(v092.notes == ["1 second-microphone recording (_mic2) left out: VCTK 0.92 has every utterance from two microphones, and mic1 is kept"])

        try writeTones(in: root + "/sc09", names: ["one/a.wav", "zero/b.wav", "zero/c.wav"])
        let sc = try AudioCorpus.scan(root + "/sc09", layout: .sc09)
        #expect(sc.labels == ["one", "zero"] && sc.items.map { $0.label! } == [0, 1, 1])

        let all = try AudioCorpus.scan(root, layout: .folder)
        #expect(all.items.count == 13)   // the folder layout keeps every file, both microphones included
        #expect(throws: TrainingError.self) { try AudioCorpus.scan(root + "/none", layout: .folder) }
        try FileManager.default.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
        #expect(throws: TrainingError.self) { try AudioCorpus.scan(root + "/empty", layout: .folder) }
        #expect(throws: TrainingError.self) { try AudioCorpus.scan(root + "/vctk", layout: .ljspeech) }
    }

    @Test func splitIsDeterministicAndStable() throws {
        let items = (0..<200).map { AudioItem(path: "/r/clip\($0).wav", text: nil, speaker: nil, label: nil) }
        let corpus = AudioCorpus(root: "/r", layout: .folder, items: items, speakers: [], labels: [])
        let (train, val) = corpus.split(validationFraction: 0.1)
        #expect(train.count + val.count == 200 && val.count > 5 && val.count < 40)
        let smaller = AudioCorpus(root: "/r", layout: .folder, items: Array(items.dropFirst(50)), speakers: [], labels: [])
        // Removing files never moves a remaining file between the sets.
        #expect(Set(smaller.split(validationFraction: 0.1).validation.map(\.path)).isSubset(of: Set(val.map(\.path))))
    }

    @Test func cropsAreAlignedWithMelFrames() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try writeTones(in: root, names: ["a.wav"], sampleRate: 16000, seconds: 2)
        let loader = try ClipLoader(items: try AudioCorpus.scan(root, layout: .folder).items, sampleRate: 16000,
                                    melPreset: .speech16k, allowResampling: false)
        let batch = try loader.batch(step: 3, seed: 1, batchSize: 2, cropSamples: 4000)
        #expect(batch.audio.shape == [2, 4000] && batch.mel!.shape == [2, 80, 20])
        // The crop's own interior mel frames equal the corresponding frames of the clip's mel.
        let crop = batch.audio.sliced(axis: 0, end: 1).reshaped([-1]).scalars
        let own = try MelSpectrogram(preset: .speech16k)(crop)
        let given = batch.mel!.sliced(axis: 0, end: 1).reshaped([80, 20])
        for f in 4..<16 {
            #expect(Golden.worstRatio(own.sliced(axis: 1, start: f, end: f + 1), given.sliced(axis: 1, start: f, end: f + 1), rtol: 0, atol: 1e-3) <= 1)
        }
        // Same step and seed, same batch.
        #expect(try loader.batch(step: 3, seed: 1, batchSize: 2, cropSamples: 4000).audio.scalars == batch.audio.scalars)
    }

    @Test func wrongSampleRateIsResampledOrRejected() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try writeTones(in: root, names: ["a.wav"], sampleRate: 8000)
        try writeTones(in: root, names: ["b.wav", "c.wav"], sampleRate: 16000)
        let corpus = try AudioCorpus.scan(root, layout: .folder)
        // The scan counts the clips at other rates, once, before any is loaded.
        let readable = try corpus.readableItems(sampleRate: 16000, allowResampling: true)
        #expect(readable.notes == ["1 of 3 clips are not at 16000 Hz (1 at 8000 Hz); they are resampled to 16000 Hz as they load (resample the corpus once to skip that work)"])
        #expect(try corpus.readableItems(sampleRate: 8000, allowResampling: true).notes.first?.contains("2 of 3 clips are not at 8000 Hz (2 at 16000 Hz)") == true)
        #expect(throws: TrainingError.self) { try corpus.readableItems(sampleRate: 16000, allowResampling: false) }
        let items = Array(corpus.items.prefix(1))
        let strict = try ClipLoader(items: items, sampleRate: 16000, melPreset: nil, allowResampling: false)
        #expect(throws: TrainingError.self) { try strict.clip(0) }
        let lenient = try ClipLoader(items: items, sampleRate: 16000, melPreset: nil, allowResampling: true)
        var notices: [String] = []
        lenient.notice = { notices.append($0) }
        #expect(try lenient.clip(0).samples.count == 9600)
        #expect(notices.count == 1 && notices[0].contains("8000 Hz"))
    }
}

/// A tiny conditional model for exercising the loop: predicts each sample from the previous
/// two through a causal convolution.
final class TinyPredictor: Module {
    let conv: Conv1d
    init(seed: UInt64) {
        var g = RandomGenerator(seed: seed)
        conv = Conv1d(1, 1, kernelSize: 2, padding: .causal, using: &g)
    }
    func loss(_ b: Batch) -> Tensor {
        let x = b.audio.unsqueezed(axis: 1)                                   // [B, 1, T]
        let input = x.sliced(axis: 2, end: -1), target = x.sliced(axis: 2, start: 1)
        return Loss.mse(conv(input), target)
    }
}

@Suite(.serialized) struct TrainerTests {
    static func setUp(steps: Int, root: String) throws -> (Recipe, ClipLoader) {
        try writeTones(in: root + "/data", names: ["a.wav", "b.wav", "c.wav", "d.wav"])
        let recipe = try Recipe.parse("""
        data: {path: \(root)/data, sample_rate: 8000}
        model: {family: tiny}
        optimizer: {kind: adam, learning_rate: 0.05}
        training: {batch_size: 2, crop_samples: 800, steps: \(steps), checkpoint_every: 4, validate_every: 4, log_every: 1, seed: 3}
        """, source: "tiny.yaml")
        let loader = try ClipLoader(items: try AudioCorpus.scan(root + "/data", layout: .folder).items, sampleRate: 8000,
                                    melPreset: nil, allowResampling: false)
        return (recipe, loader)
    }

    static func trainer(_ recipe: Recipe, _ loader: ClipLoader, run: String) throws -> Trainer {
        let model = TinyPredictor(seed: 1)
        let task = TrainingTask(module: model, family: "tiny", configJSON: "{}", melPreset: nil, loss: model.loss)
        return try Trainer(task: task, recipe: recipe, runFolder: run, train: loader, validation: loader)
    }

    @Test func lossFallsAndLogsAreWritten() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (recipe, loader) = try Self.setUp(steps: 30, root: root)
        let t = try Self.trainer(recipe, loader, run: root + "/run")
        let log = try TensorBoardWriter(folder: root + "/run")
        var reports: [TrainingReport] = []
        try t.run(log: log) { reports.append($0) }
        #expect(t.losses.count == 30)
        let early: Float = t.losses.prefix(5).reduce(0, +), late: Float = t.losses.suffix(5).reduce(0, +)
        #expect(late < early * 0.5)
        #expect(reports.last?.step == 30 && reports.contains { $0.validationLoss != nil })
        #expect(FileManager.default.fileExists(atPath: t.checkpointPath))
        let framed = try TensorBoardTests.records(Data(contentsOf: URL(fileURLWithPath: log.path)))
        #expect(framed.count >= 1 + 30 * 2)
    }

    /// A clip that fails to load mid-run (here: deleted after the loader was made) stops the
    /// run with the step, a checkpoint of the steps made so far, and how to go on.
    @Test func aClipThatFailsMidRunKeepsTheStepsMade() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (recipe, loader) = try Self.setUp(steps: 40, root: root)
        loader.cacheLimit = 0                                   // read every clip every time
        let t = try Self.trainer(recipe, loader, run: root + "/run")
        var reports = 0
        do {
            try t.run { _ in
                reports += 1
                if reports == 6 { try? FileManager.default.removeItem(atPath: root + "/data/b.wav") }
            }
            Issue.record("the run should have stopped")
        } catch {
            #expect("\(error)".contains("--resume") && "\(error)".contains("b.wav"), "\(error)")
        }
        #expect(t.step >= 6 && t.step < 40)
        let saved = try Safetensors.read(t.checkpointPath).metadata["wavekit.step"]
        #expect(saved == "\(t.step)", "checkpoint at \(saved ?? "none"), run at \(t.step)")
    }

    /// Stopping after 6 steps and resuming gives exactly the losses of an uninterrupted run.
    @Test func resumeContinuesExactly() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (recipe, loader) = try Self.setUp(steps: 12, root: root)
        let straight = try Self.trainer(recipe, loader, run: root + "/a")
        try straight.run()
        let first = try Self.trainer(recipe, loader, run: root + "/b")
        try first.run(maxSteps: 8)
        let second = try Self.trainer(recipe, loader, run: root + "/b")
        try second.resume()
        #expect(second.step == 8)
        try second.run()
        #expect(first.losses + second.losses == straight.losses)
    }

    /// A run folder another process trains in is refused, naming the process, and nothing is
    /// written. (The lock is held here through a second open file description of the lock
    /// file, which `flock` treats as another holder, as it would another process.)
    @Test func aRunFolderInUseIsRefused() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (recipe, loader) = try Self.setUp(steps: 2, root: root)
        let t = try Self.trainer(recipe, loader, run: root + "/run")
        let fd = open(root + "/run/.lock", O_RDWR | O_CREAT, 0o644)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        _ = "4242\n".withCString { pwrite(fd, $0, 5, 0) }
        do { try t.run(); Issue.record("the run should have been refused") } catch {
            #expect("\(error)".contains("another training run (process 4242) is using the run folder"), "\(error)")
        }
        #expect(throws: TrainingError.self) { try RunFolderLock.checkFree(root + "/run") }
        #expect(t.step == 0 && !FileManager.default.fileExists(atPath: t.checkpointPath))
        flock(fd, LOCK_UN)
        try t.run()
        #expect(t.step == 2)
    }

    /// A gradient that is NaN while the loss is finite stops the run before the update; the
    /// checkpoint keeps the steps made, and weights that are not finite are never written.
    @Test func nonFiniteGradientsStopBeforeTheUpdate() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (recipe, loader) = try Self.setUp(steps: 12, root: root)
        let model = TinyPredictor(seed: 1)
        var poisoned = false
        let task = TrainingTask(module: model, family: "tiny", configJSON: "{}", melPreset: nil) { b in
            let loss = model.loss(b)
            guard poisoned, let w = model.conv.weight?.value else { return loss }
            return loss + (w - w).sqrt().sum()                 // adds 0, but d√x/dx = ∞ at 0: NaN gradients
        }
        let t = try Trainer(task: task, recipe: recipe, runFolder: root + "/run", train: loader, validation: loader)
        do {
            try t.run { if $0.step == 5 { poisoned = true } }
            Issue.record("the run should have stopped")
        } catch {
            #expect("\(error)".contains("the gradients became NaN at step 6") && "\(error)".contains("checkpoint at step 5")
                    && "\(error)".contains("--resume"), "\(error)")
        }
        #expect(t.step == 5 && t.nonFiniteWeight() == nil)
        let saved = try Safetensors.read(t.checkpointPath)
        #expect(saved.metadata["wavekit.step"] == "5" && saved.tensors.values.allSatisfy { $0.scalars.allSatisfy(\.isFinite) })
        // A weight that is not finite is named, and the checkpoint on disk is left alone.
        model.conv.weight?.value = Tensor(shape: model.conv.weight!.value.shape, scalars: [.nan, 1])
        do { try t.saveCheckpoint(); Issue.record("expected an error") } catch {
            #expect("\(error)".contains("'conv.weight' is not finite") && "\(error)".contains("was not written"), "\(error)")
        }
        #expect(try Safetensors.read(t.checkpointPath).metadata["wavekit.step"] == "5")
    }

    /// A trainer never overwrites a checkpoint it did not load; after `resume()` it does.
    /// Before any checkpoint exists, errors say there is nothing to resume.
    @Test func aCheckpointNotLoadedIsNeverOverwritten() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (recipe, loader) = try Self.setUp(steps: 4, root: root)
        try Self.trainer(recipe, loader, run: root + "/run").run()
        let second = try Self.trainer(recipe, loader, run: root + "/run")
        do { try second.run(); Issue.record("expected an error") } catch {
            #expect("\(error)".contains("did not load"), "\(error)")
        }
        try second.resume()
        try second.saveCheckpoint()
        // A clip failing before the first checkpoint: no "--resume" advice.
        let (r2, l2) = try Self.setUp(steps: 40, root: root + "/other")
        l2.cacheLimit = 0
        for name in ["a", "b", "c", "d"] { try FileManager.default.removeItem(atPath: root + "/other/data/\(name).wav") }
        do { try Self.trainer(r2, l2, run: root + "/other/run").run(); Issue.record("expected an error") } catch {
            #expect("\(error)".contains("no checkpoint was saved yet") && !"\(error)".contains("--resume"), "\(error)")
        }
    }

    @Test func corruptOrForeignCheckpointsAreClearErrors() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (recipe, loader) = try Self.setUp(steps: 4, root: root)
        let t = try Self.trainer(recipe, loader, run: root + "/run")
        try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: t.checkpointPath))
        #expect(throws: NNError.self) { try t.resume() }
        try Safetensors.write(Safetensors.File(tensors: [:], metadata: [Checkpoint.familyKey: "waveglow"]), to: t.checkpointPath)
        do { try t.resume(); Issue.record("expected an error") } catch { #expect("\(error)".contains("waveglow")) }
    }
}

@Suite struct TensorBoardTests {
    /// Splits TFRecord framing, verifying both masked CRC-32Cs of every record.
    static func records(_ data: Data) throws -> [[UInt8]] {
        let bytes = [UInt8](data)
        var out: [[UInt8]] = [], i = 0
        func u32(_ at: Int) -> UInt32 { bytes[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        while i < bytes.count {
            guard i + 12 <= bytes.count else { throw TrainingError.io("truncated record header at \(i)") }
            let lengthBytes = Array(bytes[i..<i + 8])
            let n = Int(lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            guard u32(i + 8) == CRC32C.masked(lengthBytes) else { throw TrainingError.io("bad length CRC at \(i)") }
            guard i + 12 + n + 4 <= bytes.count else { throw TrainingError.io("truncated record at \(i)") }
            let payload = Array(bytes[(i + 12)..<(i + 12 + n)])
            guard u32(i + 12 + n) == CRC32C.masked(payload) else { throw TrainingError.io("bad data CRC at \(i)") }
            out.append(payload)
            i += 12 + n + 4
        }
        return out
    }

    static func golden(_ name: String) -> URL {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Golden")
            ?? Bundle.module.url(forResource: "Golden/\(name)", withExtension: nil)!
    }

    @Test func crc32cKnownAnswer() { #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283) }

    /// TensorBoard's own writer made reference.tfevents (tools/golden/tensorboard_reference.py):
    /// its framing checks out, and our encoding of the same scalar event is byte-identical.
    @Test func matchesTensorBoardsOwnFile() throws {
        let data = try Data(contentsOf: Self.golden("reference.tfevents"))
        let recs = try Self.records(data)
        #expect(recs.count == 2)
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let w = try TensorBoardWriter(folder: root, clock: { 1_700_000_000 })
        try w.scalar("loss", 0.5, step: 1, wallTime: 1_700_000_000)
        w.flush()
        let ours = try Self.records(Data(contentsOf: URL(fileURLWithPath: w.path)))
        #expect(ours[1] == recs[1])
        #expect(TensorBoardWriter.record(ours[1]) == Array(data.suffix(from: 88)))
    }

    /// wavekit_written.tfevents (scalars, an image, audio) was accepted by TensorBoard's event
    /// reader (tools/check_tensorboard.py); its framing must stay valid.
    @Test func committedWaveKitFileIsWellFramed() throws {
        let recs = try Self.records(Data(contentsOf: Self.golden("wavekit_written.tfevents")))
        #expect(recs.count == 5)
    }
}

/// TrainingRun.prepare: a recipe made ready to train from library code, as `wavekit train` does.
@Suite struct TrainingRunTests {
    @Test func aRecipePreparesAndTrainsFromCode() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try writeTones(in: root + "/recipes/clips", names: ["a.wav", "b.wav", "c.wav"], sampleRate: 8000, seconds: 0.3)
        let recipePath = root + "/recipes/r.yaml"
        try """
        name: lib
        data: {path: clips, sample_rate: 8000, validation_fraction: 0.4}
        model: {family: wavenet, config: {cin_channels: null, upsample_scales: null, cin_pad: 0, layers: 2, stacks: 1, residual_channels: 8, gate_channels: 8, skip_out_channels: 8}}
        training: {steps: 3, batch_size: 1, crop_samples: 400, validate_every: 3}
        """.write(toFile: recipePath, atomically: true, encoding: .utf8)
        var notes: [String] = []
        // data.path 'clips' is found beside the recipe, not in the current folder.
        let run = try TrainingRun.prepare(try Recipe.load(recipePath), recipePath: recipePath, runFolder: root + "/run") { notes.append($0) }
        #expect(run.dataPath == root + "/recipes/clips")
        #expect(notes.contains { $0.hasPrefix("3 clips in") } && notes.contains { $0.hasPrefix("wavenet: ") })
        try run.writeValidationList()
        let listed = try String(contentsOfFile: root + "/run/validation.txt", encoding: .utf8).split(separator: "\n")
        #expect(listed.count == run.validationItems.count)
        // shouldStop ends the run between steps, with a checkpoint; no SIGINT handler needed.
        var calls = 0
        #expect(try run.trainer.run(handlesInterrupt: false, shouldStop: { calls += 1; return calls == 2 }) == true && run.trainer.step == 1)
        #expect(try run.trainer.run(shouldStop: { true }) == false && run.trainer.step == 1)   // no step taken
        #expect(try run.trainer.run() == false && run.trainer.step == 3)
        #expect(FileManager.default.fileExists(atPath: root + "/run/checkpoint.safetensors"))
        // The run folder now holds a checkpoint: a new run there is refused, resuming it is not.
        #expect(throws: TrainingError.self) { try TrainingRun.prepare(try Recipe.load(recipePath), recipePath: recipePath, runFolder: root + "/run") }
        let again = try TrainingRun.prepare(try Recipe.load(recipePath), recipePath: recipePath, runFolder: root + "/run", resuming: true)
        _ = try again.trainer.resume()
        #expect(again.trainer.step == 3)
        #expect(TrainingRun.savedSeed(runFolder: root + "/run") == (try Recipe.load(recipePath)).training.seed)
        var listNotes: [String] = []
        try again.writeValidationList { listNotes.append($0) }
        #expect(listNotes.isEmpty)
        // Resuming with another validation split says that the held-out list changed.
        var wider = try Recipe.load(recipePath)
        wider.data.validationFraction = 0.7
        let moved = try TrainingRun.prepare(wider, recipePath: recipePath, runFolder: root + "/run", resuming: true)
        try moved.writeValidationList { listNotes.append($0) }
        #expect(listNotes.count == 1 && listNotes[0].contains("held-out clips differ"), "\(listNotes)")
        // A run folder under a file is refused by name before any work.
        try Data().write(to: URL(fileURLWithPath: root + "/afile"))
        do { _ = try TrainingRun.prepare(wider, recipePath: recipePath, runFolder: root + "/afile/sub"); Issue.record("expected an error") } catch {
            #expect("\(error)".contains("'\(root)/afile' is a file"), "\(error)")
        }
        // A missing data folder names the places tried.
        var missing = try Recipe.load(recipePath)
        missing.data.path = "nowhere"
        #expect(throws: TrainingError.self) { try TrainingRun.prepare(missing, recipePath: recipePath, runFolder: root + "/run2") }
    }
}

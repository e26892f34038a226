import AudioIO
import DSP
import Foundation
import Models
import NN

/// A recipe made ready to train, as `wavekit train` does it: the data folder found, the
/// model built (its errors before the corpus scan, which opens every clip's header), the
/// corpus scanned and split, loaders and the `Trainer` made. Library code trains with
///
///     let run = try TrainingRun.prepare(recipe, recipePath: path, runFolder: "runs/x") { print($0) }
///     try run.writeValidationList()
///     _ = try run.trainer.run(log: try TensorBoardWriter(folder: "runs/x"))
///
/// (`trainer.resume()` first to continue a run).
public struct TrainingRun {
    /// The trainer, with the model, optimizer, loaders and (for speaker models) speaker names.
    public let trainer: Trainer
    /// The data folder the recipe's `data.path` resolved to.
    public let dataPath: String
    /// The held-out clips (for `writeValidationList` and evaluation).
    public let validationItems: [AudioItem]

    /// Prepares `recipe` for a run in `runFolder`. `recipePath`, where the recipe was read from,
    /// is where a relative `data.path` is looked for first (then the current folder). `note`
    /// receives what a user should know (notes start with "note: "). The run folder must be
    /// new, empty or a run's; without `resuming`, it must hold no checkpoint (a new run would
    /// overwrite it), and with it, it must (call `trainer.resume()` next). The run folder's lock
    /// is taken before the corpus scan and held by the trainer (another process training there
    /// is refused).
    public static func prepare(_ recipe: Recipe, recipePath: String?, runFolder: String, resuming: Bool = false,
                               note: (String) -> Void = { _ in }) throws -> TrainingRun {
        let r = recipe
        let checkpoint = runFolder + "/checkpoint.safetensors"
        if resuming && !FileManager.default.fileExists(atPath: checkpoint) {
            throw TrainingError.recipe("'\(runFolder)' holds no checkpoint to resume; start the run there without resuming.")
        }
        if !resuming && FileManager.default.fileExists(atPath: checkpoint) {
            throw TrainingError.recipe("'\(checkpoint)' exists; resume it (--resume) or train in another run folder (--out).")
        }
        try checkRunFolder(runFolder)
        let dataPath = try resolveDataPath(r.data.path, recipePath: recipePath)
        let preset = try r.data.melPreset.map { try MelPreset.named($0) }
        if let preset, preset.sampleRate != r.data.sampleRate {
            throw TrainingError.recipe("data.sample_rate \(r.data.sampleRate) differs from the \(preset.name) mel preset's \(preset.sampleRate) Hz; make them agree.")
        }
        let task = try ModelFamilies.task(for: r, seed: r.training.seed)
        // Before the corpus scan, which can be long: the folder is made, and no other run uses it.
        try makeRunFolder(runFolder)
        let lock = try RunFolderLock(folder: runFolder)
        let scanned = try AudioCorpus.scan(dataPath, layout: r.data.layout)
        for n in scanned.notes { note("note: " + n) }
        let readable = try scanned.readableItems(sampleRate: r.data.sampleRate, allowResampling: r.data.resample)
        for n in readable.notes { note("note: " + n) }
        let corpus = scanned.keeping(readable.items)
        let (trainItems, validationItems) = corpus.split(validationFraction: r.data.validationFraction)
        note("\(corpus.items.count) clip\(corpus.items.count == 1 ? "" : "s") in \(dataPath) (\(r.data.layout.rawValue)): \(trainItems.count) train, \(validationItems.count) validation")
        let train = try ClipLoader(items: trainItems, sampleRate: r.data.sampleRate, melPreset: preset, allowResampling: r.data.resample)
        let crop = train.cropLength(r.training.cropSamples)
        if crop != r.training.cropSamples {
            note("note: training.crop_samples \(r.training.cropSamples) is taken as \(crop), whole mel frames of \(preset?.hopLength ?? 1) samples")
        }
        let short = readable.lengths.filter { $0 < crop }.count
        if short > 0 {
            note("note: \(short) of \(readable.lengths.count) clips are shorter than a \(crop)-sample crop; their crops are padded with silence")
        }
        let validation = validationItems.isEmpty ? nil
            : try ClipLoader(items: validationItems, sampleRate: r.data.sampleRate, melPreset: preset, allowResampling: r.data.resample)
        if let model = task.module as? WaveNet, let n = model.config.nSpeakers {
            guard corpus.speakers.count <= n else {
                throw TrainingError.recipe("the corpus has \(corpus.speakers.count) speakers but the model's n_speakers is \(n); raise model.config.n_speakers.")
            }
            if r.data.layout != .vctk { note("note: n_speakers is set but the \(r.data.layout.rawValue) layout has no speakers; every clip is speaker 0") }
        } else if corpus.speakers.count > 1 {
            note(task.module is WaveNet
                ? "note: the corpus has \(corpus.speakers.count) speakers but the model has no speaker conditioning; set model.config.n_speakers to \(corpus.speakers.count) and gin_channels (for example 16) to condition on them"
                : "note: the corpus has \(corpus.speakers.count) speakers; a \(task.family) has no speaker conditioning, so it learns them all as one voice")
        }
        note("\(task.family): \(task.module.parameterCount) parameters; run folder \(runFolder)")
        let trainer = try Trainer(task: task, recipe: r, runFolder: runFolder, train: train, validation: validation, lock: lock)
        if (task.module as? WaveNet)?.config.nSpeakers != nil { trainer.speakerNames = corpus.speakers }
        return TrainingRun(trainer: trainer, dataPath: dataPath, validationItems: validationItems)
    }

    /// A run folder must be a new one, an empty one or a run's: a run writes
    /// checkpoint.safetensors, validation.txt and event files, which must not land among
    /// other files.
    public static func checkRunFolder(_ folder: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) else {
            // The nearest folder that exists must be a folder, for the run folder to be made in it.
            var above = URL(fileURLWithPath: folder).standardizedFileURL.deletingLastPathComponent()
            while !FileManager.default.fileExists(atPath: above.path, isDirectory: &isDir) && above.path != "/" {
                above.deleteLastPathComponent()
            }
            if !isDir.boolValue {
                throw TrainingError.recipe("'\(above.path)' is a file, so the run folder '\(folder)' cannot be made in it; pass another folder to --out.")
            }
            return
        }
        guard isDir.boolValue else { throw TrainingError.recipe("'\(folder)' is a file; pass a folder for the run to --out.") }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let isRun = names.contains("checkpoint.safetensors") || names.contains { $0.hasPrefix("events.out.tfevents.") }
        if !names.filter({ !$0.hasPrefix(".") }).isEmpty && !isRun {
            throw TrainingError.recipe("'\(folder)' holds other files and no run; pass a new or empty folder to --out.")
        }
    }

    /// Makes the run folder (and the folders above it), or throws saying why it cannot be made.
    public static func makeRunFolder(_ folder: String) throws {
        try checkRunFolder(folder)
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            let reason = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError)
                .map { String(cString: strerror(Int32($0.code))) } ?? error.localizedDescription
            throw TrainingError.io("cannot make the run folder '\(folder)': \(reason); pass a folder you can write in to --out.")
        }
    }

    /// Writes the held-out clips' paths to the run folder's validation.txt, for evaluating the
    /// run on audio it never trained on. When the folder already lists other clips (a resumed
    /// run whose data or validation_fraction changed), `note` says so: clips that were held
    /// out may now be trained on, and scores on the list no longer measure unseen audio.
    public func writeValidationList(note: (String) -> Void = { _ in }) throws {
        let path = trainer.runFolder + "/validation.txt"
        let listed = validationItems.map(\.path)
        if let before = try? String(contentsOfFile: path, encoding: .utf8) {
            let old = Set(before.split(separator: "\n").map(String.init)), new = Set(listed)
            if old != new {
                let nowTrained = old.subtracting(new).count, added = new.subtracting(old).count
                note("note: the held-out clips differ from the run's validation.txt (\(nowTrained) no longer held out, \(added) newly held out: the data or data.validation_fraction changed); validation.txt now lists the new ones, and clips the model trained on may be among them")
            }
        }
        try (listed.joined(separator: "\n") + (listed.isEmpty ? "" : "\n")).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The seed of the run whose checkpoint is in `runFolder` (its recipe's training.seed,
    /// `--seed` included), so that resuming continues its batches exactly.
    public static func savedSeed(runFolder: String) -> UInt64? {
        guard let recipe = try? Safetensors.metadata(runFolder + "/checkpoint.safetensors")["wavekit.recipe"],
              let json = try? JSONSerialization.jsonObject(with: Data(recipe.utf8)) as? [String: Any],
              let training = json["training"] as? [String: Any], let seed = training["seed"] as? NSNumber else { return nil }
        return seed.uint64Value
    }

    /// A relative `data.path` is taken from the recipe's folder when it is there, else from the
    /// current folder (the bundled recipes name data/… from the repository's root); `~` expands.
    static func resolveDataPath(_ path: String, recipePath: String?) throws -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") {
            guard FileManager.default.fileExists(atPath: expanded) else {
                throw TrainingError.recipe("the data folder '\(expanded)' does not exist. \(dataHint(expanded))")
            }
            return expanded
        }
        if let recipePath {
            let absolute = recipePath.hasPrefix("/") ? recipePath : FileManager.default.currentDirectoryPath + "/" + recipePath
            let beside = (((absolute as NSString).deletingLastPathComponent as NSString).appendingPathComponent(expanded) as NSString).standardizingPath
            if FileManager.default.fileExists(atPath: beside) { return beside }
            guard FileManager.default.fileExists(atPath: expanded) else {
                throw TrainingError.recipe("the data folder '\(path)' is neither beside the recipe (\(beside)) nor in the current folder. \(dataHint(path))")
            }
            return expanded
        }
        guard FileManager.default.fileExists(atPath: expanded) else {
            throw TrainingError.recipe("the data folder '\(path)' is not in the current folder. \(dataHint(path))")
        }
        return expanded
    }

    /// How to make a corpus the bundled recipes name, or where the scripts are.
    static func dataHint(_ path: String) -> String {
        if path.contains("espeak-ljspeech") { return "Make it with Recipes/data/make_speech_corpus.sh (from the repository's root), or fix data.path." }
        if path.contains("sc09") { return "Make it with Recipes/data/make_digits_corpus.sh (from the repository's root), or fix data.path." }
        return "Fix data.path, or make a corpus (Recipes/data/ has scripts)."
    }
}

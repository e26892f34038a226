import AudioIO
import DSP
import Foundation
import Models
import NN
import TensorCore

/// The signal (SIGINT, SIGTERM or SIGHUP) that asked the run to stop; the loop checks it
/// between steps, saves a checkpoint and stops.
nonisolated(unsafe) private var stopSignal: sig_atomic_t = 0

/// Records the signal, says at once that the run is stopping, and restores the default
/// action so that the same signal again stops the process at once (the checkpoint on disk is
/// always a complete one). After SIGHUP (a closed terminal) standard error goes to /dev/null,
/// so later messages cannot fail. Only async-signal-safe calls.
private func requestStop(_ signalNumber: Int32) {
    stopSignal = signalNumber
    let message: StaticString = "\nstopping after this step; a checkpoint will be saved (signal again to stop at once, losing the steps since the last checkpoint)\n"
    _ = write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
    if signalNumber == SIGHUP {
        let null: StaticString = "/dev/null"
        let fd = open(UnsafeRawPointer(null.utf8Start).assumingMemoryBound(to: CChar.self), O_WRONLY)
        if fd >= 0 { dup2(fd, STDERR_FILENO); close(fd) }
    }
    signal(signalNumber, SIG_DFL)
}

/// The stop handlers, installed while at least one `Trainer.run` with `handlesInterrupt` runs
/// in the process (two trainers on two threads share them; the last to finish restores the
/// previous handlers). A signal the process ignores (SIGHUP under `nohup`) stays ignored.
/// SIGPIPE is ignored meanwhile: a progress line to a pipe whose reader has gone must not kill
/// a run that is about to save.
private enum StopHandlers {
    /// The signals that stop a run.
    static let stops = [SIGINT, SIGTERM, SIGHUP]
    static let mutex = NSLock()
    nonisolated(unsafe) static var users = 0
    nonisolated(unsafe) static var previous: [(Int32, __sighandler_t?)] = []

    static func install() {
        mutex.lock(); defer { mutex.unlock() }
        users += 1
        guard users == 1 else { return }
        stopSignal = 0
        previous = stops.map { s in
            let old = signal(s) { requestStop($0) }
            if unsafeBitCast(old, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { signal(s, SIG_IGN) }
            return (s, old)
        } + [(SIGPIPE, signal(SIGPIPE, SIG_IGN))]
    }

    static func uninstall() {
        mutex.lock(); defer { mutex.unlock() }
        users -= 1
        guard users == 0 else { return }
        for (s, handler) in previous { signal(s, handler) }
        previous = []
    }
}

/// One report per logged step, for a progress display.
public struct TrainingReport: Sendable {
    public let step: Int
    public let steps: Int
    public let loss: Float
    public let learningRate: Float
    public let stepsPerSecond: Double
    public let secondsLeft: Double
    public let validationLoss: Float?
}

/// The one training loop every model family uses: deterministic batches per step, optimizer
/// and schedule from the recipe, gradient clipping, weight EMA, validation, TensorBoard logs,
/// checkpoints on an interval and on Ctrl-C, SIGTERM or a closed terminal (written to a
/// temporary file, flushed to disk and renamed, so a kill at any moment leaves the last
/// complete checkpoint), a lock on the run folder while running, and exact resumption.
public final class Trainer {
    public let task: TrainingTask
    public let recipe: Recipe
    public let runFolder: String
    /// The corpus's speaker names in id order (VCTK folders), kept in every checkpoint so
    /// `--speaker p225` finds its id later.
    public var speakerNames: [String] = []
    public var checkpointPath: String { runFolder + "/checkpoint.safetensors" }
    let optimizer: any Optimizer
    let ema: ExponentialMovingAverage?
    let train: ClipLoader
    let validation: ClipLoader?
    public private(set) var step = 0
    /// Losses of every step run by this trainer (what the resume test compares).
    public private(set) var losses: [Float] = []
    /// The signal that stopped the last `run` early (SIGINT, SIGTERM or SIGHUP), if one did.
    public private(set) var stoppedBySignal: Int32?
    /// The step of the run folder's checkpoint when it is this trainer's (loaded by `resume()`
    /// or written by it); nil otherwise. A checkpoint that is not this trainer's is never
    /// overwritten.
    private var savedStep: Int?
    /// The run folder's lock, when `TrainingRun.prepare` took it (else `run` takes it).
    private let lock: RunFolderLock?

    /// `lock`: the run folder's lock, when the caller holds it (`TrainingRun.prepare` does).
    public init(task: TrainingTask, recipe: Recipe, runFolder: String, train: ClipLoader, validation: ClipLoader?,
                lock: RunFolderLock? = nil) throws {
        self.task = task; self.recipe = recipe; self.runFolder = runFolder
        self.train = train; self.validation = validation; self.lock = lock
        let o = recipe.optimizer
        let params = task.module.namedParameters()
        switch o.kind {
        case .adam:
            optimizer = Adam(params, learningRate: o.learningRate, betas: (o.betas[0], o.betas[1]), eps: o.eps,
                             weightDecay: o.weightDecay, amsgrad: o.amsgrad)
        case .adamw:
            optimizer = Adam.adamW(params, learningRate: o.learningRate, betas: (o.betas[0], o.betas[1]), eps: o.eps,
                                   weightDecay: o.weightDecay, amsgrad: o.amsgrad)
        case .sgd:
            optimizer = SGD(params, learningRate: o.learningRate, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay)
        }
        ema = o.ema.map { ExponentialMovingAverage(of: task.module, decay: $0) }
        try TrainingRun.makeRunFolder(runFolder)
        // Unless another process is training here (its temporary file is a checkpoint being written).
        if lock != nil {
            removeStaleTemporaries()
        } else if let probe = try? RunFolderLock(folder: runFolder, recordingProcess: false, patience: 0) {
            removeStaleTemporaries(); probe.release()
        }
    }

    /// A run killed while writing (kill -9, power loss) leaves its temporary checkpoint; the
    /// finished one was never touched, so the leftover is only clutter. Called with the run
    /// folder locked (another run's temporary file is its checkpoint being written).
    private func removeStaleTemporaries() {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: runFolder)) ?? []
        where name.hasPrefix(".checkpoint.safetensors.") && name.hasSuffix(".tmp") {
            try? FileManager.default.removeItem(atPath: runFolder + "/" + name)
        }
    }

    /// Continues from the run folder's checkpoint: model, optimizer state, EMA and step.
    /// Loads the run folder's checkpoint. A changed optimizer kind or EMA is refused (their saved
    /// state would be dropped); other changed optimizer and training settings are returned, as
    /// "section.key" names, for the caller to report: the run then continues from the checkpoint
    /// but no longer as the original recipe would have.
    @discardableResult
    public func resume() throws -> [String] {
        let file = try Safetensors.read(checkpointPath)
        guard file.metadata[Checkpoint.familyKey] == task.family else {
            throw TrainingError.recipe("'\(checkpointPath)' holds a \(file.metadata[Checkpoint.familyKey] ?? "unknown") model but the recipe trains a \(task.family); resume with the recipe it was trained with, or pass --out for a new run.")
        }
        // A changed model config would otherwise surface as every mismatched tensor.
        if let saved = file.metadata[Checkpoint.configKey], let changed = Self.changedKeys(saved, task.configJSON), !changed.isEmpty {
            throw TrainingError.recipe("the recipe's model differs from the checkpoint's in \(changed.joined(separator: ", ")); resume with the recipe it was trained with, or pass --out for a new run.")
        }
        let changed = try changedSettings(savedRecipe: file.metadata["wavekit.recipe"])
        try task.module.load(file.tensors.filter { !$0.key.hasPrefix("optimizer.") && !$0.key.hasPrefix("ema.") }, source: checkpointPath)
        try optimizer.load(Dictionary(uniqueKeysWithValues: file.tensors.filter { $0.key.hasPrefix("optimizer.") }
            .map { (String($0.key.dropFirst("optimizer.".count)), $0.value) }))
        step = Int(file.metadata["wavekit.step"] ?? "0") ?? 0
        if let ema {
            let saved = Dictionary(uniqueKeysWithValues: file.tensors.filter { $0.key.hasPrefix("ema.") }.map { (String($0.key.dropFirst(4)), $0.value) })
            ema.load(saved, updates: Int(file.metadata["wavekit.ema_updates"] ?? "0") ?? 0)
        }
        savedStep = step
        return changed
    }

    /// The optimizer and training settings the recipe changes from the checkpoint's (loop
    /// intervals and the step count excepted), refusing the ones that would drop saved state.
    func changedSettings(savedRecipe: String?) throws -> [String] {
        guard let savedRecipe, let now = try? ModelFamilies.sortedJSON(recipe),
              let old = try? JSONSerialization.jsonObject(with: Data(savedRecipe.utf8)) as? [String: Any],
              let new = try? JSONSerialization.jsonObject(with: Data(now.utf8)) as? [String: Any] else { return [] }
        var changed: [String] = []
        for name in ["optimizer", "training"] {
            let keys = Self.changedKeys(old[name] as? [String: Any] ?? [:], new[name] as? [String: Any] ?? [:])
            changed += keys.filter { !["steps", "checkpoint_every", "validate_every", "log_every"].contains($0) }
                .map { "\(name).\($0)" }
        }
        // Adam and AdamW keep the same state and SGD another; a new EMA decay keeps the
        // average, adding or removing one would not.
        let saved = old["optimizer"] as? [String: Any] ?? [:]
        if ((saved["kind"] as? String) == "sgd") != (recipe.optimizer.kind == .sgd) {
            throw Self.stateLost("optimizer.kind", "optimizer state")
        }
        if (saved["ema"] == nil) != (recipe.optimizer.ema == nil) {
            throw Self.stateLost("optimizer.ema", "weight average")
        }
        return changed
    }

    private static func stateLost(_ key: String, _ state: String) -> TrainingError {
        .recipe("the recipe changes \(key) from the checkpoint's, which would drop its saved \(state); resume with the recipe it was trained with, or pass --out for a new run.")
    }

    /// The top-level keys whose values differ between two JSON objects (nil if either is not one).
    static func changedKeys(_ a: String, _ b: String?) -> [String]? {
        guard let b, let x = try? JSONSerialization.jsonObject(with: Data(a.utf8)) as? [String: Any],
              let y = try? JSONSerialization.jsonObject(with: Data(b.utf8)) as? [String: Any] else { return nil }
        return changedKeys(x, y)
    }

    /// The keys whose values differ between two JSON objects.
    static func changedKeys(_ x: [String: Any], _ y: [String: Any]) -> [String] {
        func canonical(_ v: Any?) -> Data? { v.flatMap { try? JSONSerialization.data(withJSONObject: [$0], options: [.sortedKeys]) } }
        return Set(x.keys).union(y.keys).sorted().filter { canonical(x[$0]) != canonical(y[$0]) }
    }

    /// Runs until `maxSteps` (default: the recipe's steps), Ctrl-C, SIGTERM or SIGHUP (when
    /// `handlesInterrupt`: handlers are installed for the run's duration; `stoppedBySignal`
    /// says which) or `shouldStop()` returning true, checked between steps; either way a
    /// checkpoint is saved. Returns true when stopped early by a signal or `shouldStop`.
    /// Throws, keeping the steps made in the checkpoint, when the loss or the gradients stop
    /// being finite (the weights are left as they were before that step), and when another
    /// process is training in the same run folder.
    @discardableResult
    public func run(maxSteps: Int? = nil, log: TensorBoardWriter? = nil, handlesInterrupt: Bool = true,
                    shouldStop: () -> Bool = { false },
                    report: (TrainingReport) -> Void = { _ in }) throws -> Bool {
        let t = recipe.training
        let last = Swift.min(maxSteps ?? t.steps, t.steps)
        let runLock = try RunFolderLock(folder: runFolder)      // shared with prepare's, when it holds one
        defer { runLock.release() }
        try refuseForeignCheckpoint()
        stoppedBySignal = nil
        if handlesInterrupt { StopHandlers.install() }
        defer { if handlesInterrupt { StopHandlers.uninstall() } }
        // A parent may have started this process with the signals blocked (Foundation's
        // Process does): unblock them on this thread while the handlers are in place.
        var unblocked = sigset_t(), previousMask = sigset_t()
        sigemptyset(&unblocked)
        for s in StopHandlers.stops { sigaddset(&unblocked, s) }
        if handlesInterrupt { pthread_sigmask(SIG_UNBLOCK, &unblocked, &previousMask) }
        defer { if handlesInterrupt { pthread_sigmask(SIG_SETMASK, &previousMask, nil) } }
        let prefetcher = BatchPrefetcher(startStep: step) { [train] s in
            try train.batch(step: s, seed: t.seed, batchSize: t.batchSize, cropSamples: t.cropSamples)
        }
        defer { prefetcher.stop() }
        let start = Date()
        let firstStep = step
        var interrupted = false
        // Before an error: keep the steps made since the last checkpoint.
        func keepSteps() throws { if step > (savedStep ?? 0) { try saveCheckpoint() } }
        // A clip that fails to load mid-run (its header read fine at the start): keep the
        // steps made since the last checkpoint, and say how to go on.
        func loading<T>(_ body: () throws -> T) throws -> T {
            do { return try body() } catch {
                try keepSteps()
                throw TrainingError.data("\(error) (at step \(step + 1); \(whereToGoOn()): fix or remove the file, then \(howToGoOn()))")
            }
        }
        // A stop already requested runs no step (and saves nothing new).
        while step < last && !shouldStop() {
            let batch = try loading { try prefetcher.batch(for: step) }
            optimizer.learningRate = recipe.optimizer.schedule.rate(at: step, base: recipe.optimizer.learningRate)
            let loss = task.loss(batch)
            guard loss.item.isFinite else {
                try keepSteps()
                throw TrainingError.data("the loss became \(Self.describe(loss.item)) at step \(step + 1); lower optimizer.learning_rate or set clip_grad_norm (\(whereToGoOn()); \(howToGoOn()) with the change).")
            }
            task.module.computeGradients(of: loss)
            // A non-finite gradient with a finite loss would make every weight NaN (clipping
            // included: it scales by max / inf). Stop before the update instead.
            let parameters = task.module.trainableParameters
            let norm = gradientNorm(parameters)
            guard norm.isFinite else {
                try keepSteps()
                throw TrainingError.data("the gradients became \(Self.describe(norm)) at step \(step + 1) (loss \(loss.item)); lower optimizer.learning_rate or set clip_grad_norm (\(whereToGoOn()); \(howToGoOn()) with the change).")
            }
            if let clip = recipe.optimizer.clipGradNorm { clipGradientNorm(parameters, maxNorm: clip, norm: norm) }
            optimizer.step()
            ema?.update(from: task.module)
            step += 1
            losses.append(loss.item)
            var validationLoss: Float?
            if step % t.validateEvery == 0 || step == last { validationLoss = try loading { try validate() } }
            if step % t.logEvery == 0 || step == last || validationLoss != nil {
                let elapsed = Date().timeIntervalSince(start)
                let rate = Double(step - firstStep) / Swift.max(elapsed, 1e-9)
                report(TrainingReport(step: step, steps: last, loss: loss.item, learningRate: optimizer.learningRate,
                                      stepsPerSecond: rate, secondsLeft: Double(last - step) / Swift.max(rate, 1e-9),
                                      validationLoss: validationLoss))
                try log?.scalar("loss/train", loss.item, step: step)
                try log?.scalar("learning_rate", optimizer.learningRate, step: step)
                if let validationLoss { try log?.scalar("loss/validation", validationLoss, step: step) }
            }
            if let validationLoss = validationLoss, let log, let preview = task.preview, let v = validation {
                _ = validationLoss
                try loading { try logPreview(preview, loader: v, log: log) }
            }
            let signalled = handlesInterrupt && stopSignal != 0
            if step < last && (signalled || shouldStop()) {
                if signalled { stoppedBySignal = Int32(stopSignal) }
                interrupted = true; try saveCheckpoint(); break
            }
            if step % t.checkpointEvery == 0 || step == last { try saveCheckpoint() }
        }
        log?.flush()
        return interrupted
    }

    /// Mean loss over a few fixed validation batches, without gradients.
    public func validate() throws -> Float? {
        guard let validation else { return nil }
        let t = recipe.training
        return try withoutGradient {
            var total: Float = 0
            for i in 0..<2 {
                total += task.loss(try validation.batch(step: i, seed: t.seed ^ 0x5EED, batchSize: t.batchSize, cropSamples: t.cropSamples)).item
            }
            return total / 2
        }
    }

    private func logPreview(_ preview: (Batch) -> ([Float], Int), loader: ClipLoader, log: TensorBoardWriter) throws {
        let batch = try loader.batch(step: 0, seed: recipe.training.seed ^ 0x5EED, batchSize: 1, cropSamples: recipe.training.cropSamples)
        let (samples, rate) = withoutGradient { preview(batch) }
        guard !samples.isEmpty else { return }
        let wavPath = runFolder + "/.preview.wav"
        try SoundFile.write(Audio(mono: samples.map { Swift.min(Swift.max($0, -1), 1) }, sampleRate: rate), to: wavPath)
        try log.audio("sample", wav: try Data(contentsOf: URL(fileURLWithPath: wavPath)), sampleRate: rate, frames: samples.count, step: step)
        if let preset = task.melPreset.flatMap({ try? MelPreset.named($0) }), let mel = try? MelSpectrogram(preset: preset) {
            let (values, range) = preset.displayValues(mel(samples))
            let image = SpectrogramImage.render(values, dynamicRange: range, rowHeight: 2)
            try log.image("sample_mel", png: try image.encoded(), width: image.width, height: image.height, step: step)
        }
        try? FileManager.default.removeItem(atPath: wavPath)
    }

    /// Throws when the run folder holds a checkpoint this trainer did not load or write.
    private func refuseForeignCheckpoint() throws {
        if savedStep == nil && FileManager.default.fileExists(atPath: checkpointPath) {
            throw TrainingError.recipe("'\(checkpointPath)' holds a checkpoint this trainer did not load; resume it (resume(), or --resume) or train in another run folder.")
        }
    }

    /// The step of this trainer's checkpoint when it is on disk (nil: nothing to resume).
    private var resumableStep: Int? {
        savedStep.flatMap { FileManager.default.fileExists(atPath: checkpointPath) ? $0 : nil }
    }

    /// A non-finite value as a user reads it ("NaN", not "-nan").
    static func describe(_ x: Float) -> String { x.isNaN ? "NaN" : "\(x)" }

    /// Where the run stands for an error message: its checkpoint's step, or that none exists.
    private func whereToGoOn() -> String {
        resumableStep.map { "checkpoint at step \($0) in \(checkpointPath)" } ?? "no checkpoint was saved yet"
    }

    /// How to go on after an error: resume the checkpoint, or start again.
    private func howToGoOn() -> String {
        resumableStep != nil
            ? "train again with --resume" : "train again (from the start: there is nothing to resume)"
    }

    /// The first parameter or weight average holding a NaN or infinity, by name.
    func nonFiniteWeight() -> String? {
        func bad(_ t: Tensor) -> Bool { !t.scalars.allSatisfy(\.isFinite) }
        if let p = task.module.namedParameters().first(where: { bad($0.parameter.value) }) { return p.key }
        if let ema, let e = ema.shadow.first(where: { bad($0.value) }) { return "ema." + e.key }
        return nil
    }

    /// Model, optimizer state (under "optimizer."), EMA weights (under "ema.") and the step,
    /// atomically. Throws, writing nothing, when a weight is not finite (the checkpoint on disk
    /// is then the last good one) or when the run folder holds a checkpoint this trainer did
    /// not load (call `resume()` first).
    public func saveCheckpoint() throws {
        try refuseForeignCheckpoint()
        if let name = nonFiniteWeight() {
            throw TrainingError.data("the weight '\(name)' is not finite at step \(step); the checkpoint was not written (\(whereToGoOn())). Lower optimizer.learning_rate or set clip_grad_norm.")
        }
        var tensors = task.module.stateDict()
        for (k, v) in optimizer.stateDict() { tensors["optimizer." + k] = v }
        if let ema { for (k, v) in ema.shadow { tensors["ema." + k] = v } }
        let recipeJSON = (try? ModelFamilies.sortedJSON(recipe)) ?? ""
        var metadata = [Checkpoint.familyKey: task.family, Checkpoint.configKey: task.configJSON,
                        "wavekit.step": "\(step)", "wavekit.recipe": recipeJSON, "format": "pt",
                        "wavekit.sample_rate": "\(recipe.data.sampleRate)"]
        if let preset = task.melPreset { metadata["wavekit.mel_preset"] = preset }
        if let ema { metadata["wavekit.ema_updates"] = "\(ema.updates)" }
        if !speakerNames.isEmpty { metadata[Checkpoint.speakersKey] = Checkpoint.speakersValue(speakerNames) }
        try Safetensors.write(Safetensors.File(tensors: tensors, metadata: metadata), to: checkpointPath)
        savedStep = step
    }
}

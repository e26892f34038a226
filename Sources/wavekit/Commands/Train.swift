import ArgumentParser
import Foundation
import TensorCore
import Training

/// `wavekit train`: the one way to train a model.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model from a recipe (YAML or JSON).",
        discussion: """
        The recipe names the data, the model family and configuration, the optimizer and the \
        loop settings (Recipes/ has one per model; unknown keys are rejected by name). The run \
        folder receives checkpoint.safetensors (on an interval, at the end, and on Ctrl-C, \
        SIGTERM or a closed terminal: the same signal again stops at once), \
        validation.txt (the held-out clips, for evaluation) and \
        TensorBoard logs: `tensorboard --logdir RUN`. --resume continues a run exactly where \
        its checkpoint left off (with the run's seed, unless --seed is given). One run at a \
        time per folder: a second is refused while the first runs.
        """)

    @Argument(help: "The recipe (.yaml, .yml or .json).") var recipe: String
    @Option(help: "Run folder (default: runs/NAME, NAME being the recipe's `name` key).") var out: String?
    @Flag(help: "Continue from the run folder's checkpoint.") var resume = false
    @Option(parsing: .unconditional, help: "Stop after this step (default: the recipe's steps).") var maxSteps: Int?
    @Option(parsing: .unconditional, help: "Seed for initialisation and batches (default: the recipe's; with --resume, the run's).",
            transform: CommonOptions.seed) var seed: UInt64?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1, got \(maxSteps).") }
    }

    func run() throws {
        try reportingErrors {
            common.apply()
            if let warning = BLAS.forcedCoreWarning { common.note("note: " + warning) }
            var r = try Recipe.load(recipe)
            if let seed { r.training.seed = seed }
            let folder = try out ?? r.defaultRunFolder()
            if resume && !FileManager.default.fileExists(atPath: folder + "/checkpoint.safetensors") {
                throw TrainingError.recipe("'\(folder)' holds no checkpoint to resume; drop --resume to start the run there.")
            }
            // Resuming continues the run's batches: its own seed (a --seed it was started with
            // included), not the recipe's, unless --seed says otherwise.
            if resume, seed == nil, let saved = TrainingRun.savedSeed(runFolder: folder), saved != r.training.seed {
                common.note("note: continuing with the run's seed \(saved) (the recipe says \(r.training.seed)); --seed sets another")
                r.training.seed = saved
            }
            try TrainingRun.checkRunFolder(folder)
            if let maxSteps, maxSteps > r.training.steps {
                common.note("note: --max-steps \(maxSteps) is beyond the recipe's \(r.training.steps) steps; the run ends at \(r.training.steps) (raise training.steps to go further)")
            }
            let prepared = try TrainingRun.prepare(r, recipePath: recipe, runFolder: folder, resuming: resume, note: common.note)
            let trainer = prepared.trainer
            if resume {
                let changed = try trainer.resume()
                common.note("resumed at step \(trainer.step)")
                let last = Swift.min(maxSteps ?? r.training.steps, r.training.steps)
                if trainer.step >= last {
                    let raise = last == r.training.steps ? "training.steps in the recipe" : "--max-steps"
                    common.note("note: the run is already at step \(trainer.step), at or past step \(last); nothing to do (raise \(raise) to go on)")
                    return
                }
                if !changed.isEmpty {
                    common.note("note: the recipe changes \(changed.joined(separator: ", ")) from the checkpoint's; the run continues from the checkpoint, but not exactly as the original recipe would have")
                }
            }
            try prepared.writeValidationList(note: common.note)
            let log = try TensorBoardWriter(folder: folder)
            let isTerminal = isatty(STDERR_FILENO) != 0
            var lineOpen = false        // a self-updating line not yet ended
            let interrupted = try trainer.run(maxSteps: maxSteps, log: log) { rep in
                guard !common.quiet else { return }
                var line = String(format: "step %d/%d  loss %.4f  lr %.2e  %.2f steps/s  %@ left", rep.step, rep.steps, rep.loss,
                                  rep.learningRate, rep.stepsPerSecond, Self.duration(rep.secondsLeft))
                if let v = rep.validationLoss { line += String(format: "  validation %.4f", v) }
                writeStandardError(isTerminal ? "\r\u{1B}[K" + line + (rep.validationLoss != nil ? "\n" : "") : line + "\n")
                lineOpen = isTerminal && rep.validationLoss == nil
            }
            if lineOpen { writeStandardError("\n") }
            if interrupted {
                let signalNumber = trainer.stoppedBySignal ?? SIGINT
                common.note("stopped by \(Self.signalName(signalNumber)) at step \(trainer.step); checkpoint saved to \(trainer.checkpointPath) (continue with --resume)")
                throw ExitCode(128 + signalNumber)      // as a shell reports the signal, so scripts can tell
            }
            common.note("finished at step \(trainer.step); checkpoint: \(trainer.checkpointPath)")
        }
    }

    static func signalName(_ s: Int32) -> String {
        switch s { case SIGTERM: "SIGTERM"; case SIGHUP: "SIGHUP (the terminal closed)"; default: "Ctrl-C" }
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s)
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t / 60 % 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}

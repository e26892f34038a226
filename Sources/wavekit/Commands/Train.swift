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
        folder receives checkpoint.safetensors (on an interval, at the end and on Ctrl-C), \
        validation.txt (the held-out clips, for evaluation) and \
        TensorBoard logs: `tensorboard --logdir RUN`. --resume continues a run exactly where \
        its checkpoint left off.
        """)

    @Argument(help: "The recipe (.yaml, .yml or .json).") var recipe: String
    @Option(help: "Run folder (default: runs/<recipe name>).") var out: String?
    @Flag(help: "Continue from the run folder's checkpoint.") var resume = false
    @Option(parsing: .unconditional, help: "Stop after this step (default: the recipe's steps).") var maxSteps: Int?
    @Option(parsing: .unconditional, help: "Seed for initialisation and batches (default: the recipe's).") var seed: UInt64?
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
            try prepared.writeValidationList()
            let log = try TensorBoardWriter(folder: folder)
            let isTerminal = isatty(STDERR_FILENO) != 0
            var lineOpen = false        // a self-updating line not yet ended
            let interrupted = try trainer.run(maxSteps: maxSteps, log: log) { rep in
                guard !common.quiet else { return }
                var line = String(format: "step %d/%d  loss %.4f  lr %.2e  %.2f steps/s  %@ left", rep.step, rep.steps, rep.loss,
                                  rep.learningRate, rep.stepsPerSecond, Self.duration(rep.secondsLeft))
                if let v = rep.validationLoss { line += String(format: "  validation %.4f", v) }
                FileHandle.standardError.write(Data((isTerminal ? "\r\u{1B}[K" + line + (rep.validationLoss != nil ? "\n" : "") : line + "\n").utf8))
                lineOpen = isTerminal && rep.validationLoss == nil
            }
            if lineOpen { FileHandle.standardError.write(Data("\n".utf8)) }
            if interrupted {
                common.note("interrupted at step \(trainer.step); checkpoint saved to \(trainer.checkpointPath) (continue with --resume)")
                throw ExitCode(130)      // as a shell reports SIGINT, so scripts can tell
            }
            common.note("finished at step \(trainer.step); checkpoint: \(trainer.checkpointPath)")
        }
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s)
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t / 60 % 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}

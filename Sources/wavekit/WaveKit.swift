import ArgumentParser
import Foundation

/// The `wavekit` command: thin subcommands over the WaveKit libraries.
@main
struct WaveKit: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "wavekit",
        abstract: "Generative audio on Linux: features, vocoders and generative models on one fast tensor core.",
        discussion: """
        WaveKit reads and writes audio, computes librosa-compatible spectral features and trains \
        and runs generative audio models on its own tensor core (OpenBLAS underneath, \
        reverse-mode autograd on top). Model families so far: WaveNet (r9y9/wavenet_vocoder \
        compatible) and WaveGlow (NVIDIA/waveglow compatible).

        Start with `wavekit info FILE`, `wavekit mel IN -o OUT.npy --png OUT.png` and \
        `wavekit vocode MEL.npy -o OUT.wav` (Griffin-Lim, or --checkpoint for a trained \
        vocoder); train with `wavekit train Recipes/…yaml`. `wavekit bench` measures the \
        kernels; tools/bench/run.sh runs them beside PyTorch and librosa.
        """,
        version: version,
        subcommands: [Info.self, Mel.self, Vocode.self, Train.self, Generate.self, Score.self, Export.self, Bench.self])

    /// As ArgumentParser's `main`, except that `wavekit help NAME …` with a name that is not a
    /// subcommand is a usage error (ArgumentParser prints the nearest help and exits 0, so a
    /// typo looked like success to scripts).
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "help", let unknown = unknownHelpTopic(Array(arguments.dropFirst())) {
            writeStandardError(unknown + "\n")
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        main(nil)
    }

    /// The error for `wavekit help PATH…` when PATH names no command (nil when it does).
    static func unknownHelpTopic(_ path: [String]) -> String? {
        var command: ParsableCommand.Type = WaveKit.self
        var named = ["wavekit"]
        for name in path where !name.hasPrefix("-") {
            if named.count == 1 && name == "help" { return nil }       // ArgumentParser's own `help help`
            let children = command.configuration.subcommands
            guard let next = children.first(where: { $0._commandName == name || $0.configuration.aliases.contains(name) }) else {
                let parent = named.joined(separator: " ")
                let help = (["wavekit", "help"] + named.dropFirst()).joined(separator: " ")
                let known = children.map { $0._commandName }
                return known.isEmpty
                    ? "Error: '\(parent)' has no subcommands, so there is no help for '\(name)'. See '\(help)'."
                    : "Error: '\(parent)' has no subcommand '\(name)'; its subcommands are \(known.joined(separator: ", ")). See '\(help)'."
            }
            command = next; named.append(name)
        }
        return nil
    }
}

import ArgumentParser

/// The `wavekit` command: thin subcommands over the WaveKit libraries.
@main
struct WaveKit: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "wavekit",
        abstract: "Generative audio on Linux: features, vocoders and codecs on one fast tensor core.",
        discussion: """
        WaveKit reads and writes audio, computes librosa-compatible spectral features and runs \
        WaveNet, WaveGlow, WaveGAN and VQ-VAE models on its own tensor core (OpenBLAS \
        underneath, reverse-mode autograd on top).

        Available now: `wavekit bench core` measures the tensor core against PyTorch's numbers \
        (tools/bench/run.sh runs both side by side).
        """,
        version: version,
        subcommands: [Bench.self])
}

import ArgumentParser

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
}

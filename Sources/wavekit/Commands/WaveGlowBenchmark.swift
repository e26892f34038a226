import ArgumentParser
import Foundation
import Models
import TensorCore

extension Bench {
    /// `wavekit bench waveglow`: inference of NVIDIA's 256-channel configuration (random weights).
    struct WaveGlowSpeed: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "waveglow",
            abstract: "WaveGlow benchmark: inference (σ = 0.6) of the nvidia preset, batch 1.",
            discussion: """
            Weights are random (the cost does not depend on them). Run \
            tools/bench/waveglow_torch_bench.py with the same --seconds and --threads beside it; \
            the real-time factor is audio seconds per wall second (> 1 is faster than real time).
            """)

        @Option(parsing: .unconditional, help: "Seconds of 22 050 Hz audio per inference.")
        var seconds: Double = 1
        @Option(parsing: .unconditional, help: "Threads for WaveKit's kernels and OpenBLAS.")
        var threads: Int = 1
        @Option(parsing: .unconditional, help: "Timed runs after one warm-up; the median is reported.")
        var repeats: Int = 3
        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads).") }
            if repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats).") }
            if !(seconds > 0 && seconds <= 600) { throw ValidationError("--seconds must be in (0, 600], got \(seconds).") }
        }

        func run() throws {
            Threading.setThreads(threads)
            Bench.noteForcedCore()
            var g = RandomGenerator(seed: 0)
            let model = try WaveGlow(config: .nvidia, using: &g)
            let frames = Swift.max(1, Int((seconds * 22050 / 256).rounded()))
            let mel = Tensor.randomNormal([1, 80, frames], std: 1, using: &g)
            let timing = BenchTimer.measure(repeats: repeats) {
                _ = model.infer(mel: mel, sigma: 0.6, using: &g)
            }
            let audioSeconds = Double(frames * 256) / 22050
            let result = BenchResult(name: "waveglow nvidia-256 infer \(seconds) s", medianMs: timing.median, minMs: timing.min,
                                     gflops: nil, gbps: nil, samplesPerSecond: Double(frames * 256) / (timing.median / 1000))
            if !json {
                writeStandardError(String(format: "real-time factor %.3f\n", audioSeconds / (timing.median / 1000)))
            }
            try BenchOutput.print([result], threads: threads, repeats: repeats, json: json)
        }
    }
}

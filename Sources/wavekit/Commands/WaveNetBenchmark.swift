import ArgumentParser
import Foundation
import Models
import NN
import TensorCore

extension Bench {
    /// `wavekit bench wavenet`: cached generation and a training step of the `small` preset.
    struct WaveNetSpeed: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "wavenet",
            abstract: "WaveNet benchmark: cached generation (1 and 8 utterances) and a training step.",
            discussion: "tools/bench/run.sh --suite wavenet runs this beside tools/bench/wavenet_torch_bench.py and prints the ratios, and the 8-to-1-utterance throughput ratio. With --threads N the 8 utterances are split over N cores.")

        @Option(help: "Seconds of 22 050 Hz audio to generate per utterance.")
        var seconds: Double = 1
        @Option(help: "Threads for WaveKit's kernels and OpenBLAS.")
        var threads: Int = 1
        @Option(help: "Timed runs of the training step; the median is reported.")
        var repeats: Int = 5
        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func run() throws {
            Threading.setThreads(threads)
            var g = RandomGenerator(seed: 0)
            let model = try WaveNet(config: .small, using: &g)
            let samples = Int(seconds * 22050)
            let frames = samples / 256 + 1
            var results: [BenchResult] = []
            for batch in [1, 8] {
                let gen = WaveNetGenerator(model: model, batch: batch)
                let mel = Tensor.randomNormal([batch, 80, frames], std: 0.5, using: &g)
                _ = gen.generate(samples: Swift.min(2000, samples), mel: mel, speakers: nil, seed: 1, threads: threads)   // warm-up
                let start = DispatchTime.now().uptimeNanoseconds
                _ = gen.generate(samples: samples, mel: mel, speakers: nil, seed: 1, threads: threads)
                let secondsTaken = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                let rate = Double(samples * batch) / secondsTaken
                results.append(BenchResult(name: "wavenet small generate \(batch) utt", medianMs: secondsTaken * 1000 / seconds,
                                           minMs: secondsTaken * 1000 / seconds, gflops: nil, gbps: nil, samplesPerSecond: rate))
            }
            let audio = Tensor.randomUniform([8, 7936], low: -0.5, high: 0.5, using: &g)
            let mel = Tensor.randomNormal([8, 80, 31], std: 0.5, using: &g)
            let opt = Adam(model.namedParameters(), learningRate: 1e-4)
            let timing = BenchTimer.measure(repeats: repeats) {
                let loss = model.negativeLogLikelihood(audio: audio, mel: mel)
                model.computeGradients(of: loss)
                opt.step()
            }
            results.append(BenchResult(name: "wavenet small train step B8x7936", medianMs: timing.median, minMs: timing.min,
                                       gflops: nil, gbps: nil, samplesPerSecond: nil))
            try BenchOutput.print(results, threads: threads, repeats: repeats, json: json)
        }
    }
}

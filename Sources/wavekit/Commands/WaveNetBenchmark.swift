import ArgumentParser
import CKernels
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

        @Option(parsing: .unconditional, help: "Seconds of 22 050 Hz audio to generate per utterance.")
        var seconds: Double = 1
        @Option(parsing: .unconditional, help: "Threads for WaveKit's kernels and OpenBLAS.")
        var threads: Int = 1
        @Option(parsing: .unconditional, help: "Timed runs of each generation case and of the training step; medians are reported.")
        var repeats: Int = 5
        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads).") }
            if repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats).") }
            if !(seconds * 22050 >= 1 && seconds <= 60) { throw ValidationError("--seconds must be more than 0 (at least one sample) and at most 60, got \(seconds).") }
        }

        func run() throws {
            Threading.setThreads(threads)
            Bench.noteForcedCore()
            var g = RandomGenerator(seed: 0)
            let model = try WaveNet(config: .small, using: &g)
            let samples = Int(seconds * 22050)
            let frames = samples / 256 + 1
            // 1 and 8 utterances timed alternately, `repeats` times each, so that both medians
            // see the same share of this machine's noise.
            let batches = [1, 8]
            let gens = batches.map { WaveNetGenerator(model: model, batch: $0) }
            let mels = batches.map { Tensor.randomNormal([$0, 80, frames], std: 0.5, using: &g) }
            for (gen, mel) in zip(gens, mels) {
                _ = gen.generate(samples: Swift.min(2000, samples), mel: mel, speakers: nil, seed: 1, threads: threads)   // warm-up
            }
            var times = [[Double]](repeating: [], count: batches.count)
            for _ in 0..<Swift.max(repeats, 1) {
                for i in batches.indices {
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = gens[i].generate(samples: samples, mel: mels[i], speakers: nil, seed: 1, threads: threads)
                    times[i].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                }
            }
            var results: [BenchResult] = []
            for (i, batch) in batches.enumerated() {
                let median = BenchTimer.median(times[i])
                let rate = Double(samples * batch) / median
                results.append(BenchResult(name: "wavenet small generate \(batch) utt", medianMs: median * 1000 / seconds,
                                           minMs: times[i].min()! * 1000 / seconds, gflops: 2 * Self.multiplyAdds(model.config) * rate / 1e9,
                                           gbps: nil, samplesPerSecond: rate))
            }
            for batch in [1, 8] { results.append(Self.dilatedConvolutionKernel(batch: batch, using: &g)) }
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

        /// Multiply-adds per generated sample per utterance: every layer's dilated convolution,
        /// residual and skip products, the first convolution and the head (the GFLOP/s column of
        /// the generate rows is 2 × this × samples/s). The conditioning is not counted: the
        /// generator projects the mel at frame rate and mixes about 3 projected frames per layer
        /// and sample (3 · 128 multiply-adds, 1% of a layer's work).
        static func multiplyAdds(_ c: WaveNetConfig) -> Double {
            let (r, g, s, h) = (c.residualChannels, c.gateChannels, c.skipOutChannels, c.gateChannels / 2)
            let layer = c.kernelSize * r * g + h * r + h * s
            return Double(c.layers * layer + r + s * s + s * c.outChannels)
        }

        /// The generator's panel kernel alone on the `small` dilated convolution (3 taps × 64
        /// inputs → 128 outputs) of 20 layers whose weights (1.97 MB) do not fit in L2, as in
        /// generation: GFLOP/s for `batch` utterances.
        static func dilatedConvolutionKernel(batch: Int, using g: inout RandomGenerator) -> BenchResult {
            let (layers, taps, r, m) = (20, 3, 64, 128)
            let panels = (0..<layers).map { _ -> [Float] in
                let w = Tensor.randomNormal([taps * r, m], using: &g).scalars
                var p = [Float](repeating: 0, count: taps * r * m)
                wk_panel_pack(taps * r, m, w, &p)
                return p
            }
            let x = Tensor.randomNormal([taps, batch, r], using: &g).scalars
            var y = [Float](repeating: 0, count: batch * m)
            let steps = 40_000 / batch
            let timing = BenchTimer.measure(repeats: 5) {
                x.withUnsafeBufferPointer { xb in
                    let sources: [UnsafePointer<Float>?] = (0..<taps).map { xb.baseAddress! + $0 * batch * r }
                    for _ in 0..<steps {
                        for p in panels { wk_panel_gemm(batch, taps, r, m, sources, r, p, nil, &y, m, 0) }
                    }
                }
            }
            let flops = 2.0 * Double(steps * layers * batch * taps * r * m)
            return BenchResult(name: "panel kernel, dilated conv \(batch) utt x 20 layers", medianMs: timing.median, minMs: timing.min,
                               gflops: flops / (timing.median / 1000) / 1e9, gbps: nil)
        }
    }
}

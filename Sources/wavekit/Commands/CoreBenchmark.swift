import ArgumentParser
import Foundation
import TensorCore

/// One case of tools/bench/cases.json (the schema torch_bench.py reads too).
struct BenchCase: Decodable {
    let name: String
    let kind: String
    var m: Int?, k: Int?, n: Int?
    var batch: Int?
    var inChannels: Int?, outChannels: Int?, kernel: Int?
    var dilations: [Int]?, dilation: Int?
    var length: Int?, padding: String?
    var elements: Int?

    enum CodingKeys: String, CodingKey {
        case name, kind, m, k, n, batch, kernel, dilations, dilation, length, padding, elements
        case inChannels = "in_channels", outChannels = "out_channels"
    }
}

struct BenchCases: Decodable { let cases: [BenchCase] }

struct BenchResult: Encodable {
    let name: String
    let medianMs: Double
    let minMs: Double
    let gflops: Double?
    let gbps: Double?
    var samplesPerSecond: Double? = nil
    enum CodingKeys: String, CodingKey {
        case name, gflops, gbps
        case medianMs = "median_ms", minMs = "min_ms", samplesPerSecond = "samples_per_s"
    }
}

struct BenchReport: Encodable {
    let impl: String
    let version: String
    let threads: Int
    let results: [BenchResult]
}

/// Builds each case's inputs once, then times one warm-up plus `repeats` runs.
enum CoreBenchmark {
    static func run(_ c: BenchCase, repeats: Int) throws -> BenchResult {
        var rng = RandomGenerator(seed: 0)
        func need(_ v: Int?, _ key: String) throws -> Int {
            guard let v, v > 0 else { throw ValidationError("Case '\(c.name)' needs a positive '\(key)'.") }
            return v
        }
        let body: () -> Void
        var flop: Double?
        var bytes: Double?
        switch c.kind {
        case "matmul":
            let (m, k, n) = (try need(c.m, "m"), try need(c.k, "k"), try need(c.n, "n"))
            let a = Tensor.randomNormal([m, k], using: &rng), b = Tensor.randomNormal([k, n], using: &rng)
            body = { _ = a.matmul(b) }
            flop = 2 * Double(m * n * k)
        case "conv1d_stack":
            let (bs, ci, co, kk, t) = (try need(c.batch, "batch"), try need(c.inChannels, "in_channels"),
                                      try need(c.outChannels, "out_channels"), try need(c.kernel, "kernel"),
                                      try need(c.length, "length"))
            let dilations = c.dilations ?? [1]
            let x = Tensor.randomNormal([bs, ci, t], using: &rng)
            let weights = dilations.map { _ in Tensor.randomNormal([co, ci, kk], std: 0.05, using: &rng) }
            let biases = dilations.map { _ in Tensor.randomNormal([co], using: &rng) }
            let padding = try Self.padding(c)
            body = {
                for (i, d) in dilations.enumerated() {
                    _ = x.conv1d(weights[i], bias: biases[i], padding: padding, dilation: d)
                }
            }
            flop = Double(dilations.count) * 2 * Double(bs * co * ci * kk * t)
        case "conv1d_train":
            let (bs, ci, co, kk, t) = (try need(c.batch, "batch"), try need(c.inChannels, "in_channels"),
                                      try need(c.outChannels, "out_channels"), try need(c.kernel, "kernel"),
                                      try need(c.length, "length"))
            let d = c.dilation ?? 1
            let x = Tensor.randomNormal([bs, ci, t], using: &rng).requiringGradient()
            let w = Tensor.randomNormal([co, ci, kk], std: 0.05, using: &rng).requiringGradient()
            let b = Tensor.randomNormal([co], using: &rng).requiringGradient()
            let g = Tensor.randomNormal([bs, co, t], using: &rng)
            let padding = try Self.padding(c)
            body = {
                let y = x.conv1d(w, bias: b, padding: padding, dilation: d)
                _ = gradients(of: y, wrt: [x, w, b], seed: g)
            }
            flop = 3 * 2 * Double(bs * co * ci * kk * t)
        case "gated":
            let n = try need(c.elements, "elements")
            let a = Tensor.randomNormal([n], using: &rng), b = Tensor.randomNormal([n], using: &rng)
            body = { _ = withoutGradient { a.gatedTanh(sigmoidGate: b) } }
            bytes = 3 * 4 * Double(n)
        default:
            throw ValidationError("Case '\(c.name)' has unknown kind '\(c.kind)'; expected matmul, conv1d_stack, conv1d_train or gated.")
        }
        let (median, minimum) = BenchTimer.measure(repeats: repeats, body)
        return BenchResult(name: c.name, medianMs: median, minMs: minimum,
                           gflops: flop.map { $0 / (median * 1e6) }, gbps: bytes.map { $0 / (median * 1e6) })
    }

    private static func padding(_ c: BenchCase) throws -> Padding {
        switch c.padding ?? "same" {
        case "same": return .same
        case "causal": return .causal
        case "valid": return .valid
        default: throw ValidationError("Case '\(c.name)' has padding '\(c.padding!)'; expected same, causal or valid.")
        }
    }
}

/// One warm-up run, then `repeats` timed runs: the median and minimum in milliseconds.
enum BenchTimer {
    static func measure(repeats: Int, _ body: () throws -> Void) rethrows -> (median: Double, min: Double) {
        try body()
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return (median(times), times.min()!)
    }

    /// The median of non-empty `values`.
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted(), n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

import ArgumentParser
import Foundation
import TensorCore

/// `wavekit bench`: timing of WaveKit's kernels on the cases in tools/bench/cases.json.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark WaveKit's kernels.",
        discussion: """
        Times each case in the cases file (median of --repeats runs after one warm-up) and \
        prints a table, or one JSON object with --json. To compare against PyTorch in the \
        same run on the same thread count, use tools/bench/run.sh, which runs this command and \
        tools/bench/torch_bench.py on the same cases and prints the ratio.

        NOTE: OpenBLAS reads OPENBLAS_CORETYPE when it loads; if it is set (for example to \
        Haswell), matrix products run on slower kernels than your CPU supports. Unset it \
        before measuring.
        """,
        subcommands: [Core.self, AudioFrontEnd.self, WaveNetSpeed.self, WaveGlowSpeed.self])

    /// Says on stderr, before any timing, when OPENBLAS_CORETYPE forces kernels older than
    /// the CPU's (as `train` does): the numbers would not be this machine's.
    static func noteForcedCore() {
        if let warning = BLAS.forcedCoreWarning { writeStandardError("note: " + warning + "\n") }
    }

    struct Core: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tensor-core benchmark: matmul, convolutions and the gated activation.")

        @Option(help: "The benchmark cases (JSON; the default is relative to the repository root, where the command runs).")
        var cases: String = "tools/bench/cases.json"
        @Option(parsing: .unconditional, help: "Threads for WaveKit's kernels and OpenBLAS.")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount
        @Option(parsing: .unconditional, help: "Timed runs per case; the median is reported.")
        var repeats: Int = 10
        @Option(help: "Only run cases whose name contains this text.")
        var only: String?
        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads).") }
            if repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats).") }
            if !FileManager.default.fileExists(atPath: cases) {
                throw ValidationError("the cases file '\(cases)' was not found; run from the repository root or pass --cases PATH.")
            }
        }

        func run() throws {
            Threading.setThreads(threads)
            Bench.noteForcedCore()
            let file: BenchCases
            do {
                file = try JSONDecoder().decode(BenchCases.self, from: Data(contentsOf: URL(fileURLWithPath: cases)))
            } catch {
                throw ValidationError("Cannot read '\(cases)': \(error). Each case needs a name and a kind (matmul, conv1d_stack, conv1d_train, gated).")
            }
            if let only, !file.cases.contains(where: { $0.name.contains(only) }) {
                throw ValidationError("no case in '\(cases)' has '\(only)' in its name; the cases are: \(file.cases.map(\.name).joined(separator: "; ")).")
            }
            var results: [BenchResult] = []
            for c in file.cases where only.map({ c.name.contains($0) }) ?? true {
                if !json { writeStandardError("  running \(c.name)…\n") }
                results.append(try CoreBenchmark.run(c, repeats: repeats))
            }
            try BenchOutput.print(results, threads: threads, repeats: repeats, json: json)
        }
    }
}

/// The table or JSON both benchmark subcommands print (the schema tools/bench/compare.py reads).
enum BenchOutput {
    static func print(_ results: [BenchResult], threads: Int, repeats: Int, json: Bool) throws {
        if json {
            let report = BenchReport(impl: "wavekit", version: WaveKit.version, threads: threads, results: results)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            Swift.print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        Swift.print("WaveKit \(WaveKit.version), \(threads) thread(s), median of \(repeats)")
        Swift.print("case".padding(toLength: 48, withPad: " ", startingAt: 0) + "  median ms    GFLOP/s")
        for r in results {
            let rate = r.gflops.map { String(format: "%9.1f", $0) } ?? r.gbps.map { String(format: "%7.1f GB/s", $0) } ?? String(repeating: " ", count: 9)
            let perSecond = r.samplesPerSecond.map { String(format: "  %9.0f samples/s", $0) } ?? ""
            Swift.print(r.name.padding(toLength: 48, withPad: " ", startingAt: 0) + String(format: "  %9.3f  ", r.medianMs) + rate + perSecond)
        }
    }
}

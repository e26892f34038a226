import Dispatch
import Foundation
import COpenBLAS

/// The number of threads WaveKit's kernels and OpenBLAS use, like `torch.set_num_threads`.
/// Set it once at start-up (the command line's `--threads`); the default is every core.
public enum Threading {
    private static var current = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Threads used by elementwise, reduction and BLAS kernels.
    public static var threads: Int { current }

    /// Sets the thread count for WaveKit's kernels and for OpenBLAS.
    public static func setThreads(_ n: Int) {
        precondition(n >= 1, "Threading.setThreads: need at least one thread, got \(n)")
        current = n
        openblas_set_num_threads(Int32(n))
    }

    /// Runs `body` with `n` threads, then restores the previous count. For work whose numbers
    /// must not depend on the thread count: OpenBLAS may sum in another order when it splits a
    /// product differently. The count is process-wide: kernels running on other tasks
    /// meanwhile see it too (the command line runs one job at a time).
    public static func withThreads<R>(_ n: Int, _ body: () throws -> R) rethrows -> R {
        let previous = current
        if n != previous { setThreads(n) }
        defer { if n != previous { setThreads(previous) } }
        return try body()
    }
}

/// One parallel-for for every kernel: splits [0, count) into contiguous chunks of at least
/// `grain` items and runs them on up to `Threading.threads` threads.
public enum Parallel {
    /// Runs `body` over contiguous chunks of [0, count), each at least `grain` long.
    public static func forChunks(_ count: Int, grain: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
        let workers = min(Threading.threads, count / max(grain, 1))
        if workers <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        let chunk = (count + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = w * chunk
            let hi = min(count, lo + chunk)
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Runs `body(i)` for i in 0..<n concurrently.
    public static func perform(_ n: Int, _ body: (Int) -> Void) {
        DispatchQueue.concurrentPerform(iterations: n, execute: body)
    }
}

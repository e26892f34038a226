import ArgumentParser
import DSP
import Foundation
import TensorCore

/// Options every computing command takes.
struct CommonOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Threads for WaveKit's kernels and OpenBLAS (default: every core).")
    var threads: Int?
    @Flag(name: .shortAndLong, help: "Print nothing but errors.")
    var quiet = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads).") }
    }

    /// Parses a --seed: a whole number from 0 to 2⁶⁴ − 1 (ArgumentParser's own message gave no range).
    static func seed(_ text: String) throws -> UInt64 {
        guard let value = UInt64(text) else {
            throw ValidationError("--seed takes a whole number from 0 to \(UInt64.max), got '\(text)'.")
        }
        return value
    }

    /// Applies the thread count and the FFT plan cache.
    func apply() {
        if let threads { Threading.setThreads(threads) }
        Self.useWisdomCache()
    }

    /// WaveKit's cache folder: $XDG_CACHE_HOME/wavekit, else ~/.cache/wavekit (nil with neither).
    static var cacheDirectory: String? {
        let env = ProcessInfo.processInfo.environment
        if let cache = env["XDG_CACHE_HOME"], !cache.isEmpty { return cache + "/wavekit" }
        if let home = env["HOME"], !home.isEmpty { return home + "/.cache/wavekit" }
        return nil
    }

    /// FFT plans are searched for once per machine and kept in the cache folder (see FFTWisdom).
    static func useWisdomCache() {
        if let dir = cacheDirectory { FFTWisdom.file = dir + "/fftwf.wisdom" }
    }

    /// A line of information on standard error, unless --quiet.
    func note(_ s: String) {
        if !quiet { writeStandardError(s + "\n") }
    }
}

/// Writes to standard error, ignoring failures: a closed terminal (EIO after SIGHUP) or a pipe
/// whose reader has gone (with SIGPIPE ignored) must not stop a command that is saving its
/// work (`FileHandle.write` traps on them).
func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return }
        bytes = bytes.dropFirst(n)
    }
}

/// Runs a command body, turning library errors into one clear line and exit code 1, and usage
/// errors found once the inputs are open (an option the checkpoint's model does not take) into
/// one line and exit code 64, as ArgumentParser's own (without the top-level usage it would
/// print for an error thrown this late).
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch let e as ValidationError {
        writeStandardError("Error: \(e.message)\n")
        throw ExitCode.validationFailure
    } catch {
        writeStandardError("Error: \(error)\n")
        throw ExitCode(1)
    }
}

/// Progress of long work on standard error: a self-updating line on a terminal (with rate and
/// time left), plain lines at each tenth otherwise.
final class ProgressLine {
    private let label: String
    private let total: Int
    private let unit: String
    private let start = Date()
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let enabled: Bool
    private var lastTenth = -1

    init(_ label: String, total: Int, unit: String, enabled: Bool = true) {
        self.label = label; self.total = total; self.unit = unit; self.enabled = enabled && total > 0
    }

    func update(_ done: Int) {
        guard enabled else { return }
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let left = rate > 0 ? Double(total - done) / rate : 0
        let text = String(format: "%@ %d/%d %@ (%.1f %@/s, %.0f s left)", label, done, total, unit, rate, unit, left)
        if isTerminal {
            writeStandardError("\r\u{1B}[K" + text + (done == total ? "\n" : ""))
        } else {
            let tenth = done * 10 / total
            if tenth != lastTenth { lastTenth = tenth; writeStandardError(text + "\n") }
        }
    }
}

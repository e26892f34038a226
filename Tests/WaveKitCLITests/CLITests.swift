import Foundation
import Testing

/// End-to-end tests of the built `wavekit` binary: output, exit codes and messages.
@Suite struct CLITests {
    /// The `wavekit` binary beside the test bundle in the build products folder.
    static var binary: URL {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("wavekit").path) && dir.path != "/" {
            dir.deleteLastPathComponent()
        }
        return dir.appendingPathComponent("wavekit")
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    struct Result { let status: Int32; let stdout: String; let stderr: String }

    /// Runs `wavekit` with `arguments`, with `environment` added to this process's.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        p.currentDirectoryURL = repositoryRoot
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    @Test func versionAndHelp() throws {
        let v = try Self.run(["--version"])
        #expect(v.status == 0)
        #expect(v.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
        let h = try Self.run(["--help"])
        #expect(h.status == 0)
        #expect(h.stdout.contains("bench"))
        let b = try Self.run(["bench", "core", "--help"])
        #expect(b.status == 0 && b.stdout.contains("--threads"))
        #expect(try Self.run(["help", "help"]).status == 0)
        let nested = try Self.run(["help", "bench", "core"])
        #expect(nested.status == 0 && nested.stdout.contains("--threads"))
    }

    /// `wavekit help TYPO` is a usage error naming the subcommands (it printed the root help
    /// and exited 0).
    @Test func helpForAnUnknownTopicFails() throws {
        let top = try Self.run(["help", "vocod"])
        #expect(top.status == 64 && top.stdout.isEmpty)
        #expect(top.stderr.contains("'wavekit' has no subcommand 'vocod'") && top.stderr.contains("vocode"))
        let nested = try Self.run(["help", "bench", "wavent"])
        #expect(nested.status == 64 && nested.stderr.contains("its subcommands are core, audio, wavenet, waveglow"))
        #expect(nested.stderr.contains("See 'wavekit help bench'"))
        let leaf = try Self.run(["help", "mel", "extra"])
        #expect(leaf.status == 64 && leaf.stderr.contains("'wavekit mel' has no subcommands"))
    }

    @Test func benchRunsOneCaseAsJSON() throws {
        let r = try Self.run(["bench", "core", "--only", "gated", "--repeats", "1", "--threads", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let results = json?["results"] as? [[String: Any]]
        #expect(json?["impl"] as? String == "wavekit")
        #expect(results?.count == 1)
        #expect((results?.first?["median_ms"] as? Double ?? 0) > 0)
    }

    @Test func badInputIsAClearErrorNotACrash() throws {
        let missing = try Self.run(["bench", "core", "--cases", "no/such/cases.json"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no/such/cases.json") && missing.stderr.contains("--cases"))
        let threads = try Self.run(["bench", "core", "--threads", "0"])
        #expect(threads.status != 0 && threads.stderr.contains("--threads"))
        let unknown = try Self.run(["frobnicate"])
        #expect(unknown.status != 0)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wavekit-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("cases.json")
        try Data(#"{"cases": [{"name": "x", "kind": "fft"}]}"#.utf8).write(to: bad)
        let r = try Self.run(["bench", "core", "--cases", bad.path, "--repeats", "1"])
        #expect(r.status != 0 && r.stderr.contains("unknown kind 'fft'"))
        let garbage = dir.appendingPathComponent("garbage.json")
        try Data("not json".utf8).write(to: garbage)
        let g = try Self.run(["bench", "core", "--cases", garbage.path])
        #expect(g.status != 0 && g.stderr.contains("Cannot read"))
    }
}

@testable import DSP
import Foundation
import Testing

@Suite struct FFTWisdomTests {
    /// A killed run's `fftwf.wisdom.<pid>.tmp` over a minute old is removed; a live process's,
    /// a fresh one and other files stay.
    @Test func staleTemporariesAreRemoved() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wavekit-wisdom-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let stale = "fftwf.wisdom.2147483000.tmp", fresh = "fftwf.wisdom.2147483001.tmp"
        let names = [stale, fresh, "fftwf.wisdom.\(getpid()).tmp", "other.1.tmp", "fftwf.wisdom"]
        for n in names { FileManager.default.createFile(atPath: dir + "/" + n, contents: Data()) }
        let old = Date(timeIntervalSinceNow: -120)
        for n in names where n != fresh { try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: dir + "/" + n) }
        FFTWisdom.removeStaleTemporaries(of: dir + "/fftwf.wisdom")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir)) == Set(names.filter { $0 != stale }))
    }
}

import AudioIO
import Foundation
import Testing
import TensorCore
import TestSupport

func temporaryFolder() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wavekit-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

@Suite struct SoundFileTests {
    /// Samples on the grid of a bit depth survive a write and read exactly.
    @Test(arguments: [("wav", SoundFile.Subtype.pcm16, 16), ("wav", .pcm24, 24), ("flac", .pcm16, 16), ("flac", .pcm24, 24),
                      ("aiff", .pcm16, 16), ("au", .pcm24, 24), ("caf", .pcm16, 16), ("w64", .pcm16, 16), ("wav", .pcmU8, 8)])
    func pcmRoundTripsExactly(_ ext: String, _ subtype: SoundFile.Subtype, _ bits: Int) throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = RandomGenerator(seed: 1)
        let scale = Float(1 << (bits - 1))
        let x = Tensor.randomUniform([2, 1000], low: -1, high: 1, using: &rng).scalars.map { ($0 * scale).rounded(.down) / scale }
        let audio = Audio(samples: Tensor(shape: [2, 1000], scalars: x), sampleRate: 22050)
        let path = dir.appendingPathComponent("a.\(ext)").path
        try SoundFile.write(audio, to: path, subtype: subtype)
        let back = try SoundFile.read(path)
        #expect(back.sampleRate == 22050 && back.channels == 2 && back.frames == 1000)
        #expect(back.samples.scalars == x)
        let info = try SoundFile.info(path)
        #expect(info.subtype == subtype.rawValue && info.frames == 1000)
    }

    @Test(arguments: [("wav", SoundFile.Subtype.float), ("wav", .double), ("ogg", .vorbis), ("wav", .pcm32)])
    func otherFormatsRoundTripClosely(_ ext: String, _ subtype: SoundFile.Subtype) throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let x = (0..<22050).map { Float(0.5 * Foundation.sin(2 * Double.pi * 440 * Double($0) / 22050)) }
        let path = dir.appendingPathComponent("a.\(ext)").path
        try SoundFile.write(Audio(mono: x, sampleRate: 22050), to: path, subtype: subtype)
        let back = try SoundFile.read(path).monoSamples
        // Float formats are exact; Vorbis is lossy (compare energy-normalised error).
        let tolerance: Float = subtype == .vorbis ? 0.05 : 1e-7
        #expect(back.count == x.count)
        let err = zip(back, x).map { Swift.abs($0 - $1) }.max()!
        #expect(err <= (subtype == .vorbis ? 0.1 : tolerance))
    }

    @Test func mixDownAveragesChannels() throws {
        let a = Audio(samples: Tensor(shape: [2, 3], scalars: [1, 0, 0.5, 0, 1, -0.5]), sampleRate: 8000)
        #expect(a.mixedDown().samples.scalars == [0.5, 0.5, 0])
    }

    @Test func badFilesGiveClearErrors() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: AudioIOError.fileNotFound(dir.appendingPathComponent("none.wav").path)) {
            try SoundFile.read(dir.appendingPathComponent("none.wav").path)
        }
        let text = dir.appendingPathComponent("notes.wav")
        try Data("hello, this is not audio".utf8).write(to: text)
        #expect(throws: AudioIOError.self) { try SoundFile.read(text.path) }
        let empty = dir.appendingPathComponent("empty.wav")
        try Data().write(to: empty)
        #expect(throws: AudioIOError.emptyAudio(empty.path)) { try SoundFile.read(empty.path) }
        // A truncated header.
        let good = dir.appendingPathComponent("good.wav")
        try SoundFile.write(Audio(mono: [0.1, 0.2, 0.3], sampleRate: 8000), to: good.path)
        let truncated = dir.appendingPathComponent("trunc.wav")
        try Data(try Data(contentsOf: good).prefix(20)).write(to: truncated)
        #expect(throws: AudioIOError.self) { try SoundFile.read(truncated.path) }
        // An unknown extension on write, and NaN samples, leave nothing behind.
        #expect(throws: AudioIOError.self) { try SoundFile.write(Audio(mono: [0], sampleRate: 8000), to: dir.appendingPathComponent("x.xyz").path) }
        #expect(throws: AudioIOError.self) { try SoundFile.write(Audio(mono: [.nan], sampleRate: 8000), to: good.path) }
        #expect(try SoundFile.read(good.path).frames == 3)     // the existing file survived
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test func commentIsStored() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c.wav").path
        try SoundFile.write(Audio(mono: [0, 0.1], sampleRate: 8000), to: path, comment: "wavekit preset=tacotron2")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(String(decoding: bytes, as: UTF8.self).contains("preset=tacotron2"))
    }
}

@Suite struct NPYTests {
    @Test func roundTripWithMetadata() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = Tensor.arange(0, 24).reshaped([2, 3, 4])
        let path = dir.appendingPathComponent("t.npy").path
        try NPY.write(t, to: path, metadata: ["preset": "tacotron2"])
        let back = try NPY.read(path)
        #expect(back.tensor.shape == [2, 3, 4] && back.tensor.scalars == t.scalars)
        #expect(back.metadata["preset"] == "tacotron2")
        try NPY.write(Tensor([1, 2, 3]), to: path)
        #expect(try NPY.read(path).tensor.shape == [3])
    }

    /// Files NumPy wrote: float64, Fortran order, big-endian, version 2.0 header.
    @Test func readsNumPyVariants() throws {
        func file(_ descr: String, fortran: Bool, shape: String, version: UInt8, payload: [UInt8]) -> Data {
            var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': (\(shape)), }"
            let prefix = version == 1 ? 10 : 12
            header += String(repeating: " ", count: (64 - (prefix + header.count + 1) % 64) % 64) + "\n"
            var d = Data([0x93] + Array("NUMPY".utf8) + [version, 0])
            let n = header.utf8.count
            d.append(contentsOf: version == 1 ? [UInt8(n & 0xff), UInt8(n >> 8)] : [UInt8(n & 0xff), UInt8(n >> 8), 0, 0])
            d.append(contentsOf: Array(header.utf8))
            d.append(contentsOf: payload)
            return d
        }
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        // [[1, 2, 3], [4, 5, 6]] stored Fortran-order as float64: 1 4 2 5 3 6.
        let f64 = [1.0, 4, 2, 5, 3, 6].flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) }
        let p1 = dir.appendingPathComponent("f.npy")
        try file("<f8", fortran: true, shape: "2, 3", version: 2, payload: f64).write(to: p1)
        #expect(try NPY.read(p1.path).tensor.scalars == [1, 2, 3, 4, 5, 6])
        let be = [Float(1.5), -2].flatMap { v in withUnsafeBytes(of: v.bitPattern.bigEndian, Array.init) }
        let p2 = dir.appendingPathComponent("b.npy")
        try file(">f4", fortran: false, shape: "2,", version: 1, payload: be).write(to: p2)
        #expect(try NPY.read(p2.path).tensor.scalars == [1.5, -2])
        let p3 = dir.appendingPathComponent("i.npy")
        try file("<i8", fortran: false, shape: "1,", version: 1, payload: Array(repeating: 0, count: 8)).write(to: p3)
        #expect(throws: AudioIOError.self) { try NPY.read(p3.path) }
        do { try NPY.read(p3.path) } catch { #expect("\(error)".contains("astype(numpy.float32)")) }
        let p4 = dir.appendingPathComponent("short.npy")
        try file("<f4", fortran: false, shape: "10,", version: 1, payload: [0, 0, 0, 0]).write(to: p4)
        #expect(throws: AudioIOError.self) { try NPY.read(p4.path) }
    }
}

@Suite struct MuLawTests {
    static func golden(_ name: String) throws -> [Float] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        return try NPY.read(root.appendingPathComponent("DSPTests/Golden/\(name).npy").path).tensor.scalars
    }

    @Test func matchesLibrosa() throws {
        let x = try Self.golden("mulaw_input")
        let classes = try Self.golden("mulaw_classes").map { Int($0) }
        let expanded = try Self.golden("mulaw_expanded")
        let continuous = try Self.golden("mulaw_continuous")
        #expect(MuLaw.encode(x) == classes)
        #expect(zip(MuLaw.decode(classes), expanded).allSatisfy { Swift.abs($0 - $1) <= 1e-6 })
        #expect(zip(x.map { MuLaw.compress($0) }, continuous).allSatisfy { Swift.abs($0 - $1) <= 1e-6 })
    }

    @Test func decodeThenEncodeIsIdentityOnClasses() {
        let k = Array(0...255)
        #expect(MuLaw.encode(MuLaw.decode(k)) == k)
        let xs: [Float] = (0..<1000).map { Float($0) / 500 - 1 }
        let roundTrip: [Float] = xs.map { MuLaw.expand(MuLaw.compress($0)) }
        let worst: Float = zip(roundTrip, xs).map { Swift.abs($0 - $1) }.max()!
        #expect(worst < 1e-5)
    }
}

@Suite struct ResampleAndLevelTests {
    @Test func resamplingKeepsATone() throws {
        let x = (0..<48000).map { Float(0.5 * Foundation.sin(2 * Double.pi * 1000 * Double($0) / 48000)) }
        let y = try Resampler.resample(x, from: 48000, to: 16000)
        #expect(y.count == 16000)
        // Compare with the ideal 1 kHz tone at 16 kHz away from the edges.
        let ideal = (0..<16000).map { Float(0.5 * Foundation.sin(2 * Double.pi * 1000 * Double($0) / 16000)) }
        let err = (500..<15500).map { Swift.abs(y[$0] - ideal[$0]) }.max()!
        #expect(err < 1e-3, "max error \(err)")
        let up = try Resampler.resample(Audio(mono: y, sampleRate: 16000), to: 22050)
        #expect(up.frames == 22050 && up.sampleRate == 22050)
    }

    @Test func normalisationAndTrimming() {
        let tone = (0..<8000).map { Float(0.25 * Foundation.sin(Double($0) * 0.1)) }
        let a = Audio(mono: [Float](repeating: 0, count: 4000) + tone + [Float](repeating: 0, count: 4000), sampleRate: 8000)
        let p = Loudness.normalizedPeak(a, to: -6)
        #expect(Swift.abs(Loudness.dbfs(p.peak) + 6) < 0.01)
        let r = Loudness.normalizedRMS(a, to: -20)
        #expect(Swift.abs(Loudness.dbfs(r.rms) + 20) < 0.01)
        let (trimmed, range) = Loudness.trimmed(a, topDB: 40, frameLength: 512, hopLength: 128)
        #expect(range.lowerBound > 3500 && range.lowerBound <= 4000)
        #expect(range.upperBound >= 12000 && range.upperBound < 12600)
        #expect(trimmed.frames == range.count)
    }
}

@Suite struct SpectrogramImageTests {
    /// A constant image (digital silence: every bin at the floor) is the bottom of the scale,
    /// black, not the loudest colour; otherwise the loudest bin is white.
    @Test func silenceIsBlackAndTheLoudestBinWhite() {
        let silent = SpectrogramImage.render(Tensor.full([3, 4], -11.5), dynamicRange: 9.2, rowHeight: 1)
        #expect(silent.pixels.allSatisfy { $0 == 0 })
        var values = [Float](repeating: -11.5, count: 12)
        values[5] = 0.5
        let image = SpectrogramImage.render(Tensor(shape: [3, 4], scalars: values), dynamicRange: 9.2, rowHeight: 1)
        // Row 1 (from the bottom), column 1: y = 3 - 1 - 1 = 1.
        #expect(Array(image.pixels[(1 * 4 + 1) * 3 ..< (1 * 4 + 1) * 3 + 3]) == [255, 255, 255])
        #expect(image.pixels[0] == 0)
    }
}

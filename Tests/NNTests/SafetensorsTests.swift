import Foundation
import NN
import Testing
import TensorCore
import TestSupport

@Suite struct SafetensorsTests {
    static func golden(_ name: String) -> String {
        (Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Golden")
            ?? Bundle.module.url(forResource: "Golden/\(name)", withExtension: nil)!).path
    }

    /// A file Python's `safetensors` wrote (tools/golden/safetensors_fixtures.py), every dtype.
    @Test func readsWhatPythonWrote() throws {
        let file = try Safetensors.read(Self.golden("python_written.safetensors"))
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.golden("python_written.json")))) as! [String: Any]
        let tensors = expected["tensors"] as! [String: Any]
        #expect(Set(file.tensors.keys) == Set(tensors.keys))
        for (name, value) in tensors {
            let e = value as! [String: Any]
            let shape = (e["shape"] as! [NSNumber]).map(\.intValue)
            let data = (e["data"] as! [NSNumber]).map(\.floatValue)
            #expect(file.tensors[name]!.shape == shape, "\(name)")
            #expect(file.tensors[name]!.scalars == data, "\(name)")
        }
        #expect(file.metadata == (expected["metadata"] as! [String: String]))
    }

    @Test func roundTripIsExact() throws {
        var g = RandomGenerator(seed: 8)
        let file = Safetensors.File(tensors: ["a.weight": Tensor.randomNormal([3, 4, 5], using: &g), "b": Tensor([1, -2]),
                                              "scalar": Tensor(Float(3)), "empty": Tensor.zeros([0, 2])],
                                    metadata: ["family": "test", "config": "{\"x\": \"quoted \\\" value\"}"])
        let back = try Safetensors.decode(Safetensors.encode(file))
        #expect(back.metadata == file.metadata)
        for (k, t) in file.tensors {
            #expect(back.tensors[k]!.shape == t.shape)
            #expect(back.tensors[k]!.scalars.map(\.bitPattern) == t.scalars.map(\.bitPattern))
        }
    }

    /// The committed file WaveKit wrote, which tools/check_safetensors.py verified Python reads;
    /// the writer must still produce exactly those bytes.
    @Test func writerOutputIsStable() throws {
        let file = Safetensors.File(tensors: ["layers.0.conv.weight_v": Tensor.arange(0, 6).reshaped([2, 1, 3]),
                                              "bias": Tensor([0.5, -1.25])],
                                    metadata: ["wavekit.family": "test", "format": "pt"])
        let committed = try Data(contentsOf: URL(fileURLWithPath: Self.golden("wavekit_written.safetensors")))
        #expect(Safetensors.encode(file) == committed)
    }

    @Test(arguments: ["bad_offsets", "bad_overlap", "bad_header_length", "bad_json", "bad_shape"])
    func lyingHeadersAreRejected(_ name: String) {
        #expect(throws: NNError.self) { try Safetensors.read(Self.golden("\(name).safetensors")) }
    }

    @Test func checkpointsKnowTheirFamily() throws {
        struct Config: Codable, Equatable { let width: Int }
        var g = RandomGenerator(seed: 1)
        let model = Linear(3, 2, using: &g)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        try Checkpoint.save(model, family: "linear-test", config: Config(width: 3), to: path)
        let (config, file) = try Checkpoint.load(path, family: "linear-test", config: Config.self)
        #expect(config == Config(width: 3))
        let copy = Linear(3, 2, using: &g)
        try copy.load(Checkpoint.inferenceTensors(file))
        #expect(copy.weight.value.scalars == model.weight.value.scalars)
        #expect(throws: NNError.wrongFamily(path: path, found: "linear-test", expected: "wavenet")) {
            _ = try Checkpoint.load(path, family: "wavenet", config: Config.self)
        }
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: NNError.self) { _ = try Checkpoint.load(path, family: "linear-test", config: Config.self) }
    }

    /// Speaker names are a JSON array (a name may hold a comma); older comma-joined lists still read.
    @Test func speakerNamesRoundTrip() {
        let names = ["p225", "Leeds, UK", "", "ünï\"code"]
        #expect(Checkpoint.speakerNames([Checkpoint.speakersKey: Checkpoint.speakersValue(names)]) == names)
        #expect(Checkpoint.speakerNames([Checkpoint.speakersKey: "p225,p226"]) == ["p225", "p226"])
        #expect(Checkpoint.speakerNames([:]).isEmpty)
    }

    /// File kinds from first bytes, as the checkpoint, array and audio readers name them.
    @Test func fileSignatures() {
        func kind(_ s: String, _ extra: [UInt8] = []) -> FileSignature.Kind? { FileSignature.kind(of: Array(s.utf8) + extra) }
        #expect(kind("RIFF\u{0}\u{0}\u{0}\u{0}WAVEfmt ") == .audio("WAV"))
        #expect(kind("RIFF\u{0}\u{0}\u{0}\u{0}AVI LIST") == nil)
        #expect(kind("FORM\u{0}\u{0}\u{0}\u{0}AIFFCOMM") == .audio("AIFF"))
        #expect(kind("fLaC") == .audio("FLAC") && kind("OggS") == .audio("Ogg"))
        #expect(FileSignature.kind(of: [0x93] + Array("NUMPY".utf8) + [1, 0]) == .numpy)
        #expect(FileSignature.kind(of: [0x80, 0x02, 0x7D]) == .pytorch("a Python pickle"))
        #expect(FileSignature.kind(of: [0x50, 0x4B, 0x03, 0x04]) == .pytorch("a zip archive"))
        #expect(FileSignature.kind(of: [0x20, 0, 0, 0, 0, 0, 0, 0] + Array("{\"a\"".utf8)) == .safetensors)
        #expect(kind("hello, world") == nil && FileSignature.kind(of: []) == nil)
        #expect(FileSignature.Kind.audio("Ogg").description == "an Ogg audio file")
    }

    @Test func halfPrecisionDecoding() {
        #expect(Safetensors.halfToFloat(0x3C00) == 1)
        #expect(Safetensors.halfToFloat(0xC000) == -2)
        #expect(Safetensors.halfToFloat(0x7BFF) == 65504)
        #expect(Safetensors.halfToFloat(0x0001) == Float(Foundation.pow(2.0, -24.0)))
        #expect(Safetensors.halfToFloat(0x7C00) == .infinity)
    }

    /// The hand-written F16 encoder rounds to nearest even like the hardware conversion, over
    /// normal, subnormal, overflowing and tie cases; F16 files round-trip through the reader.
    @Test func halfPrecisionEncoding() throws {
        var g = RandomGenerator(seed: 4)
        var values: [Float] = [0, -0.0, 1, -2, 65504, 65519, 65520, 1e9, .infinity, -.infinity, 6e-8, 2.9e-8, 3.1e-8, 1e-10,
                               1 + 0x1p-11, 1 + 3 * 0x1p-11, 0x1p-14, 0x1p-14 - 0x1p-25, 0.1, -123.456]
        for _ in 0..<2000 {
            let e = Float(Int(g.next() % 44) - 28)
            values.append((g.nextUniform() * 2 - 1) * Float(Foundation.pow(2.0, Double(e))))
        }
        #if !(os(macOS) && arch(x86_64))
        for v in values { #expect(Safetensors.floatToHalf(v) == Float16(v).bitPattern, "\(v)") }
        #endif
        #expect(Safetensors.floatToHalf(.nan) & 0x7c00 == 0x7c00 && Safetensors.floatToHalf(.nan) & 0x3ff != 0)
        let t = Tensor(shape: [4], scalars: [0.5, -1.25, 3.14159, 1e-3])
        let back = try Safetensors.decode(Safetensors.encode(Safetensors.File(tensors: ["w": t]), half: true)).tensors["w"]!
        #expect(zip(back.scalars, t.scalars).allSatisfy { abs($0 - $1) <= abs($1) * 1e-3 })
    }
}

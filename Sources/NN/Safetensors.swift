import Foundation
import TensorCore

/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N,
/// N bytes of JSON mapping names to {dtype, shape, data_offsets} plus an optional
/// "__metadata__" string map, then the raw little-endian tensor bytes.
///
/// WaveKit writes F32 (F16 on request) and reads F32, F16, BF16, F64, I64, I32 (converted to Float32). Reading
/// validates everything a file could lie about: header length, JSON, dtypes, shapes against
/// byte ranges, ranges inside the buffer and not overlapping.
public enum Safetensors {
    /// A loaded file: tensors by name and the string metadata.
    public struct File {
        public var tensors: [String: Tensor]
        public var metadata: [String: String]
        public init(tensors: [String: Tensor], metadata: [String: String] = [:]) {
            self.tensors = tensors; self.metadata = metadata
        }
    }

    /// The largest header accepted (safetensors' own limit is 100 MB).
    static let maxHeaderBytes = 100_000_000

    public static func read(_ path: String) throws -> File {
        guard FileManager.default.fileExists(atPath: path) else {
            throw NNError.missingCheckpoint(path: path)
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw NNError.corruptCheckpoint(path: path, reason: error.localizedDescription)
        }
        return try decode(data, path: path)
    }

    /// The `__metadata__` of a checkpoint, reading only its header (a training checkpoint's
    /// tensors can be hundreds of megabytes).
    public static func metadata(_ path: String) throws -> [String: String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw NNError.missingCheckpoint(path: path) }
        defer { try? handle.close() }
        var bytes = (try? handle.read(upToCount: 8)) ?? Data()
        if bytes.count == 8 {
            let n = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            if n <= UInt64(maxHeaderBytes) { bytes += (try? handle.read(upToCount: Int(n))) ?? Data() }
        }
        return try Self.header(bytes, path: path).metadata
    }

    /// The header of a safetensors file's bytes (which may stop where the header ends): its
    /// tensor entries, its `__metadata__`, and where the tensor data begins.
    static func header(_ data: Data, path: String) throws -> (entries: [String: Any], metadata: [String: String], end: Int) {
        func fail(_ reason: String) -> NNError { .corruptCheckpoint(path: path, reason: reason) }
        guard data.count >= 8 else { throw fail("it is \(data.count) bytes, shorter than the 8-byte header length") }
        let n = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(maxHeaderBytes), n <= UInt64(data.count - 8) else {
            if let kind = otherFormat(data) { throw NNError.notACheckpoint(path: path, looksLike: kind) }
            throw fail("the header claims \(n) bytes but the file has \(data.count - 8) after the length")
        }
        let end = 8 + Int(n)
        guard let json = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<end)),
              var entries = json as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        if let value = entries.removeValue(forKey: "__metadata__") {
            guard let m = value as? [String: Any] else { throw fail("__metadata__ is not a string map") }
            for (k, v) in m {
                guard let s = v as? String else { throw fail("__metadata__ value for '\(k)' is not a string") }
                metadata[k] = s
            }
        }
        return (entries, metadata, end)
    }

    /// What a file that is not safetensors looks like, from its first bytes (nil: unknown).
    static func otherFormat(_ data: Data) -> String? {
        guard let kind = FileSignature.kind(of: [UInt8](data.prefix(16))), kind != .safetensors else { return nil }
        return kind.description
    }

    public static func decode(_ data: Data, path: String = "data") throws -> File {
        func fail(_ reason: String) -> NNError { .corruptCheckpoint(path: path, reason: reason) }
        let (json, metadata, headerEnd) = try Self.header(data, path: path)
        let bufferSize = data.count - headerEnd
        var entries: [(name: String, dtype: String, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in json {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shapeAny = info["shape"] as? [Any], let offsets = info["data_offsets"] as? [Any], offsets.count == 2 else {
                throw fail("tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            let shape = try shapeAny.map { s -> Int in
                // Integers only: not 2.7, not true (JSON booleans arrive as NSNumber too).
                guard let n = s as? NSNumber, String(cString: n.objCType) != "c",
                      n.doubleValue == n.doubleValue.rounded(), n.doubleValue >= 0, n.doubleValue < 9e18 else {
                    throw fail("tensor '\(name)' has a bad shape \(shapeAny)")
                }
                return n.intValue
            }
            guard let begin = (offsets[0] as? NSNumber)?.intValue, let end = (offsets[1] as? NSNumber)?.intValue,
                  begin >= 0, end >= begin else { throw fail("tensor '\(name)' has bad data_offsets \(offsets)") }
            guard end <= bufferSize else {
                throw fail("tensor '\(name)' ends at byte \(end) but the data has \(bufferSize) bytes")
            }
            guard let width = Self.width(dtype) else {
                throw fail("tensor '\(name)' has unsupported dtype \(dtype) (F32, F16, BF16, F64, I64, I32 are read)")
            }
            // Multiply with overflow checks: a lying shape must not wrap around.
            var count = 1
            for d in shape {
                let (c, o) = count.multipliedReportingOverflow(by: d)
                guard !o else { throw fail("tensor '\(name)' has an absurd shape \(shape)") }
                count = c
            }
            let (bytes, o) = count.multipliedReportingOverflow(by: width)
            guard !o, bytes == end - begin else {
                throw fail("tensor '\(name)' has shape \(shape) (\(dtype)) but \(end - begin) bytes")
            }
            entries.append((name, dtype, shape, begin, end))
        }
        let sorted = entries.sorted { $0.begin < $1.begin }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.begin < a.end && b.end > b.begin && a.end > a.begin {
            throw fail("tensors '\(a.name)' and '\(b.name)' overlap")
        }
        var tensors: [String: Tensor] = [:]
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + headerEnd
            for e in entries {
                let count = e.shape.reduce(1, *)
                let storage = Storage(count: count)
                let p = base + e.begin
                for i in 0..<count { storage.base[i] = Self.value(p, i, e.dtype) }
                tensors[e.name] = Tensor(shape: e.shape, storage: storage)
            }
        }
        return File(tensors: tensors, metadata: metadata)
    }

    /// Writes tensors as F32 (or F16 with `half`: half the size, about 3 significant digits)
    /// with `metadata`, atomically (temporary file flushed to disk, then renamed).
    public static func write(_ file: File, to path: String, half: Bool = false) throws {
        let data = encode(file, half: half)
        let url = URL(fileURLWithPath: path)
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp")
        do {
            try data.write(to: temp)
            if let failed = FileSync.flush(temp.path) { throw NNError.corruptCheckpoint(path: path, reason: "flushing it to disk failed: \(failed)") }
            if rename(temp.path, url.path) != 0 { throw NNError.corruptCheckpoint(path: path, reason: String(cString: strerror(errno))) }
            FileSync.flushFolder(of: url.path)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw NNError.invalidConfig("could not write '\(path)': \(error). Nothing was changed at that path.")
        }
    }

    /// The bytes of a safetensors file; tensors in name order, header padded to 8 bytes.
    public static func encode(_ file: File, half: Bool = false) -> Data {
        let names = file.tensors.keys.sorted()
        var offset = 0
        var parts: [String] = []
        if !file.metadata.isEmpty {
            let m = file.metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            parts.append("\"__metadata__\":{\(m.joined(separator: ","))}")
        }
        for name in names {
            let t = file.tensors[name]!
            let bytes = t.count * (half ? 2 : 4)
            parts.append("\(jsonString(name)):{\"dtype\":\"\(half ? "F16" : "F32")\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var header = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var data = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        for name in names {
            file.tensors[name]!.withUnsafeBufferPointer { b in
                if half {
                    let bits = b.map { floatToHalf($0).littleEndian }
                    bits.withUnsafeBytes { data.append(contentsOf: $0) }
                } else {
                    b.withMemoryRebound(to: UInt8.self) { data.append(contentsOf: $0) }   // little-endian hosts
                }
            }
        }
        return data
    }

    private static func jsonString(_ s: String) -> String {
        let d = try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
        let array = String(decoding: d, as: UTF8.self)
        return String(array.dropFirst().dropLast())
    }

    private static func width(_ dtype: String) -> Int? {
        switch dtype {
        case "F32", "I32": return 4
        case "F16", "BF16": return 2
        case "F64", "I64": return 8
        default: return nil
        }
    }

    private static func value(_ p: UnsafeRawPointer, _ i: Int, _ dtype: String) -> Float {
        switch dtype {
        case "F32": return Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        case "F64": return Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        case "I32": return Float(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
        case "I64": return Float(Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
        case "BF16":
            let bits = UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            return Float(bitPattern: UInt32(bits) << 16)
        default:   // F16
            let bits = UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            return halfToFloat(bits)
        }
    }

    /// IEEE binary32 → binary16 bits, rounded to nearest even, with subnormals, overflow to
    /// infinity and NaN (written by hand: Swift's Float16 is missing on Intel Macs).
    public static func floatToHalf(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let exponent = Int((x >> 23) & 0xff), mantissa = x & 0x7f_ffff
        if exponent == 255 { return sign | 0x7c00 | (mantissa != 0 ? 0x200 : 0) }
        let e = exponent - 127 + 15
        if e >= 31 { return sign | 0x7c00 }
        if e <= 0 {
            if e < -10 { return sign }                                   // below half the smallest subnormal
            let m = mantissa | 0x80_0000                                 // implicit 1
            let shift = UInt32(14 - e)
            var half = m >> shift
            let rest = m & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
            if rest > halfway || (rest == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(e) << 10 | mantissa >> 13
        let rest = mantissa & 0x1fff
        if rest > 0x1000 || (rest == 0x1000 && half & 1 == 1) { half += 1 }   // may carry into the exponent: correct
        return sign | UInt16(half)
    }

    /// IEEE binary16 → binary32, including subnormals, infinities and NaN.
    public static func halfToFloat(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int((h >> 10) & 0x1f), mantissa = Int(h & 0x3ff)
        if exponent == 0 { return sign * Float(mantissa) * Float(Foundation.pow(2.0, -24.0)) }
        if exponent == 31 { return mantissa == 0 ? sign * .infinity : .nan }
        return sign * (1 + Float(mantissa) / 1024) * Float(Foundation.pow(2.0, Double(exponent - 15)))
    }
}

/// A WaveKit checkpoint: a safetensors file whose metadata names the model family and holds
/// its configuration as JSON, so the file alone rebuilds the model. Training checkpoints add
/// optimizer state under "optimizer." keys and the step in the metadata.
public enum Checkpoint {
    public static let familyKey = "wavekit.family"
    public static let configKey = "wavekit.config"
    /// Speaker names in id order, for speaker-conditioned models: a JSON array of strings
    /// (`speakersValue`/`speakerNames`; earlier checkpoints joined them with commas, still read).
    public static let speakersKey = "wavekit.speakers"

    /// The metadata value that records `names` (a JSON array, so a name may hold a comma).
    public static func speakersValue(_ names: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(names)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// The speaker names a checkpoint records, in id order; empty when it records none. Reads
    /// the JSON array WaveKit writes and the comma-joined list older checkpoints hold.
    public static func speakerNames(_ metadata: [String: String]) -> [String] {
        guard let value = metadata[speakersKey], !value.isEmpty else { return [] }
        if value.hasPrefix("["), let names = try? JSONDecoder().decode([String].self, from: Data(value.utf8)) { return names }
        return value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }

    /// Saves a module's parameters and buffers with its family and configuration.
    public static func save<C: Encodable>(_ module: any Module, family: String, config: C, to path: String,
                                          extraTensors: [String: Tensor] = [:], metadata: [String: String] = [:]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var meta = metadata
        meta[familyKey] = family
        meta[configKey] = String(decoding: try encoder.encode(config), as: UTF8.self)
        meta["format"] = "pt"
        var tensors = module.stateDict()
        for (k, v) in extraTensors { tensors[k] = v }
        try Safetensors.write(Safetensors.File(tensors: tensors, metadata: meta), to: path)
    }

    /// Reads a checkpoint of `family`, returning its configuration and file (errors name the
    /// family found when it is another model's).
    public static func load<C: Decodable>(_ path: String, family: String, config: C.Type) throws -> (C, Safetensors.File) {
        let file = try Safetensors.read(path)
        guard let found = file.metadata[familyKey] else {
            throw NNError.corruptCheckpoint(path: path, reason: "its metadata names no WaveKit model family (convert PyTorch checkpoints with tools/convert_checkpoint.py)")
        }
        guard found == family else { throw NNError.wrongFamily(path: path, found: found, expected: family) }
        guard let json = file.metadata[configKey], let c = try? JSONDecoder().decode(C.self, from: Data(json.utf8)) else {
            throw NNError.corruptCheckpoint(path: path, reason: "its \(family) configuration is missing or unreadable")
        }
        return (c, file)
    }

    /// The weights to run a model with: optimizer state removed, and the averaged (EMA) weights
    /// of a training checkpoint used in place of the raw ones when the file records how many
    /// updates they hold (`wavekit.ema_updates`: warm-up-corrected averages).
    public static func inferenceTensors(_ file: Safetensors.File) -> [String: Tensor] {
        var tensors = file.tensors.filter { !$0.key.hasPrefix("optimizer.") && !$0.key.hasPrefix("ema.") }
        if file.metadata["wavekit.ema_updates"] != nil {
            for (k, v) in file.tensors where k.hasPrefix("ema.") { tensors[String(k.dropFirst(4))] = v }
        }
        return tensors
    }
}

import Foundation
import TensorCore

/// NumPy `.npy` files (format versions 1–3): float32/float64 in either byte order, C or
/// Fortran order, any rank. Mel-spectrograms from Python pipelines arrive this way.
///
/// WaveKit writes version 1.0 files with a `#` comment after the header dictionary (NumPy's
/// reader ignores it), which carries metadata such as the mel preset a file was made with.
public enum NPY {
    /// A loaded array and the metadata comment WaveKit wrote, if any.
    public struct File {
        public let tensor: Tensor
        /// `key=value` pairs from a WaveKit comment (for example `preset=tacotron2`).
        public let metadata: [String: String]
    }

    /// Reads `path` as Float32 (float64 is converted).
    public static func read(_ path: String) throws -> File {
        guard FileManager.default.fileExists(atPath: path) else { throw AudioIOError.fileNotFound(path) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw AudioIOError.badNPY(path: path, reason: error.localizedDescription)
        }
        return try parse(data, path: path)
    }

    static func parse(_ data: Data, path: String) throws -> File {
        let bytes = [UInt8](data)
        func fail(_ reason: String) -> AudioIOError { .badNPY(path: path, reason: reason) }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            if let kind = FileSignature.kind(of: Array(bytes.prefix(16))) {
                let hint = if case .audio = kind { "; rename it to its audio extension and pass it as audio (`wavekit mel` makes a mel of it)" } else { "" }
                throw fail("it is \(kind.description), not a NumPy array\(hint)")
            }
            throw fail("it does not start with the NumPy magic string (save it with numpy.save)")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("the header is truncated") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default: throw fail("format version \(major) is not supported (1, 2 and 3 are)")
        }
        guard bytes.count >= headerStart + headerLength else { throw fail("the header is truncated") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = capture(header, #"'descr'\s*:\s*'([^']*)'"#) else { throw fail("the header has no 'descr'") }
        guard let fortran = capture(header, #"'fortran_order'\s*:\s*(True|False)"#) else { throw fail("the header has no 'fortran_order'") }
        guard let shapeText = capture(header, #"'shape'\s*:\s*\(([^)]*)\)"#) else { throw fail("the header has no 'shape'") }
        let shape = try shapeText.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { s -> Int in
            guard let v = Int(s), v >= 0 else { throw fail("bad shape entry '\(s)'") }
            return v
        }
        let width: Int, bigEndian: Bool
        switch descr {
        case "<f4", "=f4", "|f4": (width, bigEndian) = (4, false)
        case ">f4": (width, bigEndian) = (4, true)
        case "<f8", "=f8", "|f8": (width, bigEndian) = (8, false)
        case ">f8": (width, bigEndian) = (8, true)
        default:
            throw fail("dtype '\(descr)' is not float32 or float64; convert it with array.astype(numpy.float32)")
        }
        var count = 1
        for d in shape {
            let (c, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, c <= Int.max / 8 else { throw fail("its shape \(shape) is absurdly large") }
            count = c
        }
        let dataStart = headerStart + headerLength
        guard bytes.count - dataStart >= count * width else {
            throw fail("it holds \(bytes.count - dataStart) data bytes but shape \(shape) needs \(count * width)")
        }
        var values = [Float](repeating: 0, count: count)
        bytes.withUnsafeBufferPointer { raw in
            let p = UnsafeRawPointer(raw.baseAddress! + dataStart)
            for i in 0..<count {
                if width == 4 {
                    var bits = p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
                    if bigEndian { bits = bits.byteSwapped }
                    values[i] = Float(bitPattern: bits)
                } else {
                    var bits = p.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                    if bigEndian { bits = bits.byteSwapped }
                    values[i] = Float(Double(bitPattern: bits))
                }
            }
        }
        var tensor: Tensor
        if fortran == "True" && shape.count > 1 {
            // Fortran order is the C order of the reversed shape, transposed back.
            tensor = Tensor(shape: shape.reversed(), scalars: values).permuted(Array((0..<shape.count).reversed())).contiguous()
        } else {
            tensor = Tensor(shape: shape, scalars: values)
        }
        tensor = tensor.detached()
        var metadata: [String: String] = [:]
        if let comment = header.range(of: "# wavekit:") {
            for pair in header[comment.upperBound...].split(whereSeparator: { $0 == " " || $0 == "\n" }) {
                let kv = pair.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { metadata[String(kv[0])] = String(kv[1]) }
            }
        }
        return File(tensor: tensor, metadata: metadata)
    }

    /// Writes `tensor` as a little-endian float32 C-order `.npy` (version 1.0), atomically.
    /// `metadata` pairs go into a header comment NumPy ignores; keys and values must not contain spaces.
    public static func write(_ tensor: Tensor, to path: String, metadata: [String: String] = [:]) throws {
        try AtomicFile.write(encode(tensor, metadata: metadata), to: path)
    }

    static func encode(_ tensor: Tensor, metadata: [String: String]) -> Data {
        let shape = tensor.shape.map(String.init).joined(separator: ", ") + (tensor.rank == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shape)), }"
        if !metadata.isEmpty {
            header += " # wavekit: " + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let n = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(n & 0xff), UInt8(n >> 8)])
        data.append(contentsOf: Array(header.utf8))
        tensor.withUnsafeBufferPointer { b in
            for v in b { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
        return data
    }

    private static func capture(_ text: String, _ pattern: String) -> String? {
        guard let re = try? NSRegularExpression(pattern: pattern),
              let m = re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let r = Range(m.range(at: 1), in: text) else { return nil }
        return String(text[r])
    }
}

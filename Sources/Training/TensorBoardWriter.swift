import Foundation
import TensorCore

/// Writes TensorBoard event files (`events.out.tfevents.<time>.<host>`) that TensorBoard reads:
/// scalars, images (PNG bytes) and audio (WAV bytes). Each record is a length, its masked
/// CRC-32C, a serialized `Event` protocol buffer, and the payload's masked CRC-32C (the
/// TFRecord framing); the protocol buffers are encoded by hand (field numbers from
/// tensorflow/core/util/event.proto and framework/summary.proto).
public final class TensorBoardWriter {
    public let path: String
    private let handle: FileHandle

    /// Creates the folder if needed and a new event file in it.
    public init(folder: String, clock: () -> Double = { Date().timeIntervalSince1970 }) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let host = ProcessInfo.processInfo.hostName
        // Unique per process and attempt (O_EXCL): a resumed run started within the same second
        // must not truncate the earlier file.
        var candidate = ""
        var fd: Int32 = -1
        for attempt in 0..<100 {
            candidate = folder + "/events.out.tfevents.\(Int(clock())).\(host).\(getpid()).\(attempt).wavekit"
            fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            if fd >= 0 { break }
        }
        guard fd >= 0 else { throw TrainingError.io("cannot create a TensorBoard event file in '\(folder)'") }
        path = candidate
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        try write(event(wallTime: clock(), step: 0, fileVersion: "brain.Event:2"))
    }

    deinit { try? handle.close() }

    /// A scalar (loss, learning rate, …) at `step`.
    public func scalar(_ tag: String, _ value: Float, step: Int, wallTime: Double = Date().timeIntervalSince1970) throws {
        var v = ProtoWriter()
        v.string(1, tag)
        v.fixed32(2, value.bitPattern)
        try write(event(wallTime: wallTime, step: step, summaryValue: v.bytes))
    }

    /// A PNG image at `step`.
    public func image(_ tag: String, png: Data, width: Int, height: Int, step: Int, wallTime: Double = Date().timeIntervalSince1970) throws {
        var img = ProtoWriter()
        img.varint(1, UInt64(height)); img.varint(2, UInt64(width)); img.varint(3, 3)
        img.bytes(4, Array(png))
        var v = ProtoWriter()
        v.string(1, tag)
        v.bytes(4, img.bytes)
        try write(event(wallTime: wallTime, step: step, summaryValue: v.bytes))
    }

    /// An audio clip at `step`, as WAV bytes.
    public func audio(_ tag: String, wav: Data, sampleRate: Int, frames: Int, channels: Int = 1, step: Int,
                      wallTime: Double = Date().timeIntervalSince1970) throws {
        var a = ProtoWriter()
        a.fixed32(1, Float(sampleRate).bitPattern)
        a.varint(2, UInt64(channels)); a.varint(3, UInt64(frames))
        a.bytes(4, Array(wav)); a.string(5, "audio/wav")
        var v = ProtoWriter()
        v.string(1, tag)
        v.bytes(6, a.bytes)
        try write(event(wallTime: wallTime, step: step, summaryValue: v.bytes))
    }

    /// Writes buffered records to disk.
    public func flush() { try? handle.synchronize() }

    private func event(wallTime: Double, step: Int, fileVersion: String? = nil, summaryValue: [UInt8]? = nil) -> [UInt8] {
        var e = ProtoWriter()
        e.fixed64(1, wallTime.bitPattern)
        e.varint(2, UInt64(bitPattern: Int64(step)))
        if let fileVersion { e.string(3, fileVersion) }
        if let summaryValue {
            var s = ProtoWriter()
            s.bytes(1, summaryValue)
            e.bytes(5, s.bytes)
        }
        return e.bytes
    }

    private func write(_ payload: [UInt8]) throws {
        do { try handle.write(contentsOf: Data(Self.record(payload))) } catch {
            throw TrainingError.io("cannot write the TensorBoard log '\(path)': \(error.localizedDescription)")
        }
    }

    /// The TFRecord framing of one payload.
    public static func record(_ payload: [UInt8]) -> [UInt8] {
        var length = [UInt8](repeating: 0, count: 8)
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) { length = Array($0) }
        var out = length
        out += littleEndian(CRC32C.masked(length))
        out += payload
        out += littleEndian(CRC32C.masked(payload))
        return out
    }

    private static func littleEndian(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}

/// Minimal protocol-buffer encoding: varints, fixed 32/64-bit and length-delimited fields.
struct ProtoWriter {
    var bytes: [UInt8] = []
    mutating func rawVarint(_ v: UInt64) {
        var x = v
        while x >= 0x80 { bytes.append(UInt8(x & 0x7f) | 0x80); x >>= 7 }
        bytes.append(UInt8(x))
    }
    mutating func key(_ field: Int, _ wire: UInt64) { rawVarint(UInt64(field) << 3 | wire) }
    mutating func varint(_ field: Int, _ v: UInt64) { key(field, 0); rawVarint(v) }
    mutating func fixed64(_ field: Int, _ v: UInt64) { key(field, 1); withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func fixed32(_ field: Int, _ v: UInt32) { key(field, 5); withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func bytes(_ field: Int, _ b: [UInt8]) { key(field, 2); rawVarint(UInt64(b.count)); bytes += b }
    mutating func string(_ field: Int, _ s: String) { bytes(field, Array(s.utf8)) }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) with TFRecord's mask.
public enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    /// ((crc >> 15) | (crc << 17)) + 0xa282ead8.
    public static func masked(_ bytes: [UInt8]) -> UInt32 {
        let c = checksum(bytes)
        return ((c >> 15) | (c << 17)) &+ 0xA282_EAD8
    }
}

/// Errors of the training module; each names the problem and the fix.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case recipe(String)
    case data(String)
    case io(String)

    public var description: String {
        switch self {
        case .recipe(let s), .data(let s), .io(let s): return s
        }
    }
}

import CPNG
import Foundation

/// An 8-bit RGB image, written through libpng's simplified API (no setjmp crosses Swift
/// frames), with `tEXt` metadata chunks spliced in after the header.
public struct PNGImage {
    public let width: Int
    public let height: Int
    /// Row-major RGB bytes, 3 per pixel.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "PNGImage: \(pixels.count) bytes for \(width)×\(height) RGB")
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// Encodes the image as PNG bytes with `text` stored as tEXt chunks (keywords ≤ 79 Latin-1 characters).
    public func encoded(text: [String: String] = [:]) throws -> Data {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(PNG_FORMAT_RGB)
        var size: Int = 0
        let ok = pixels.withUnsafeBufferPointer { px -> Bool in
            guard png_image_write_to_memory(&image, nil, &size, 0, px.baseAddress, Int32(width * 3), nil) != 0 else { return false }
            return true
        }
        guard ok, size > 0 else { throw AudioIOError.invalidArgument("libpng could not size the image: \(Self.message(image))") }
        var buffer = [UInt8](repeating: 0, count: size)
        let written = pixels.withUnsafeBufferPointer { px in
            buffer.withUnsafeMutableBytes { out in
                png_image_write_to_memory(&image, out.baseAddress, &size, 0, px.baseAddress, Int32(width * 3), nil)
            }
        }
        png_image_free(&image)
        guard written != 0 else { throw AudioIOError.invalidArgument("libpng could not encode the image: \(Self.message(image))") }
        var bytes = Array(buffer.prefix(size))
        // Signature (8) + IHDR chunk (4 + 4 + 13 + 4): text chunks go right after it.
        let insertAt = 8 + 25
        var chunks: [UInt8] = []
        for (k, v) in text.sorted(by: { $0.key < $1.key }) {
            chunks += Self.chunk(type: "tEXt", data: Array(k.utf8.prefix(79)) + [0] + Array(v.utf8))
        }
        bytes.insert(contentsOf: chunks, at: insertAt)
        return Data(bytes)
    }

    /// Writes the PNG atomically.
    public func write(to path: String, text: [String: String] = [:]) throws {
        try AtomicFile.write(try encoded(text: text), to: path)
    }

    private static func message(_ image: png_image) -> String {
        withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    private static func chunk(type: String, data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        let n = UInt32(data.count)
        var out: [UInt8] = [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
        out += typeBytes + data
        let crc = CRC32.checksum(typeBytes + data)
        out += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc & 0xff)]
        return out
    }
}

/// CRC-32 (ISO 3309, polynomial 0xEDB88320) as PNG chunks use.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

import Foundation

/// What a file is, from its first bytes: the loaders of checkpoints (NN), arrays and audio
/// (AudioIO) use it to name a file of the wrong kind instead of reporting it as corrupt.
public enum FileSignature {
    public enum Kind: Equatable, Sendable {
        case audio(String)          // "WAV", "FLAC", "Ogg", "AIFF"
        case numpy
        case safetensors
        case pytorch(String)        // "a zip archive", "a Python pickle"

        /// "a WAV audio file", "a NumPy array (.npy)", …
        public var description: String {
            switch self {
            case .audio(let format): return "\(format == "AIFF" ? "an" : format == "Ogg" ? "an" : "a") \(format) audio file"
            case .numpy: return "a NumPy array (.npy)"
            case .safetensors: return "a safetensors file"
            case .pytorch(let container): return "a PyTorch checkpoint (\(container))"
            }
        }
    }

    /// The kind the file at `path` announces in its first bytes; nil when none is known or it
    /// cannot be read.
    public static func kind(ofFile path: String) -> Kind? {
        kind(of: [UInt8](FileHandle(forReadingAtPath: path)?.readData(ofLength: 16) ?? Data()))
    }

    /// The kind the first 16 bytes of a file (or more) announce; nil when none is known.
    public static func kind(of head: [UInt8]) -> Kind? {
        func starts(_ magic: String, at offset: Int = 0) -> Bool {
            let m = Array(magic.utf8)
            return head.count >= offset + m.count && Array(head[offset..<(offset + m.count)]) == m
        }
        if (starts("RIFF") || starts("RF64")) && (head.count < 12 || starts("WAVE", at: 8)) { return .audio("WAV") }
        if starts("fLaC") { return .audio("FLAC") }
        if starts("OggS") { return .audio("Ogg") }
        if starts("FORM") && (head.count < 12 || starts("AIFF", at: 8) || starts("AIFC", at: 8)) { return .audio("AIFF") }
        if head.first == 0x93 && starts("NUMPY", at: 1) { return .numpy }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .pytorch("a zip archive") }
        if head.count > 1 && head[0] == 0x80 && (2...5).contains(head[1]) { return .pytorch("a Python pickle") }
        // safetensors: a little-endian u64 header length (small), then the JSON header's '{'.
        if head.count >= 9 && head[8] == UInt8(ascii: "{") && head[4..<8].allSatisfy({ $0 == 0 }) { return .safetensors }
        return nil
    }
}

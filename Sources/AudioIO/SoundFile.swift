import CSndfile
import Foundation
import TensorCore

/// What a sound file holds, read from its header.
public struct AudioInfo: Codable, Equatable {
    public let sampleRate: Int
    public let channels: Int
    public let frames: Int
    /// Major format, as python-soundfile names it (WAV, FLAC, OGG, AIFF, …).
    public let format: String
    /// Sample encoding (PCM_16, PCM_24, FLOAT, VORBIS, …).
    public let subtype: String
    /// Seconds.
    public var duration: Double { sampleRate > 0 ? Double(frames) / Double(sampleRate) : 0 }
}

/// Reading and writing sound files through libsndfile: every format it supports, chosen from
/// the extension on write. The one file that touches libsndfile's C API.
public enum SoundFile {
    /// Subtypes WaveKit writes; the default per format follows python-soundfile.
    public enum Subtype: String, CaseIterable, Sendable {
        case pcm16 = "PCM_16", pcm24 = "PCM_24", pcm32 = "PCM_32", pcmU8 = "PCM_U8", float = "FLOAT", double = "DOUBLE"
        case vorbis = "VORBIS", opus = "OPUS", mp3 = "MPEG_LAYER_III"
    }

    private static let majors: [(ext: String, name: String, code: Int32, defaultSubtype: Subtype)] = [
        ("wav", "WAV", Int32(SF_FORMAT_WAV), .pcm16),
        ("flac", "FLAC", Int32(SF_FORMAT_FLAC), .pcm16),
        ("ogg", "OGG", Int32(SF_FORMAT_OGG), .vorbis),
        ("oga", "OGG", Int32(SF_FORMAT_OGG), .vorbis),
        ("opus", "OGG", Int32(SF_FORMAT_OGG), .opus),
        ("aiff", "AIFF", Int32(SF_FORMAT_AIFF), .pcm16),
        ("aif", "AIFF", Int32(SF_FORMAT_AIFF), .pcm16),
        ("au", "AU", Int32(SF_FORMAT_AU), .pcm16),
        ("caf", "CAF", Int32(SF_FORMAT_CAF), .pcm16),
        ("w64", "W64", Int32(SF_FORMAT_W64), .pcm16),
        ("rf64", "RF64", Int32(SF_FORMAT_RF64), .pcm16),
        ("mp3", "MP3", Int32(SF_FORMAT_MPEG), .mp3),
    ]

    private static let subtypeCodes: [(Subtype?, String, Int32)] = [
        (.pcm16, "PCM_16", Int32(SF_FORMAT_PCM_16)), (.pcm24, "PCM_24", Int32(SF_FORMAT_PCM_24)),
        (.pcm32, "PCM_32", Int32(SF_FORMAT_PCM_32)), (.pcmU8, "PCM_U8", Int32(SF_FORMAT_PCM_U8)),
        (nil, "PCM_S8", Int32(SF_FORMAT_PCM_S8)), (.float, "FLOAT", Int32(SF_FORMAT_FLOAT)),
        (.double, "DOUBLE", Int32(SF_FORMAT_DOUBLE)), (.vorbis, "VORBIS", Int32(SF_FORMAT_VORBIS)),
        (.opus, "OPUS", Int32(SF_FORMAT_OPUS)), (.mp3, "MPEG_LAYER_III", Int32(SF_FORMAT_MPEG_LAYER_III)),
        (nil, "ULAW", Int32(SF_FORMAT_ULAW)), (nil, "ALAW", Int32(SF_FORMAT_ALAW)),
        (nil, "MPEG_LAYER_II", Int32(SF_FORMAT_MPEG_LAYER_II)), (nil, "MPEG_LAYER_I", Int32(SF_FORMAT_MPEG_LAYER_I)),
        (nil, "IMA_ADPCM", Int32(SF_FORMAT_IMA_ADPCM)), (nil, "MS_ADPCM", Int32(SF_FORMAT_MS_ADPCM)),
        (nil, "ALAC_16", Int32(SF_FORMAT_ALAC_16)), (nil, "ALAC_24", Int32(SF_FORMAT_ALAC_24)),
    ]

    /// File extensions `write` accepts.
    public static var writableExtensions: [String] { majors.map(\.ext) }

    /// The header of `path`, without reading the samples.
    public static func info(_ path: String) throws -> AudioInfo {
        let (file, info) = try open(path)
        sf_close(file)
        return describe(info)
    }

    /// Reads every sample of `path` as floats in [-1, 1], [channels, frames]; with `mixDown`,
    /// the channels are averaged into one.
    public static func read(_ path: String, mixDown: Bool = false) throws -> Audio {
        let (file, info) = try open(path)
        defer { sf_close(file) }
        let channels = Int(info.channels), frames = Int(info.frames)
        if frames == 0 { throw AudioIOError.emptyAudio(path) }
        let out = Storage(count: channels * frames)
        var got = 0
        if channels == 1 {
            got = Int(sf_readf_float(file, out.base, sf_count_t(frames)))
        } else {
            let interleaved = Storage(count: channels * frames)
            got = Int(sf_readf_float(file, interleaved.base, sf_count_t(frames)))
            for c in 0..<channels {
                let dst = out.base + c * frames
                for t in 0..<got { dst[t] = interleaved.base[t * channels + c] }
            }
        }
        if got == 0 { throw AudioIOError.notAudio(path: path, reason: "no samples could be decoded") }
        var samples = Tensor(shape: [channels, frames], storage: out)
        if got < frames {
            // A truncated file: keep what decoded rather than padding with garbage.
            samples = samples.sliced(axis: 1, end: got).contiguous()
        }
        if let bad = firstNonFinite(samples) { throw AudioIOError.nonFiniteSamples(path: path, index: bad) }
        let audio = Audio(samples: samples, sampleRate: Int(info.samplerate))
        return mixDown ? audio.mixedDown() : audio
    }

    /// Writes `audio` to `path` in the format its extension names (`subtype` defaults to the
    /// format's usual one, PCM_16 for WAV/FLAC/AIFF). Samples beyond [-1, 1] are clipped in
    /// integer formats. `comment` is stored in the file's metadata where the format allows.
    /// The write is atomic: a failure leaves any existing file untouched.
    public static func write(_ audio: Audio, to path: String, subtype: Subtype? = nil, comment: String? = nil) throws {
        let major = try checkWritable(path, sampleRate: audio.sampleRate, subtype: subtype)
        if let bad = firstNonFinite(audio.samples) {
            throw AudioIOError.invalidArgument("cannot write '\(path)': sample \(bad) is NaN or infinite.")
        }
        guard audio.sampleRate > 0, audio.frames > 0 else {
            throw AudioIOError.invalidArgument("cannot write '\(path)': the audio is empty or has sample rate \(audio.sampleRate).")
        }
        let sub = subtype ?? major.defaultSubtype
        let subCode = subtypeCodes.first { $0.0 == sub }!.2
        var info = SF_INFO()
        info.samplerate = Int32(audio.sampleRate)
        info.channels = Int32(audio.channels)
        info.format = major.code | subCode
        guard sf_format_check(&info) != 0 else {
            throw AudioIOError.invalidArgument("\(major.name) files cannot hold \(sub.rawValue) samples at \(audio.sampleRate) Hz with \(audio.channels) channel(s); choose another subtype or extension.")
        }
        try AtomicFile.write(to: path) { temp in
            guard let file = sf_open(temp, Int32(SFM_WRITE), &info) else {
                throw AudioIOError.writeFailed(path: path, reason: String(cString: sf_strerror(nil)))
            }
            var closed = false
            defer { if !closed { sf_close(file) } }
            if let comment { sf_set_string(file, Int32(SF_STR_COMMENT), comment) }
            sf_set_string(file, Int32(SF_STR_SOFTWARE), "WaveKit")
            let written = writeFrames(file, audio, subtype: sub)
            closed = true
            let status = sf_close(file)
            if written != audio.frames || status != 0 {
                throw AudioIOError.writeFailed(path: path, reason: "libsndfile wrote \(written) of \(audio.frames) frames")
            }
        }
    }

    /// Interleaves and converts the samples. Integer subtypes are converted here, not by
    /// libsndfile, so that PCM round-trips exactly: a sample k/2^(bits−1) read by libsndfile
    /// (which divides by 2^(bits−1)) is written back as k (libsndfile would scale by 2^(bits−1) − 1).
    private static func writeFrames(_ file: OpaquePointer, _ audio: Audio, subtype: Subtype) -> Int {
        let channels = audio.channels, frames = audio.frames
        let src = audio.samples.scalars     // [C, T] row-major
        func interleaved<T>(_ convert: (Float) -> T) -> [T] {
            var out = [T](); out.reserveCapacity(channels * frames)
            for t in 0..<frames { for c in 0..<channels { out.append(convert(src[c * frames + t])) } }
            return out
        }
        func quantize(_ x: Float, bits: Int) -> Int32 {
            let scale = Double(1 << (bits - 1))
            let v = (Double(x) * scale).rounded()
            return Int32(Swift.min(Swift.max(v, -scale), scale - 1))
        }
        switch subtype {
        case .pcm16, .pcmU8:
            let bits = subtype == .pcm16 ? 16 : 8
            var data = interleaved { Int16(quantize($0, bits: bits) << (16 - bits)) }
            return Int(sf_writef_short(file, &data, sf_count_t(frames)))
        case .pcm24, .pcm32:
            let bits = subtype == .pcm24 ? 24 : 32
            var data = interleaved { quantize($0, bits: bits) << (32 - bits) }
            return Int(sf_writef_int(file, &data, sf_count_t(frames)))
        default:
            sf_command(file, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
            var data = interleaved { $0 }
            return Int(sf_writef_float(file, &data, sf_count_t(frames)))
        }
    }

    private static func open(_ path: String) throws -> (OpaquePointer, SF_INFO) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw AudioIOError.fileNotFound(path) }
        if isDir.boolValue { throw AudioIOError.notAudio(path: path, reason: "it is a folder") }
        if let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int, size == 0 {
            throw AudioIOError.emptyAudio(path)
        }
        guard FileManager.default.isReadableFile(atPath: path) else { throw AudioIOError.unreadable(path) }
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            let reason = String(cString: sf_strerror(nil))
            switch FileSignature.kind(ofFile: path) {
            case .numpy?:
                throw AudioIOError.notAudioButA(path: path, kind: "a NumPy array",
                    fix: "`wavekit vocode` turns a mel .npy into audio and `wavekit info` shows what it holds")
            case .safetensors?:
                throw AudioIOError.notAudioButA(path: path, kind: "a safetensors file (a checkpoint?)",
                    fix: "pass it with --checkpoint, and audio or a mel as the input")
            case .pytorch(let container)?:
                throw AudioIOError.notAudioButA(path: path, kind: "a PyTorch checkpoint (\(container))",
                    fix: "convert it with tools/convert_checkpoint.py and pass the result with --checkpoint")
            case .audio?, nil: break
            }
            throw AudioIOError.notAudio(path: path, reason: reason)
        }
        if info.channels <= 0 || info.samplerate <= 0 {
            sf_close(file)
            throw AudioIOError.notAudio(path: path, reason: "the header has \(info.channels) channels at \(info.samplerate) Hz")
        }
        return (file, info)
    }

    private static func describe(_ info: SF_INFO) -> AudioInfo {
        let major = info.format & Int32(SF_FORMAT_TYPEMASK), sub = info.format & Int32(SF_FORMAT_SUBMASK)
        return AudioInfo(sampleRate: Int(info.samplerate), channels: Int(info.channels), frames: Int(info.frames),
                         format: majors.first { $0.code == major }?.name ?? libsndfileName(major, Int32(SFC_GET_FORMAT_MAJOR_COUNT), Int32(SFC_GET_FORMAT_MAJOR)),
                         subtype: subtypeCodes.first { $0.2 == sub }?.1 ?? libsndfileName(sub, Int32(SFC_GET_FORMAT_SUBTYPE_COUNT), Int32(SFC_GET_FORMAT_SUBTYPE)))
    }

    /// Throws the error `write` would meet for the format `path`'s extension names at this
    /// rate (an unknown extension, Opus at a rate it lacks), so commands check before long work.
    @discardableResult
    public static func checkWritable(_ path: String, sampleRate: Int, subtype: Subtype? = nil) throws
        -> (ext: String, name: String, code: Int32, defaultSubtype: Subtype) {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        guard let major = majors.first(where: { $0.ext == ext }) else {
            throw AudioIOError.unsupportedExtension(path: path, supported: writableExtensions)
        }
        let opusRates = [8000, 12000, 16000, 24000, 48000]
        if (subtype ?? major.defaultSubtype) == .opus && !opusRates.contains(sampleRate) {
            throw AudioIOError.invalidArgument("cannot write '\(path)': Opus holds only \(opusRates.map(String.init).joined(separator: ", ")) Hz audio and this is \(sampleRate) Hz; write .ogg (Vorbis), .flac or .wav instead.")
        }
        return major
    }

    /// libsndfile's own name for a format code WaveKit has no name for (WAVEX for the
    /// extensible WAV header of 24-bit and multichannel files, for example), else the code.
    private static func libsndfileName(_ code: Int32, _ countCommand: Int32, _ infoCommand: Int32) -> String {
        var count: Int32 = 0
        sf_command(nil, countCommand, &count, Int32(MemoryLayout<Int32>.size))
        for i in 0..<count {
            var f = SF_FORMAT_INFO()
            f.format = i
            if sf_command(nil, infoCommand, &f, Int32(MemoryLayout<SF_FORMAT_INFO>.size)) == 0, f.format == code, let name = f.name {
                // "WAVEX (Microsoft)" → "WAVEX", "Signed 24 bit PCM" kept whole.
                let full = String(cString: name)
                return full.hasSuffix(")") ? String(full.prefix { $0 != " " }) : full
            }
        }
        return String(format: "0x%X", code)
    }

    private static func firstNonFinite(_ t: Tensor) -> Int? {
        t.withUnsafeBufferPointer { b in b.firstIndex { !$0.isFinite } }
    }
}

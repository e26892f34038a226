import AudioIO
import Foundation
import Models

/// The WaveGlow denoiser's bias spectrum per checkpoint file, kept in the user's cache folder
/// (`$XDG_CACHE_HOME/wavekit/denoiser`, else `~/.cache/wavekit/denoiser`), because measuring
/// it takes one σ = 0 inference over 88 frames: with NVIDIA's 256-channel model at one thread,
/// `vocode --denoise 0.01` of Audio/speech.wav took 13.2 s measuring and 9.9 s cached
/// (tools/bench/denoiser_cache.sh). A file is keyed by the checkpoint's
/// absolute path, size and modification time (as make and ccache decide a file changed), so a
/// replaced checkpoint is measured afresh. The cache is best-effort: a missing, unreadable or
/// damaged entry is measured again, and a cache folder that cannot be written is skipped.
enum DenoiserCache {
    /// Entry format: "WKDN", a little-endian UInt32 bin count, then the bins as little-endian Float32.
    private static let magic = Array("WKDN".utf8)

    static var directory: URL? { CommonOptions.cacheDirectory.map { URL(fileURLWithPath: $0).appendingPathComponent("denoiser") } }

    /// The cache file for `checkpoint`, or nil when its attributes cannot be read.
    static func entry(for checkpoint: String) -> URL? {
        let path = URL(fileURLWithPath: checkpoint).standardizedFileURL.resolvingSymlinksInPath().path
        guard let directory, let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? Int, let modified = attributes[.modificationDate] as? Date else { return nil }
        // FNV-1a, 64 bits, over what identifies this file's contents and the measurement.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "v1|frames 88|\(path)|\(size)|\(modified.timeIntervalSince1970.bitPattern)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return directory.appendingPathComponent(String(format: "%016llx.bias", hash))
    }

    /// The denoiser for `model`, loaded from `checkpoint`: from the cache when it holds this
    /// file's bias, else measured and stored.
    static func denoiser(model: WaveGlow, checkpoint: String) throws -> WaveGlowDenoiser {
        let file = entry(for: checkpoint)
        if let file, let bins = read(file), let cached = try? WaveGlowDenoiser(biasSpectrum: bins) { return cached }
        let measured = try WaveGlowDenoiser(model: model)
        if let file { write(measured.biasSpectrum, to: file) }
        return measured
    }

    static func read(_ file: URL) -> [Float]? {
        guard let data = try? Data(contentsOf: file), data.count >= 8, Array(data.prefix(4)) == magic else { return nil }
        let count = data.subdata(in: 4..<8).withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
        guard data.count == 8 + 4 * count, count == 1024 / 2 + 1 else { return nil }
        let bins = data.subdata(in: 8..<data.count).withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        return bins.allSatisfy { $0.isFinite && $0 >= 0 } ? bins : nil
    }

    /// Written atomically (AtomicFile), so a reader never sees half an entry.
    static func write(_ bins: [Float], to file: URL) {
        var data = Data(magic)
        withUnsafeBytes(of: UInt32(bins.count).littleEndian) { data.append(contentsOf: $0) }
        for b in bins { withUnsafeBytes(of: b.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? AtomicFile.write(data, to: file.path)
    }
}

import CFFTW
import Dispatch
import Foundation

/// Real FFTs of one size through FFTW, the one file that touches FFTW's C API.
///
/// Frames are laid out in rows padded to 64 bytes (`frameStride` floats per real frame,
/// `spectrumStride` complex values per spectrum), so every row has the alignment the plan was
/// made with (FFTW crashes executing a plan on buffers of another alignment). One plan per size,
/// cached for the life of the process; planning is serialised (FFTW's planner is not
/// thread-safe), executing is not.
///
/// NOTE: FFTW_MEASURE picks algorithms by timing them, so two processes can pick different
/// ones and round differently. With `FFTWisdom.file` set, the first plan of each size is
/// chosen once (best of several measured candidates) and saved there, and every later
/// process reuses it: results are then identical run to run on a machine. (FFTW_ESTIMATE is deterministic without a file but ran
/// 2.4× slower here: 10.8 vs 4.4 ms for a 60 s log-mel.) (A single batched plan over 64
/// frames measured slower: FFTW added internal copies and transposes around it.)
final class FFTPlan {
    let n: Int
    var bins: Int { n / 2 + 1 }
    /// Floats between consecutive real frames.
    let frameStride: Int
    /// Complex values between consecutive spectra.
    let spectrumStride: Int
    private let forwardPlan: fftwf_plan
    private let inversePlan: fftwf_plan

    private static let lock = NSLock()
    private static var cache: [Int: FFTPlan] = [:]

    /// The cached plan for `n`-point transforms.
    static func shared(n: Int) -> FFTPlan {
        lock.lock()
        defer { lock.unlock() }
        if let p = cache[n] { return p }
        let p = FFTPlan(n: n)
        cache[n] = p
        return p
    }

    private init(n: Int) {
        self.n = n
        frameStride = (n + 15) / 16 * 16
        spectrumStride = (n / 2 + 1 + 7) / 8 * 8
        let real = fftwf_alloc_real(frameStride)!
        let complex = fftwf_alloc_complex(spectrumStride)!
        defer { fftwf_free(real); fftwf_free(complex) }
        FFTWisdom.load()
        let measure = UInt32(FFTW_MEASURE)
        func makePlans() -> (fftwf_plan, fftwf_plan) {
            (fftwf_plan_dft_r2c_1d(Int32(n), real, complex, measure),
             // FFTW_DESTROY_INPUT is the default for c2r: the spectrum is scratch.
             fftwf_plan_dft_c2r_1d(Int32(n), complex, real, measure))
        }
        let known = fftwf_plan_dft_r2c_1d(Int32(n), real, complex, measure | UInt32(FFTW_WISDOM_ONLY))
        if let known { fftwf_destroy_plan(known) }
        if known == nil, FFTWisdom.file != nil {
            // First use on this machine: on a busy machine MEASURE's own timings are noisy
            // (its pick varied 4.4–7.0 ms per 60 s log-mel between processes), so plan a few
            // times, time each candidate on a block of frames ourselves, and keep the fastest.
            let base = fftwf_export_wisdom_to_string()
            defer { free(base) }
            var best: (seconds: Double, wisdom: UnsafeMutablePointer<CChar>?) = (.infinity, nil)
            let scratchIn = fftwf_alloc_real(64 * frameStride)!, scratchOut = fftwf_alloc_complex(64 * spectrumStride)!
            defer { fftwf_free(scratchIn); fftwf_free(scratchOut) }
            for i in 0..<(64 * frameStride) { scratchIn[i] = Float(i % 97) * 0.01 - 0.3 }
            for _ in 0..<4 {
                fftwf_forget_wisdom()
                if let base { fftwf_import_wisdom_from_string(base) }
                let (f, b) = makePlans()
                var fastest = Double.infinity
                for _ in 0..<5 {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    for k in 0..<64 { fftwf_execute_dft_r2c(f, scratchIn + k * frameStride, scratchOut + k * spectrumStride) }
                    fastest = Swift.min(fastest, Double(DispatchTime.now().uptimeNanoseconds - t0))
                }
                let w = fftwf_export_wisdom_to_string()
                fftwf_destroy_plan(f); fftwf_destroy_plan(b)
                if fastest < best.seconds { free(best.wisdom); best = (fastest, w) } else { free(w) }
            }
            fftwf_forget_wisdom()
            if let w = best.wisdom { fftwf_import_wisdom_from_string(w); free(w) }
        }
        (forwardPlan, inversePlan) = makePlans()
        FFTWisdom.save()
    }

    /// `count` real frames (rows of `frameStride`) → spectra (rows of `spectrumStride` complex).
    /// Both buffers must be 64-byte aligned (WaveKit's `Storage` is).
    func forward(_ frames: UnsafeMutablePointer<Float>, count: Int, _ spectrum: UnsafeMutablePointer<Float>) {
        spectrum.withMemoryRebound(to: fftwf_complex.self, capacity: count * spectrumStride) { c in
            for f in 0..<count { fftwf_execute_dft_r2c(forwardPlan, frames + f * frameStride, c + f * spectrumStride) }
        }
    }

    /// Spectra → real frames, unnormalised (scaled by n, as FFTW's backward transform is).
    /// Overwrites `spectrum`.
    func inverse(_ spectrum: UnsafeMutablePointer<Float>, count: Int, _ frames: UnsafeMutablePointer<Float>) {
        spectrum.withMemoryRebound(to: fftwf_complex.self, capacity: count * spectrumStride) { c in
            for f in 0..<count { fftwf_execute_dft_c2r(inversePlan, c + f * spectrumStride, frames + f * frameStride) }
        }
    }
}

/// Where FFTW's measured plans are kept between processes (see `FFTPlan`).
public enum FFTWisdom {
    /// A file to load plans from and save new ones to; nil keeps them in memory only. Set it
    /// once, before the first transform (the command-line tool uses
    /// ~/.cache/wavekit/fftwf.wisdom). Plans measured afresh may differ from run to run in the
    /// last bits of a feature; with a file, every run after the
    /// first uses the same plans, so features are identical bit for bit. (`nonisolated(unsafe)`
    /// so that Swift 6 code can set it: it is read under FFTPlan's lock.)
    nonisolated(unsafe) public static var file: String?
    private static var loaded = false

    /// Called with FFTPlan's lock held.
    static func load() {
        guard !loaded, let file else { return }
        loaded = true
        _ = fftwf_import_wisdom_from_filename(file)
    }

    /// Called with FFTPlan's lock held. Written to a temporary file and renamed, so a
    /// concurrent reader never sees half a file; failures only cost a re-measurement later.
    static func save() {
        guard let file else { return }
        let dir = (file as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let temp = file + ".\(getpid()).tmp"
        if fftwf_export_wisdom_to_filename(temp) != 0 {
            rename(temp, file)
        } else {
            unlink(temp)
        }
        removeStaleTemporaries(of: file)
    }

    /// Removes `file.<pid>.tmp` files over a minute old whose process is gone (a run killed
    /// between writing and renaming leaves one); a live process's file is left alone.
    static func removeStaleTemporaries(of file: String) {
        let dir = (file as NSString).deletingLastPathComponent, prefix = (file as NSString).lastPathComponent + "."
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
            guard let pid = Int32(name.dropFirst(prefix.count).dropLast(4)), pid > 0 else { continue }
            // Also older than a minute: a process in another PID namespace sharing the cache
            // looks gone, but writes and renames its file within a moment.
            let path = dir + "/" + name
            let age = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date).map { -$0.timeIntervalSinceNow } ?? 0
            if age > 60 && kill(pid, 0) != 0 && errno == ESRCH { unlink(path) }
        }
    }
}

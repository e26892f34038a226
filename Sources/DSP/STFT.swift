import CKernels
import TensorCore

/// A complex spectrogram: real and imaginary parts, each [bins, frames].
public struct ComplexSpectrogram {
    public var real: Tensor
    public var imag: Tensor
    public var bins: Int { real.shape[0] }
    public var frames: Int { real.shape[1] }

    public init(real: Tensor, imag: Tensor) {
        precondition(real.shape == imag.shape && real.shape.count == 2, "ComplexSpectrogram: real and imag must both be [bins, frames]")
        self.real = real; self.imag = imag
    }

    /// |S| (power 1) or |S|² (power 2), [bins, frames].
    public func magnitude(power: Int = 1) -> Tensor {
        withoutGradient {
            let p = real.square() + imag.square()
            return power == 2 ? p : p.sqrt()
        }
    }
}

/// The short-time Fourier transform with librosa's conventions (`librosa.stft`/`istft`):
/// a `winLength` window zero-padded to `nFFT` and centred, frames every `hopLength` samples,
/// and with `center` the signal padded by nFFT/2 on both sides (reflect padding repeats as
/// NumPy's does when the signal is shorter than the padding).
public struct STFT: Sendable {
    /// How the signal is padded when `center` is on.
    public enum PadMode: String, Codable, Sendable { case reflect, constant }

    public let nFFT: Int
    public let hopLength: Int
    public let winLength: Int
    public let window: Window
    public let center: Bool
    public let padMode: PadMode
    /// The analysis window, padded to nFFT.
    public let windowValues: [Float]

    /// Frames transformed per FFTW call.
    static let block = 64

    /// - Throws: `DSPError.invalidParameter` when sizes are inconsistent.
    public init(nFFT: Int, hopLength: Int? = nil, winLength: Int? = nil, window: Window = .hann,
                center: Bool = true, padMode: PadMode = .reflect) throws {
        let win = winLength ?? nFFT
        let hop = hopLength ?? win / 4
        guard nFFT >= 2, nFFT % 2 == 0 else { throw DSPError.invalidParameter("n_fft must be an even number ≥ 2, got \(nFFT).") }
        guard win >= 1, win <= nFFT else { throw DSPError.invalidParameter("win_length must be between 1 and n_fft (\(nFFT)), got \(win).") }
        guard hop >= 1 else { throw DSPError.invalidParameter("hop_length must be at least 1, got \(hop).") }
        self.nFFT = nFFT; self.hopLength = hop; self.winLength = win
        self.window = window; self.center = center; self.padMode = padMode
        windowValues = window.padded(length: win, to: nFFT)
    }

    /// Number of frequency bins, nFFT/2 + 1.
    public var bins: Int { nFFT / 2 + 1 }

    /// Frames produced for a signal of `samples` samples.
    public func frameCount(samples: Int) -> Int {
        let padded = center ? samples + 2 * (nFFT / 2) : samples
        return padded < nFFT ? 0 : 1 + (padded - nFFT) / hopLength
    }

    /// Sample i of the padded signal (i may fall before or after `x`).
    @inline(__always)
    func paddedSample(_ x: UnsafeBufferPointer<Float>, _ i: Int) -> Float {
        let n = x.count
        if i >= 0 && i < n { return x[i] }
        guard center, padMode == .reflect, n > 0 else { return 0 }
        // Reflection without repeating the edge, periodic with period 2(n − 1) as NumPy's
        // repeated reflection is; a single sample reflects onto itself.
        if n == 1 { return x[0] }
        let period = 2 * (n - 1)
        var j = i % period
        if j < 0 { j += period }
        return x[j >= n ? period - j : j]
    }

    /// The signal padded for framing (a copy; the transforms frame `x` in place and pad only the edges).
    func padded(_ x: [Float]) -> [Float] {
        guard center else { return x }
        let pad = nFFT / 2
        return x.withUnsafeBufferPointer { xb in (-pad..<(x.count + pad)).map { paddedSample(xb, $0) } }
    }

    /// Transforms `x` block by block (in parallel), calling `body(firstFrame, count, spectra, ld, scratch)`
    /// with the spectra of frames firstFrame ..< firstFrame + count, frame f's at complex index
    /// f·ld, and a scratch buffer of block·ld floats.
    func forEachBlock(_ x: [Float], _ body: (Int, Int, UnsafeMutablePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void) {
        let frames = frameCount(samples: x.count)
        guard frames > 0 else { return }
        let b = Self.block
        let plan = FFTPlan.shared(n: nFFT)
        let blocks = (frames + b - 1) / b
        let pad = center ? nFFT / 2 : 0
        x.withUnsafeBufferPointer { xb in
            windowValues.withUnsafeBufferPointer { w in
                Parallel.forChunks(blocks, grain: 1) { range in
                    let frameBuffer = Storage(count: b * plan.frameStride)
                    let spectrum = Storage(count: b * plan.spectrumStride * 2)
                    let scratch = Storage(count: b * plan.spectrumStride)
                    let segmentLength = (b - 1) * hopLength + nFFT
                    var segment: Storage?
                    for blk in range {
                        let first = blk * b, count = Swift.min(b, frames - first)
                        // Frames are read straight from x; only blocks that reach into the padding
                        // get a padded copy of their span.
                        let start = first * hopLength - pad
                        let end = (first + count - 1) * hopLength - pad + nFFT
                        let source: UnsafePointer<Float>
                        if start >= 0 && end <= xb.count {
                            source = xb.baseAddress! + start
                        } else {
                            let seg = segment ?? Storage(count: segmentLength)
                            segment = seg
                            for i in 0..<(end - start) { seg.base[i] = paddedSample(xb, start + i) }
                            source = UnsafePointer(seg.base)
                        }
                        wk_frames(count, nFFT, hopLength, source, w.baseAddress!, frameBuffer.base, plan.frameStride)
                        plan.forward(frameBuffer.base, count: count, spectrum.base)
                        body(first, count, spectrum.base, plan.spectrumStride, scratch.base)
                    }
                }
            }
        }
    }

    /// The complex STFT of `x`, [bins, frames].
    public func callAsFunction(_ x: [Float]) -> ComplexSpectrogram {
        let frames = frameCount(samples: x.count)
        let re = Storage(count: bins * frames), im = Storage(count: bins * frames)
        forEachBlock(x) { first, count, spec, ld, _ in
            wk_deinterleave_transposed(count, bins, ld, spec, re.base + first, im.base + first, frames)
        }
        return ComplexSpectrogram(real: Tensor(shape: [bins, frames], storage: re),
                                  imag: Tensor(shape: [bins, frames], storage: im))
    }

    /// |STFT(x)| (power 1) or |STFT(x)|² (power 2), [bins, frames], without forming the complex spectrogram.
    public func magnitude(_ x: [Float], power: Int = 1) -> Tensor {
        let frames = frameCount(samples: x.count)
        let out = Storage(count: bins * frames)
        forEachBlock(x) { first, count, spec, ld, scratch in
            wk_complex_abs_transposed(count, bins, ld, spec, out.base + first, frames, Int32(power), scratch)
        }
        return Tensor(shape: [bins, frames], storage: out)
    }

    /// The inverse STFT (librosa's `istft`): inverse FFT of each frame, windowed overlap-add,
    /// divided by the summed squared window where it is non-zero; with `center` the padding is
    /// removed. `length` crops or zero-pads the result to exactly that many samples.
    public func inverse(_ s: ComplexSpectrogram, length: Int? = nil) -> [Float] {
        precondition(s.bins == bins, "STFT.inverse: spectrogram has \(s.bins) bins, this STFT has \(bins)")
        let pad = center ? nFFT / 2 : 0
        var frames = s.frames
        if let length {
            // Only frames that reach the requested length matter (as librosa trims them).
            let needed = (length + 2 * pad + hopLength - 1) / hopLength
            frames = Swift.min(frames, needed)
        }
        let full = frames > 0 ? nFFT + hopLength * (frames - 1) : 0
        let expected = length ?? Swift.max(full - 2 * pad, 0)
        let b = Self.block
        let plan = FFTPlan.shared(n: nFFT)
        let timeFrames = Storage(count: Swift.max(frames, 1) * plan.frameStride)
        let re = s.real.contiguous(), im = s.imag.contiguous()
        let reBase = re.storage.base + re.offset, imBase = im.storage.base + im.offset
        let totalFrames = s.frames
        let blocks = (frames + b - 1) / b
        Parallel.forChunks(blocks, grain: 1) { range in
            let spectrum = Storage(count: b * plan.spectrumStride * 2)
            for blk in range {
                let first = blk * b, count = Swift.min(b, frames - first)
                wk_interleave_transposed(count, bins, plan.spectrumStride, reBase + first, imBase + first, totalFrames, spectrum.base)
                plan.inverse(spectrum.base, count: count, timeFrames.base + first * plan.frameStride)
            }
        }
        // Overlap-add with the synthesis window (numpy's irfft scales by 1/n; FFTW does not).
        var y = [Float](repeating: 0, count: full)
        let scaled = windowValues.map { $0 / Float(nFFT) }
        let squared = windowValues.map { $0 * $0 }
        var sumSquare = [Float](repeating: 0, count: full)
        y.withUnsafeMutableBufferPointer { yb in
            sumSquare.withUnsafeMutableBufferPointer { wb in
                if frames > 0 {
                    wk_overlap_add(frames, nFFT, hopLength, timeFrames.base, plan.frameStride, scaled, yb.baseAddress!)
                    let ones = Storage(count: nFFT, repeating: 1)
                    wk_overlap_add(frames, nFFT, hopLength, ones.base, 0, squared, wb.baseAddress!)
                }
            }
        }
        for i in 0..<full where sumSquare[i] > Float.leastNormalMagnitude { y[i] /= sumSquare[i] }
        var out = [Float](repeating: 0, count: expected)
        let available = Swift.max(0, Swift.min(expected, full - pad))
        for i in 0..<available { out[i] = y[pad + i] }
        return out
    }
}

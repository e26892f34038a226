import Foundation

/// A fixed-size, 64-byte-aligned block of Float32 shared by a tensor and all its views.
/// Kernels write into fresh storage; views never copy it.
public final class Storage {
    /// The first element. Aligned to 64 bytes so SIMD loads, BLAS and FFTW all run at speed.
    public let base: UnsafeMutablePointer<Float>
    /// Number of Float elements.
    public let count: Int

    /// Uninitialised storage for `count` floats.
    public init(count: Int) {
        precondition(count >= 0, "Storage: negative element count \(count)")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Storage holding `count` copies of `value`.
    public convenience init(count: Int, repeating value: Float) {
        self.init(count: count)
        Kernels.fill(base, count: count, value: value)
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }

    /// The storage as a buffer.
    public var buffer: UnsafeMutableBufferPointer<Float> { .init(start: base, count: count) }
}

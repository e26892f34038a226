import Foundation

/// A fixed-size, 64-byte-aligned block of Float32 shared by a tensor and all its views.
/// Kernels write into fresh storage; views never copy it.
package final class Storage {
    /// The first element. Aligned to 64 bytes so SIMD loads, BLAS and FFTW all run at speed.
    package let base: UnsafeMutablePointer<Float>
    /// Number of Float elements.
    package let count: Int
    private let byteCapacity: Int

    /// Uninitialised storage for `count` floats.
    package init(count: Int) {
        precondition(count >= 0, "Storage: negative element count \(count)")
        self.count = count
        let (raw, capacity) = BufferCache.allocate(byteCount: Swift.max(count, 1) * 4)
        byteCapacity = capacity
        base = raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
    }

    /// Storage holding `count` copies of `value`.
    package convenience init(count: Int, repeating value: Float) {
        self.init(count: count)
        Kernels.fill(base, count: count, value: value)
    }

    deinit { BufferCache.release(UnsafeMutableRawPointer(base), byteCapacity: byteCapacity) }

    /// The storage as a buffer.
    package var buffer: UnsafeMutableBufferPointer<Float> { .init(start: base, count: count) }
}

/// Keeps large freed buffers for reuse, so training and inference loops that allocate the same
/// activation sizes step after step do not pay for munmap, page faults and the kernel zeroing
/// fresh pages each time (a 64 MB activation costs milliseconds that way). Buffers under
/// 32 KiB go straight to malloc, which recycles those; above that glibc maps and unmaps
/// (a [8, 7936] tensor is 254 KB), which cost a WaveNet training step 0.8 s of page clearing. Sizes are rounded up to one of
/// eight classes per power of two (at most 12.5% slack). Process-wide, like a caching
/// allocator in any tensor library: `limit` bounds the bytes held idle.
public enum BufferCache {
    private static let lock = NSLock()
    private static var idle: [Int: [UnsafeMutableRawPointer]] = [:]
    private static var idleBytes = 0
    private static let smallest = 1 << 15

    /// The most bytes kept idle for reuse (default a quarter of physical memory, at most
    /// 8 GiB: a training step's temporaries are freed together and reallocated next step,
    /// and a smaller cache sent most of them back to the kernel, which spent 41% of a WaveNet
    /// training step clearing fresh pages); 0 disables caching.
    public static var limit: Int {
        get { lock.withLock { limitBytes } }
        set { lock.withLock { limitBytes = Swift.max(0, newValue) }; if newValue <= 0 { releaseIdle() } }
    }
    private static var limitBytes = Swift.min(Int(ProcessInfo.processInfo.physicalMemory / 4), 8 << 30)

    /// Bytes currently held idle.
    public static var idleByteCount: Int { lock.withLock { idleBytes } }

    /// Returns every idle buffer to the system.
    public static func releaseIdle() {
        let buffers: [UnsafeMutableRawPointer] = lock.withLock {
            defer { idle = [:]; idleBytes = 0 }
            return idle.values.flatMap { $0 }
        }
        for b in buffers { b.deallocate() }
    }

    static func allocate(byteCount: Int) -> (UnsafeMutableRawPointer, Int) {
        guard byteCount >= smallest else {
            return (UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64), byteCount)
        }
        let size = sizeClass(byteCount)
        let reused: UnsafeMutableRawPointer? = lock.withLock {
            guard let p = idle[size]?.popLast() else { return nil }
            idleBytes -= size
            return p
        }
        return (reused ?? UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64), size)
    }

    static func release(_ p: UnsafeMutableRawPointer, byteCapacity: Int) {
        if byteCapacity >= smallest {
            let kept: Bool = lock.withLock {
                guard idleBytes + byteCapacity <= limitBytes else { return false }
                idle[byteCapacity, default: []].append(p)
                idleBytes += byteCapacity
                return true
            }
            if kept { return }
        }
        p.deallocate()
    }

    /// Rounds up to a multiple of 1/8 of the largest power of two not above `bytes`.
    public static func sizeClass(_ bytes: Int) -> Int {
        let top = Int.bitWidth - 1 - bytes.leadingZeroBitCount
        let step = 1 << Swift.max(top - 3, 6)
        return (bytes + step - 1) / step * step
    }
}

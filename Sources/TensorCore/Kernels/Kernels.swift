import CKernels

/// Swift-side drivers of the C kernels: strided iteration, broadcasting and threading.
/// Nothing here records gradients; primitives call these from `forward`.
public enum Kernels {
    static func fill(_ p: UnsafeMutablePointer<Float>, count: Int, value: Float) {
        Parallel.forChunks(count, grain: 1 << 18) { r in wk_fill(r.count, value, p + r.lowerBound) }
    }

    /// Walks the elements of a shape in row-major order, in chunks, calling
    /// `body(offsets, n)` for runs of `n` elements along the (coalesced) last axis, where
    /// `offsets[k]` is operand k's element offset and its inner stride is `innerStrides[k]`.
    /// Operand 0 is conventionally the contiguous output.
    static func iterate(shape: [Int], strides: [[Int]], offsets base: [Int], grain: Int = 1 << 15,
                        _ body: (_ offsets: UnsafeMutablePointer<Int>, _ innerStrides: UnsafePointer<Int>, _ n: Int) -> Void) {
        let (dims, dimStrides) = Shape.coalesce(shape, strides)
        let operands = strides.count
        let rank = dims.count
        let inner = dims[rank - 1]
        let total = Shape.count(shape)
        guard total > 0 else { return }
        let innerStrides = dimStrides.map { $0[rank - 1] }
        innerStrides.withUnsafeBufferPointer { inS in
            Parallel.forChunks(total, grain: grain) { range in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: operands) { offs in
                    var start = range.lowerBound
                    while start < range.upperBound {
                        var row = start / inner
                        let col = start % inner
                        let n = min(inner - col, range.upperBound - start)
                        for k in 0..<operands { offs[k] = base[k] + col * dimStrides[k][rank - 1] }
                        var d = rank - 2
                        while d >= 0 && row > 0 {
                            let idx = row % dims[d]
                            row /= dims[d]
                            for k in 0..<operands { offs[k] += idx * dimStrides[k][d] }
                            d -= 1
                        }
                        body(offs.baseAddress!, inS.baseAddress!, n)
                        start += n
                    }
                }
            }
        }
    }

    /// Copies `x` in row-major order into the contiguous buffer `out`.
    static func copy(_ x: Tensor, into out: UnsafeMutablePointer<Float>) {
        let src = x.storage.base
        iterate(shape: x.shape, strides: [Shape.contiguousStrides(x.shape), x.strides], offsets: [0, x.offset],
                grain: 1 << 17) { offs, inS, n in
            wk_copy_strided(n, src + offs[1], inS[1], out + offs[0])
        }
    }

    /// A fresh contiguous tensor holding `op` applied to each element of `x`.
    static func unary(_ op: wk_unary_op, _ x: Tensor, alpha: Float = 0) -> Tensor {
        let c = x.contiguousValue()
        let out = Storage(count: c.count)
        let src = c.storage.base + c.offset
        Parallel.forChunks(c.count, grain: 1 << 14) { r in
            wk_unary(Int32(op.rawValue), r.count, src + r.lowerBound, out.base + r.lowerBound, alpha)
        }
        return Tensor(shape: x.shape, storage: out)
    }

    /// `op(a, b)` with NumPy broadcasting, into a fresh contiguous tensor.
    static func binary(_ op: wk_binary_op, _ a: Tensor, _ b: Tensor, name: String) -> Tensor {
        let shape = Shape.broadcast(a.shape, b.shape, op: name)
        let out = Storage(count: Shape.count(shape))
        let (pa, pb, po) = (a.storage.base, b.storage.base, out.base)
        iterate(shape: shape,
                strides: [Shape.contiguousStrides(shape), Shape.broadcastStrides(a, to: shape),
                          Shape.broadcastStrides(b, to: shape)],
                offsets: [0, a.offset, b.offset], grain: 1 << 14) { offs, inS, n in
            wk_binary(Int32(op.rawValue), n, pa + offs[1], inS[1], pb + offs[2], inS[2], po + offs[0])
        }
        return Tensor(shape: shape, storage: out)
    }

    /// `mask != 0 ? a : b` with three-way broadcasting.
    static func select(_ mask: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = Shape.broadcast(Shape.broadcast(mask.shape, a.shape, op: "where"), b.shape, op: "where")
        let out = Storage(count: Shape.count(shape))
        let (pm, pa, pb, po) = (mask.storage.base, a.storage.base, b.storage.base, out.base)
        iterate(shape: shape,
                strides: [Shape.contiguousStrides(shape), Shape.broadcastStrides(mask, to: shape),
                          Shape.broadcastStrides(a, to: shape), Shape.broadcastStrides(b, to: shape)],
                offsets: [0, mask.offset, a.offset, b.offset], grain: 1 << 14) { offs, inS, n in
            wk_where(n, pm + offs[1], inS[1], pa + offs[2], inS[2], pb + offs[3], inS[3], po + offs[0])
        }
        return Tensor(shape: shape, storage: out)
    }

    /// tanh(a) · sigmoid(b) for same-shaped tensors, fused into one pass.
    static func gated(_ a: Tensor, _ b: Tensor) -> Tensor {
        let ca = a.contiguousValue(), cb = b.contiguousValue()
        let out = Storage(count: ca.count)
        let (pa, pb) = (ca.storage.base + ca.offset, cb.storage.base + cb.offset)
        Parallel.forChunks(ca.count, grain: 1 << 14) { r in
            wk_gated(r.count, pa + r.lowerBound, pb + r.lowerBound, out.base + r.lowerBound)
        }
        return Tensor(shape: a.shape, storage: out)
    }
}

extension Kernels {
    /// Copies `x` element by element into the view `dst` (same shape); `dst` is written in place.
    static func copy(_ x: Tensor, intoView dst: Tensor) {
        precondition(x.shape == dst.shape, "copy(intoView:): \(x.shape) vs \(dst.shape)")
        let (ps, pd) = (x.storage.base, dst.storage.base)
        iterate(shape: x.shape, strides: [dst.strides, x.strides], offsets: [dst.offset, x.offset]) { offs, inS, n in
            if inS[0] == 1 {
                wk_copy_strided(n, ps + offs[1], inS[1], pd + offs[0])
            } else {
                for i in 0..<n { pd[offs[0] + i * inS[0]] = ps[offs[1] + i * inS[1]] }
            }
        }
    }

    /// Adds `x` into the view `dst` (same shape) in place. Single-threaded: views may overlap.
    static func accumulate(_ x: Tensor, intoView dst: Tensor) {
        precondition(x.shape == dst.shape, "accumulate(intoView:): \(x.shape) vs \(dst.shape)")
        let (ps, pd) = (x.storage.base, dst.storage.base)
        iterate(shape: x.shape, strides: [dst.strides, x.strides], offsets: [dst.offset, x.offset],
                grain: Int.max) { offs, inS, n in
            if inS[0] == 1 && inS[1] == 1 {
                wk_accumulate(n, ps + offs[1], pd + offs[0])
            } else {
                for i in 0..<n { pd[offs[0] + i * inS[0]] += ps[offs[1] + i * inS[1]] }
            }
        }
    }
}

extension Kernels {
    /// Sets `count` floats to zero.
    public static func zero(_ p: UnsafeMutablePointer<Float>, count: Int) {
        wk_fill(count, 0, p)
    }
}

import CKernels

/// Sum, max or min over a set of axes; the result keeps the reduced axes with size 1 and
/// callers reshape it away when `keepDims` is false.
struct ReduceOp: Primitive {
    enum Kind { case sum, max, min }
    let kind: Kind
    let axes: [Int]

    func forward(_ inputs: [Tensor]) -> Tensor {
        let op: wk_reduce_op = kind == .sum ? WK_REDUCE_SUM : (kind == .max ? WK_REDUCE_MAX : WK_REDUCE_MIN)
        return Kernels.reduce(op, inputs[0], axes: axes)
    }

    func savedValues(_: [Bool]) -> SavedValues { kind == .sum ? .none(1) : .all(1) }
    func backward(_ g: Tensor, inputs: [Tensor], output y: Tensor) -> [Tensor?] {
        let x = inputs[0]
        switch kind {
        case .sum:
            return [g.expanded(to: x.shape)]
        case .max, .min:
            // The gradient goes to the elements equal to the extreme, split evenly among ties.
            let mask = x.detached().isEqual(to: y.detached())
            let ties = Kernels.reduce(WK_REDUCE_SUM, mask, axes: axes)
            return [g.expanded(to: x.shape) * (mask / ties)]
        }
    }
}

extension Tensor {
    private func reduce(_ kind: ReduceOp.Kind, axes: [Int]?, keepDims: Bool, op: String) -> Tensor {
        // A rank-0 tensor has nothing to reduce over (axis 0 or -1 name the scalar itself).
        let ax = rank == 0 ? [] : (axes.map { Shape.normalize($0, rank: rank, op: op) } ?? Array(0..<rank))
        if kind != .sum {
            precondition(ax.allSatisfy { shape[$0] > 0 }, "\(op): cannot reduce an empty axis of \(shape)")
        }
        let y = ax.isEmpty ? self : Tensor.apply(ReduceOp(kind: kind, axes: ax), self)
        if keepDims { return y }
        return y.reshaped(shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element))
    }

    /// Sum over `axes` (all axes when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        reduce(.sum, axes: axes, keepDims: keepDims, op: "sum")
    }
    /// Sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Mean over `axes` (all axes when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = rank == 0 ? [] : (axes.map { Shape.normalize($0, rank: rank, op: "mean") } ?? Array(0..<rank))
        let n = ax.reduce(1) { $0 * shape[$1] }
        return sum(axes: ax, keepDims: keepDims) / Float(n)
    }
    /// Mean over one axis.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Variance over `axes` with `correction` subtracted from the count (1: unbiased, PyTorch's default).
    public func variance(axes: [Int]? = nil, keepDims: Bool = false, correction: Int = 1) -> Tensor {
        let ax = rank == 0 ? [] : (axes.map { Shape.normalize($0, rank: rank, op: "variance") } ?? Array(0..<rank))
        let n = ax.reduce(1) { $0 * shape[$1] }
        let centered = self - mean(axes: ax, keepDims: true)
        return centered.square().sum(axes: ax, keepDims: keepDims) / Float(Swift.max(n - correction, 1))
    }

    /// Maximum over `axes` (all axes when nil).
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        reduce(.max, axes: axes, keepDims: keepDims, op: "max")
    }
    /// Maximum over one axis.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor { max(axes: [axis], keepDims: keepDims) }

    /// Minimum over `axes` (all axes when nil).
    public func min(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        reduce(.min, axes: axes, keepDims: keepDims, op: "min")
    }
    /// Minimum over one axis.
    public func min(axis: Int, keepDims: Bool = false) -> Tensor { min(axes: [axis], keepDims: keepDims) }

    /// Index of the first maximum along `axis`, as integral Float values. No gradient.
    public func argmax(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = Shape.normalize(axis, rank: rank, op: "argmax")
        precondition(shape[ax] > 0, "argmax: axis \(axis) of \(shape) is empty")
        var perm = Array(0..<rank)
        perm.remove(at: ax)
        perm.append(ax)
        let moved = detached().permuted(perm).contiguousValue()
        let cols = shape[ax]
        let rows = count / cols
        let out = Storage(count: rows)
        wk_argmax_rows(rows, cols, moved.storage.base + moved.offset, out.base)
        var outShape = shape
        if keepDims { outShape[ax] = 1 } else { outShape.remove(at: ax) }
        return Tensor(shape: outShape, storage: out)
    }

    /// log Σ exp(x) over `axes`, computed stably by shifting by the maximum.
    public func logSumExp(axes: [Int], keepDims: Bool = false) -> Tensor {
        // The shift is a constant: its gradient cancels exactly, so it need not be recorded.
        let m = detached().max(axes: axes, keepDims: true)
        let finite = Tensor.select(m.abs() < Float.infinity, m, Tensor(Float(0)))
        let s = (self - finite).exp().sum(axes: axes, keepDims: true).log() + finite
        return keepDims ? s : s.squeezedAxes(axes.map { Shape.normalize($0, rank: rank, op: "logSumExp") })
    }
    /// log Σ exp(x) over one axis.
    public func logSumExp(axis: Int, keepDims: Bool = false) -> Tensor { logSumExp(axes: [axis], keepDims: keepDims) }

    /// Euclidean norm over `axes` (all when nil).
    public func norm(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let s = square().sum(axes: axes, keepDims: keepDims)
        let positive = s.detached() > 0
        let zero = Tensor(Float(0)), one = Tensor(Float(1))
        return Tensor.select(positive, Tensor.select(positive, s, one).sqrt(), zero)
    }
    /// Euclidean norm over one axis.
    public func norm(axis: Int, keepDims: Bool = false) -> Tensor { norm(axes: [axis], keepDims: keepDims) }

    /// exp(x) / Σ exp(x) along `axis`.
    public func softmax(axis: Int) -> Tensor {
        let e = (self - detached().max(axis: axis, keepDims: true)).exp()
        return e / e.sum(axis: axis, keepDims: true)
    }

    /// log softmax along `axis`, computed as x − logsumexp(x).
    public func logSoftmax(axis: Int) -> Tensor {
        self - logSumExp(axis: axis, keepDims: true)
    }

    func squeezedAxes(_ axes: [Int]) -> Tensor {
        reshaped(shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element))
    }
}

extension Kernels {
    /// Reduces `x` over `axes` (sorted, in range) into a tensor that keeps them with size 1.
    /// Axes are grouped into alternating kept/reduced runs; the innermost run is reduced along
    /// rows (contiguous) or across rows (vectorised over the kept inner run) until none is left.
    static func reduce(_ op: wk_reduce_op, _ x: Tensor, axes: [Int]) -> Tensor {
        var outShape = x.shape
        for a in axes { outShape[a] = 1 }
        let outCount = Shape.count(outShape)
        if x.count == 0 {
            return Tensor.full(outShape, 0)
        }
        var groups: [(size: Int, reduced: Bool)] = []
        for i in 0..<x.rank where x.shape[i] != 1 {
            let r = axes.contains(i)
            if let last = groups.last, last.reduced == r {
                groups[groups.count - 1].size *= x.shape[i]
            } else {
                groups.append((x.shape[i], r))
            }
        }
        var current = x.contiguousValue()
        var src = current.storage.base + current.offset
        while groups.contains(where: { $0.reduced }) {
            let last = groups.count - 1
            if groups[last].reduced {
                let cols = groups[last].size
                let rows = groups[..<last].reduce(1) { $0 * $1.size }
                let out = Storage(count: rows)
                reduceRows(op, rows: rows, cols: cols, src, out.base)
                groups.removeLast()
                current = Tensor(shape: [rows], storage: out)
            } else {
                let inner = groups[last].size
                let n = groups[last - 1].size
                let outer = groups[..<(last - 1)].reduce(1) { $0 * $1.size }
                let out = Storage(count: outer * inner)
                let s = src
                Parallel.forChunks(outer, grain: max(1, (1 << 16) / max(n * inner, 1))) { r in
                    wk_reduce_mid(Int32(op.rawValue), r.count, n, inner, s + r.lowerBound * n * inner,
                                  out.base + r.lowerBound * inner)
                }
                groups.remove(at: last - 1)
                if last - 2 >= 0 && !groups[last - 2].reduced {
                    groups[last - 2].size *= groups[last - 1].size
                    groups.removeLast()
                }
                current = Tensor(shape: [outer * inner], storage: out)
            }
            src = current.storage.base
        }
        precondition(current.count == outCount, "reduce: internal size mismatch")
        return Tensor(shape: outShape, strides: Shape.contiguousStrides(outShape), offset: current.offset, storage: current.storage)
    }

    private static func reduceRows(_ op: wk_reduce_op, rows: Int, cols: Int,
                                   _ src: UnsafeMutablePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
        let threads = Threading.threads
        if rows < threads && cols >= 1 << 16 && threads > 1 {
            // Few long rows: each thread reduces a segment of every row, then the partials are reduced.
            let segments = threads
            let seg = (cols + segments - 1) / segments
            let partial = Storage(count: rows * segments)
            Parallel.perform(segments) { s in
                let lo = s * seg, hi = Swift.min(cols, lo + seg)
                for r in 0..<rows {
                    if lo < hi {
                        wk_reduce_rows(Int32(op.rawValue), 1, hi - lo, src + r * cols + lo, partial.base + r * segments + s)
                    } else {
                        partial.base[r * segments + s] = op == WK_REDUCE_SUM ? 0 : src[r * cols]
                    }
                }
            }
            wk_reduce_rows(Int32(op.rawValue), rows, segments, partial.base, dst)
            return
        }
        Parallel.forChunks(rows, grain: max(1, (1 << 16) / max(cols, 1))) { r in
            wk_reduce_rows(Int32(op.rawValue), r.count, cols, src + r.lowerBound * cols, dst + r.lowerBound)
        }
    }
}


import CKernels

/// Concatenation along an axis; the backward hands each input its slice of the gradient.
struct ConcatOp: Primitive {
    let axis: Int
    func forward(_ inputs: [Tensor]) -> Tensor {
        var shape = inputs[0].shape
        shape[axis] = inputs.reduce(0) { $0 + $1.shape[axis] }
        let out = Tensor.zeros(shape)
        var start = 0
        for x in inputs where x.shape[axis] > 0 {
            let window = SliceOp(axis: axis, start: start, count: x.shape[axis], step: 1).forward([out])
            Kernels.copy(x, intoView: window)
            start += x.shape[axis]
        }
        return out
    }
    func savedValues(_ rg: [Bool]) -> SavedValues { .none(rg.count) }
    func backward(_ g: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        var start = 0
        return inputs.map { x in
            defer { start += x.shape[axis] }
            return x.requiresGrad ? g.sliced(axis: axis, start: start, end: start + x.shape[axis]) : nil
        }
    }
}

/// Rows `indices` of `axis` (repeats allowed); the adjoint adds rows back (`IndexAddOp`).
struct IndexSelectOp: Primitive {
    let axis: Int
    let indices: [Int]
    func forward(_ inputs: [Tensor]) -> Tensor {
        let x = inputs[0].contiguousValue()
        let (outer, n, inner) = x.split(at: axis)
        var shape = x.shape
        shape[axis] = indices.count
        let out = Storage(count: outer * indices.count * inner)
        let idx = indices.map { Int64($0) }
        wk_index_select(outer, n, inner, x.storage.base + x.offset, indices.count, idx, out.base)
        return Tensor(shape: shape, storage: out)
    }
    func savedValues(_: [Bool]) -> SavedValues { .none(1) }
    func backward(_ g: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        [Tensor.apply(IndexAddOp(select: self, size: inputs[0].shape[axis]), g)]
    }
}

struct IndexAddOp: Primitive {
    let select: IndexSelectOp
    let size: Int
    func forward(_ inputs: [Tensor]) -> Tensor {
        let g = inputs[0].contiguousValue()
        let (outer, m, inner) = g.split(at: select.axis)
        var shape = g.shape
        shape[select.axis] = size
        let out = Storage(count: outer * size * inner, repeating: 0)
        let idx = select.indices.map { Int64($0) }
        wk_index_add(outer, size, inner, g.storage.base + g.offset, m, idx, out.base)
        return Tensor(shape: shape, storage: out)
    }
    func savedValues(_: [Bool]) -> SavedValues { .none(1) }
    func backward(_ h: Tensor, inputs _: [Tensor], output _: Tensor) -> [Tensor?] {
        [Tensor.apply(select, h)]
    }
}

/// `torch.gather`: out[..., j, ...] = x[..., idx[..., j, ...], ...] along `axis`; the index
/// tensor (integral values) matches x on every other axis. Adjoint: `ScatterAddOp`.
struct GatherOp: Primitive {
    let axis: Int
    func forward(_ inputs: [Tensor]) -> Tensor {
        let x = inputs[0].contiguousValue(), idx = inputs[1].contiguousValue()
        let (outer, n, inner) = x.split(at: axis)
        let m = idx.shape[axis]
        let out = Storage(count: idx.count)
        wk_gather(outer, n, inner, x.storage.base + x.offset, m, idx.storage.base + idx.offset, out.base)
        return Tensor(shape: idx.shape, storage: out)
    }
    func savedValues(_: [Bool]) -> SavedValues { .init(inputs: [false, true], output: false) }
    func backward(_ g: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        [Tensor.apply(ScatterAddOp(axis: axis, size: inputs[0].shape[axis]), g, inputs[1].detached()), nil]
    }
}

struct ScatterAddOp: Primitive {
    let axis: Int
    let size: Int
    func forward(_ inputs: [Tensor]) -> Tensor {
        let g = inputs[0].contiguousValue(), idx = inputs[1].contiguousValue()
        let (outer, m, inner) = g.split(at: axis)
        var shape = g.shape
        shape[axis] = size
        let out = Storage(count: outer * size * inner, repeating: 0)
        wk_scatter_add(outer, size, inner, g.storage.base + g.offset, m, idx.storage.base + idx.offset, out.base)
        return Tensor(shape: shape, storage: out)
    }
    func savedValues(_: [Bool]) -> SavedValues { .init(inputs: [false, true], output: false) }
    func backward(_ h: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        [Tensor.apply(GatherOp(axis: axis), h, inputs[1].detached()), nil]
    }
}

/// Running sum along an axis. Its adjoint is the reversed running sum.
struct CumsumOp: Primitive {
    let axis: Int
    func forward(_ inputs: [Tensor]) -> Tensor {
        let x = inputs[0].contiguousValue()
        let (outer, n, inner) = x.split(at: axis)
        let out = Storage(count: x.count)
        wk_cumsum(outer, n, inner, x.storage.base + x.offset, out.base)
        return Tensor(shape: x.shape, storage: out)
    }
    func savedValues(_: [Bool]) -> SavedValues { .none(1) }
    func backward(_ g: Tensor, inputs _: [Tensor], output _: Tensor) -> [Tensor?] {
        [g.flipped(axes: [axis]).cumulativeSum(axis: axis).flipped(axes: [axis])]
    }
}

/// Constant padding: the input placed inside a tensor filled with `value`.
struct ConstantPadOp: Primitive {
    let low: [Int], high: [Int]   // per axis, all axes
    let value: Float
    func forward(_ inputs: [Tensor]) -> Tensor {
        let x = inputs[0]
        let shape = (0..<x.rank).map { x.shape[$0] + low[$0] + high[$0] }
        let out = Tensor.full(shape, value)
        var window = out
        for a in 0..<x.rank where low[a] != 0 || high[a] != 0 {
            window = SliceOp(axis: a, start: low[a], count: x.shape[a], step: 1).forward([window])
        }
        Kernels.copy(x, intoView: window)
        return out
    }
    func savedValues(_: [Bool]) -> SavedValues { .none(1) }
    func backward(_ g: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        var s = g
        for a in 0..<g.rank where low[a] != 0 || high[a] != 0 {
            s = s.sliced(axis: a, start: low[a], end: low[a] + inputs[0].shape[a])
        }
        return [s]
    }
}

/// How `padded` fills the new border.
public enum PaddingMode: Equatable, Sendable {
    /// A constant value (0 for zero padding).
    case constant(Float)
    /// Mirror without repeating the edge sample (NumPy/librosa `reflect`).
    case reflect
    /// Repeat the edge sample.
    case replicate
}

extension Tensor {
    /// Sizes of the axes before, at and after `axis` in a contiguous layout.
    func split(at axis: Int) -> (outer: Int, n: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// The tensors joined along `axis`; other axes must match.
    public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat: no tensors")
        let ax = Shape.normalize(axis, rank: tensors[0].rank, op: "concat")
        for t in tensors {
            precondition(t.rank == tensors[0].rank && (0..<t.rank).allSatisfy { $0 == ax || t.shape[$0] == tensors[0].shape[$0] },
                         "concat: shapes \(tensors.map(\.shape)) differ outside axis \(axis)")
        }
        if tensors.count == 1 { return tensors[0] }
        return Tensor.apply(ConcatOp(axis: ax), tensors)
    }

    /// The tensors (of equal shape) stacked along a new axis.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "stack: no tensors")
        precondition(tensors.allSatisfy { $0.shape == tensors[0].shape }, "stack: shapes differ: \(tensors.map(\.shape))")
        return concat(tensors.map { $0.unsqueezed(axis: axis) }, axis: axis)
    }

    /// Consecutive pieces of the given sizes along `axis` (views).
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let ax = Shape.normalize(axis, rank: rank, op: "split")
        precondition(sizes.reduce(0, +) == shape[ax], "split: sizes \(sizes) do not add up to \(shape[ax]) (axis \(axis) of \(shape))")
        var start = 0
        return sizes.map { n in
            defer { start += n }
            return sliced(axis: ax, start: start, end: start + n)
        }
    }

    /// `count` equal pieces along `axis` (views); the size must divide evenly.
    public func split(into count: Int, axis: Int) -> [Tensor] {
        let ax = Shape.normalize(axis, rank: rank, op: "split")
        precondition(count >= 1 && shape[ax] % count == 0, "split: axis \(axis) of \(shape) does not split into \(count) equal parts")
        return split(sizes: Array(repeating: shape[ax] / count, count: count), axis: ax)
    }

    /// Up to `count` pieces of ⌈size / count⌉ along `axis`, the last possibly shorter (`torch.chunk`).
    public func chunked(_ count: Int, axis: Int) -> [Tensor] {
        let ax = Shape.normalize(axis, rank: rank, op: "chunked")
        precondition(count >= 1, "chunked: count must be positive")
        let size = (shape[ax] + count - 1) / count
        var sizes: [Int] = []
        var left = shape[ax]
        while left > 0 { sizes.append(Swift.min(size, left)); left -= size }
        return split(sizes: sizes, axis: ax)
    }

    /// Entries `indices` along `axis` (as `torch.index_select`).
    public func indexSelected(axis: Int, indices: [Int]) -> Tensor {
        let ax = Shape.normalize(axis, rank: rank, op: "indexSelected")
        precondition(indices.allSatisfy { $0 >= 0 && $0 < shape[ax] },
                     "indexSelected: index out of range 0..<\(shape[ax]) in \(indices.prefix(10))")
        return Tensor.apply(IndexSelectOp(axis: ax, indices: indices), self)
    }

    /// `torch.gather` along `axis`: `indices` holds integral values and matches self elsewhere.
    public func gathered(axis: Int, indices: Tensor) -> Tensor {
        let ax = Shape.normalize(axis, rank: rank, op: "gathered")
        precondition(indices.rank == rank && (0..<rank).allSatisfy { $0 == ax || indices.shape[$0] == shape[$0] },
                     "gathered: indices \(indices.shape) must match \(shape) on every axis but \(axis)")
        precondition(indices.scalars.allSatisfy { $0 >= 0 && $0 < Float(shape[ax]) && $0 == $0.rounded() },
                     "gathered: indices must be integers in 0..<\(shape[ax])")
        return Tensor.apply(GatherOp(axis: ax), self, indices.detached())
    }

    /// Embedding lookup: rows of this [num_embeddings, dim] table for integral `indices` of any
    /// shape → indices.shape + [dim] (as `torch.nn.functional.embedding`).
    public func embedding(_ indices: Tensor) -> Tensor {
        precondition(rank == 2, "embedding: table must be [num_embeddings, dim], got \(shape)")
        let values = indices.scalars
        precondition(values.allSatisfy { $0 >= 0 && $0 == $0.rounded() && $0 < Float(shape[0]) },
                     "embedding: indices must be integers in 0..<\(shape[0])")
        let rows = values.map { Int($0) }
        return indexSelected(axis: 0, indices: rows).reshaped(indices.shape + [shape[1]])
    }

    /// One-hot vectors: integral `indices` of any shape → indices.shape + [classes]. No gradient.
    public static func oneHot(_ indices: Tensor, classes: Int) -> Tensor {
        let idx = indices.scalars
        let out = Tensor.zeros(indices.shape + [classes])
        for (i, v) in idx.enumerated() {
            let c = Int(v)
            precondition(c >= 0 && c < classes && Float(c) == v, "oneHot: index \(v) is not an integer in 0..<\(classes)")
            out.storage.base[i * classes + c] = 1
        }
        return out
    }

    /// Running sum along `axis` (as `torch.cumsum`).
    public func cumulativeSum(axis: Int) -> Tensor {
        Tensor.apply(CumsumOp(axis: Shape.normalize(axis, rank: rank, op: "cumulativeSum")), self)
    }

    /// Order reversed along each of `axes`.
    public func flipped(axes: [Int]) -> Tensor {
        var y = self
        for a in Shape.normalize(axes, rank: rank, op: "flipped") {
            y = y.indexSelected(axis: a, indices: Array((0..<shape[a]).reversed()))
        }
        return y
    }

    /// Each entry along `axis` repeated `count` times in place (as `torch.repeat_interleave`).
    public func repeated(_ count: Int, axis: Int) -> Tensor {
        let ax = Shape.normalize(axis, rank: rank, op: "repeated")
        precondition(count >= 1, "repeated: count must be positive, got \(count)")
        if count == 1 { return self }
        var target = shape
        target.insert(count, at: ax + 1)
        var merged = shape
        merged[ax] *= count
        return unsqueezed(axis: ax + 1).expanded(to: target).reshaped(merged)
    }

    /// The whole tensor repeated `multiples[i]` times along axis i (as `torch.Tensor.repeat`).
    public func tiled(_ multiples: [Int]) -> Tensor {
        precondition(multiples.count == rank && multiples.allSatisfy { $0 >= 1 },
                     "tiled: need one positive multiple per axis of \(shape), got \(multiples)")
        var y = self
        for (a, m) in multiples.enumerated() where m > 1 {
            var target = y.shape
            target.insert(m, at: a)
            var merged = y.shape
            merged[a] *= m
            y = y.unsqueezed(axis: a).expanded(to: target).reshaped(merged)
        }
        return y
    }

    /// Nearest-neighbour upsampling of the spatial axes (all axes after the first two) by
    /// integer `scale` factors (one per spatial axis, or one for all).
    public func upsampledNearest(scale: [Int]) -> Tensor {
        let spatial = rank - 2
        precondition(spatial >= 1, "upsampledNearest: input must be [B, C, ...spatial], got \(shape)")
        let s = scale.count == 1 ? Array(repeating: scale[0], count: spatial) : scale
        precondition(s.count == spatial, "upsampledNearest: \(scale) does not give one factor per spatial axis of \(shape)")
        var y = self
        for i in 0..<spatial { y = y.repeated(s[i], axis: 2 + i) }
        return y
    }

    /// Padding on the last `pads.count` axes: `pads[i]` is (before, after) for axis
    /// `rank − pads.count + i`. Reflect needs each amount smaller than its axis.
    public func padded(_ pads: [(Int, Int)], mode: PaddingMode = .constant(0)) -> Tensor {
        precondition(pads.count <= rank, "padded: \(pads.count) pad pairs for rank \(rank)")
        let first = rank - pads.count
        switch mode {
        case .constant(let v):
            var lo = [Int](repeating: 0, count: rank), hi = lo
            for (i, p) in pads.enumerated() {
                precondition(p.0 >= 0 && p.1 >= 0, "padded: negative padding \(p)")
                lo[first + i] = p.0; hi[first + i] = p.1
            }
            if lo.allSatisfy({ $0 == 0 }) && hi.allSatisfy({ $0 == 0 }) { return self }
            return Tensor.apply(ConstantPadOp(low: lo, high: hi, value: v), self)
        case .reflect, .replicate:
            var y = self
            for (i, p) in pads.enumerated() where p.0 > 0 || p.1 > 0 {
                let a = first + i, n = shape[a]
                if mode == .reflect {
                    precondition(p.0 < n && p.1 < n, "padded: reflect padding \(p) needs axis \(a) longer than the padding (size \(n))")
                }
                let idx = (-p.0..<(n + p.1)).map { j -> Int in
                    if mode == .replicate { return Swift.min(Swift.max(j, 0), n - 1) }
                    return j < 0 ? -j : (j >= n ? 2 * (n - 1) - j : j)
                }
                y = y.indexSelected(axis: a, indices: idx)
            }
            return y
        }
    }
}

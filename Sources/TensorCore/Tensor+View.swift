// Views: new shapes and strides over the same storage. Each is a primitive whose backward
// maps the gradient back to the source's shape with other differentiable ops.

struct ReshapeOp: Primitive {
    let shape: [Int]
    func forward(_ inputs: [Tensor]) -> Tensor {
        let x = inputs[0]
        if let strides = viewStrides(x, shape) {
            return Tensor(shape: shape, strides: strides, offset: x.offset, storage: x.storage)
        }
        let c = x.contiguousValue()
        return Tensor(shape: shape, strides: Shape.contiguousStrides(shape), offset: c.offset, storage: c.storage)
    }
    func savedValues(_: [Bool]) -> SavedValues { .none(1) }
    func backward(_ grad: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        [grad.reshaped(inputs[0].shape)]
    }

    /// Strides that show `x` at `shape` without copying, or nil when its layout does not allow
    /// it (the rule of PyTorch's `view`: each run of merged axes must be contiguous in itself).
    private func viewStrides(_ x: Tensor, _ shape: [Int]) -> [Int]? {
        if x.isContiguous || x.count == 0 { return Shape.contiguousStrides(shape) }
        var newStrides = [Int](repeating: 0, count: shape.count)
        var viewD = shape.count - 1
        var chunkBase = x.strides.last ?? 1
        var tensorNumel = 1, viewNumel = 1
        for d in stride(from: x.rank - 1, through: 0, by: -1) {
            tensorNumel *= x.shape[d]
            if d == 0 || (x.shape[d - 1] != 1 && x.strides[d - 1] != tensorNumel * chunkBase) {
                while viewD >= 0 && (viewNumel < tensorNumel || shape[viewD] == 1) {
                    newStrides[viewD] = viewNumel * chunkBase
                    viewNumel *= shape[viewD]
                    viewD -= 1
                }
                if viewNumel != tensorNumel { return nil }
                if d > 0 {
                    chunkBase = x.strides[d - 1]
                    tensorNumel = 1
                    viewNumel = 1
                }
            }
        }
        return viewD == -1 ? newStrides : nil
    }
}

struct PermuteOp: Primitive {
    let axes: [Int]
    func forward(_ inputs: [Tensor]) -> Tensor {
        let x = inputs[0]
        return Tensor(shape: axes.map { x.shape[$0] }, strides: axes.map { x.strides[$0] },
                      offset: x.offset, storage: x.storage)
    }
    func savedValues(_: [Bool]) -> SavedValues { .none(1) }
    func backward(_ grad: Tensor, inputs _: [Tensor], output _: Tensor) -> [Tensor?] {
        var inverse = [Int](repeating: 0, count: axes.count)
        for (i, a) in axes.enumerated() { inverse[a] = i }
        return [grad.permuted(inverse)]
    }
}

struct SliceOp: Primitive {
    let axis: Int, start: Int, count: Int, step: Int
    func forward(_ inputs: [Tensor]) -> Tensor {
        let x = inputs[0]
        var shape = x.shape, strides = x.strides
        shape[axis] = count
        strides[axis] = x.strides[axis] * step
        return Tensor(shape: shape, strides: strides, offset: x.offset + start * x.strides[axis], storage: x.storage)
    }
    func savedValues(_: [Bool]) -> SavedValues { .none(1) }
    func backward(_ grad: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        [Tensor.apply(UnsliceOp(slice: self, size: inputs[0].shape[axis]), grad)]
    }
}

/// The adjoint of a slice: zeros of the source's shape with the gradient placed in the slice.
struct UnsliceOp: Primitive {
    let slice: SliceOp, size: Int
    func forward(_ inputs: [Tensor]) -> Tensor {
        let g = inputs[0]
        var shape = g.shape
        shape[slice.axis] = size
        let out = Tensor.zeros(shape)
        let window = slice.forward([out])
        Kernels.copy(g, intoView: window)
        return out
    }
    func savedValues(_: [Bool]) -> SavedValues { .none(1) }
    func backward(_ grad: Tensor, inputs _: [Tensor], output _: Tensor) -> [Tensor?] {
        [Tensor.apply(slice, grad)]
    }
}

struct ExpandOp: Primitive {
    let shape: [Int]
    func forward(_ inputs: [Tensor]) -> Tensor {
        let x = inputs[0]
        return Tensor(shape: shape, strides: Shape.broadcastStrides(x, to: shape), offset: x.offset, storage: x.storage)
    }
    func savedValues(_: [Bool]) -> SavedValues { .none(1) }
    func backward(_ grad: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        [grad.summed(toShape: inputs[0].shape)]
    }
}

/// Sliding windows along an axis as a view (as `torch.Tensor.unfold`): axis becomes the
/// window count and a new last axis of `size` holds each window. Windows may overlap.
struct UnfoldOp: Primitive {
    let axis: Int, size: Int, step: Int
    func forward(_ inputs: [Tensor]) -> Tensor {
        let x = inputs[0]
        var shape = x.shape, strides = x.strides
        shape[axis] = (x.shape[axis] - size) / step + 1
        strides[axis] = x.strides[axis] * step
        return Tensor(shape: shape + [size], strides: strides + [x.strides[axis]], offset: x.offset, storage: x.storage)
    }
    func savedValues(_: [Bool]) -> SavedValues { .none(1) }
    func backward(_ grad: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        [Tensor.apply(FoldOp(unfold: self, length: inputs[0].shape[axis]), grad)]
    }
}

/// The adjoint of `UnfoldOp`: sums each window back onto the positions it was taken from.
struct FoldOp: Primitive {
    let unfold: UnfoldOp, length: Int
    func forward(_ inputs: [Tensor]) -> Tensor {
        let g = inputs[0]
        var shape = Array(g.shape.dropLast())
        shape[unfold.axis] = length
        let out = Tensor.zeros(shape)
        // Each window offset k is one strided view of `out`; accumulate the k-th slice of g.
        let windows = unfold.forward([out])
        for k in 0..<unfold.size {
            let dst = SliceOp(axis: windows.rank - 1, start: k, count: 1, step: 1).forward([windows])
            let src = SliceOp(axis: g.rank - 1, start: k, count: 1, step: 1).forward([g])
            Kernels.accumulate(src, intoView: dst)
        }
        return out
    }
    func savedValues(_: [Bool]) -> SavedValues { .none(1) }
    func backward(_ grad: Tensor, inputs _: [Tensor], output _: Tensor) -> [Tensor?] {
        [Tensor.apply(unfold, grad)]
    }
}

struct ContiguousOp: Primitive {
    func forward(_ inputs: [Tensor]) -> Tensor { inputs[0].contiguousValue() }
    func savedValues(_: [Bool]) -> SavedValues { .none(1) }
    func backward(_ grad: Tensor, inputs _: [Tensor], output _: Tensor) -> [Tensor?] { [grad] }
}

extension Tensor {
    /// The same elements in a new shape; one size may be -1 (inferred). A view when the layout
    /// allows, else a copy (as `torch.reshape`).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        let inferred = newShape.filter { $0 == -1 }.count
        precondition(inferred <= 1, "reshaped: more than one -1 in \(newShape)")
        var shape = newShape
        if let i = shape.firstIndex(of: -1) {
            let known = shape.filter { $0 != -1 }.reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshaped: cannot infer -1 in \(newShape) for \(count) elements of \(self.shape)")
            shape[i] = count / known
        }
        precondition(Shape.count(shape) == count, "reshaped: shape \(newShape) does not hold the \(count) elements of \(self.shape)")
        if shape == self.shape { return self }
        return Tensor.apply(ReshapeOp(shape: shape), self)
    }

    /// Axes reordered: result axis i is source axis `axes[i]`. A view.
    public func permuted(_ axes: [Int]) -> Tensor {
        let a = axes.map { Shape.normalize($0, rank: rank, op: "permuted") }
        precondition(a.count == rank && Set(a).count == rank, "permuted: \(axes) is not a permutation of \(rank) axes")
        if a == Array(0..<rank) { return self }
        return Tensor.apply(PermuteOp(axes: a), self)
    }

    /// Two axes swapped (default: the last two). A view.
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var axes = Array(0..<rank)
        axes.swapAt(Shape.normalize(a, rank: rank, op: "transposed"), Shape.normalize(b, rank: rank, op: "transposed"))
        return permuted(axes)
    }

    /// Elements `start, start + step, …` below `end` along `axis` (end defaults to the size;
    /// negative start/end count from the end, as in Python). A view.
    public func sliced(axis: Int, start: Int = 0, end: Int? = nil, step: Int = 1) -> Tensor {
        let ax = Shape.normalize(axis, rank: rank, op: "sliced")
        precondition(step >= 1, "sliced: step must be positive, got \(step)")
        let n = shape[ax]
        let lo = Swift.min(Swift.max(start < 0 ? start + n : start, 0), n)
        let hiRaw = end ?? n
        let hi = Swift.min(Swift.max(hiRaw < 0 ? hiRaw + n : hiRaw, lo), n)
        let count = (hi - lo + step - 1) / step
        if lo == 0 && count == n && step == 1 { return self }
        return Tensor.apply(SliceOp(axis: ax, start: lo, count: count, step: step), self)
    }

    /// Broadcast to `newShape` without copying (as `torch.expand`; -1 keeps a size).
    public func expanded(to newShape: [Int]) -> Tensor {
        precondition(newShape.count >= rank, "expanded: cannot expand \(shape) to fewer axes \(newShape)")
        let lead = newShape.count - rank
        let target = newShape.enumerated().map { i, s in s == -1 ? shape[i - lead] : s }
        for i in 0..<rank {
            precondition(shape[i] == target[lead + i] || shape[i] == 1,
                         "expanded: axis \(i) of \(shape) has size \(shape[i]); only size-1 axes expand (target \(newShape))")
        }
        if target == shape { return self }
        return Tensor.apply(ExpandOp(shape: target), self)
    }

    /// A size-1 axis inserted at `axis`. A view.
    public func unsqueezed(axis: Int) -> Tensor {
        let ax = axis < 0 ? axis + rank + 1 : axis
        precondition(ax >= 0 && ax <= rank, "unsqueezed: axis \(axis) is out of range for rank \(rank)")
        var s = shape
        s.insert(1, at: ax)
        return reshaped(s)
    }

    /// Size-1 axes removed: `axis`, or all of them when nil. A view.
    public func squeezed(axis: Int? = nil) -> Tensor {
        if let axis {
            let ax = Shape.normalize(axis, rank: rank, op: "squeezed")
            precondition(shape[ax] == 1, "squeezed: axis \(axis) of \(shape) has size \(shape[ax]), not 1")
            var s = shape
            s.remove(at: ax)
            return reshaped(s)
        }
        return reshaped(shape.filter { $0 != 1 })
    }

    /// Axes from `axis` on merged into one.
    public func flattened(fromAxis axis: Int = 0) -> Tensor {
        let ax = Shape.normalize(axis, rank: rank, op: "flattened")
        return reshaped(Array(shape[..<ax]) + [shape[ax...].reduce(1, *)])
    }

    /// Sliding windows of `size` every `step` along `axis`, as a new last axis (a view).
    public func unfolded(axis: Int, size: Int, step: Int) -> Tensor {
        let ax = Shape.normalize(axis, rank: rank, op: "unfolded")
        precondition(size >= 1 && step >= 1 && size <= shape[ax],
                     "unfolded: window \(size) with step \(step) does not fit axis \(axis) of \(shape)")
        return Tensor.apply(UnfoldOp(axis: ax, size: size, step: step), self)
    }

    /// A row-major copy when the layout is not already contiguous; otherwise `self`.
    public func contiguous() -> Tensor {
        isContiguous ? self : Tensor.apply(ContiguousOp(), self)
    }
}

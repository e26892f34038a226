/// Matrix product of the last two axes with broadcast batch axes (as `torch.matmul` on
/// rank ≥ 2). Transposed views go to BLAS as transpose flags, not copies.
struct MatmulOp: Primitive {
    func forward(_ inputs: [Tensor]) -> Tensor { Kernels.matmul(inputs[0], inputs[1]) }
    func savedValues(_ rg: [Bool]) -> SavedValues { .bilinear(rg) }
    func backward(_ g: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        let (a, b) = (inputs[0], inputs[1])
        return [a.requiresGrad ? g.matmul(b.transposed()).summed(toShape: a.shape) : nil,
                b.requiresGrad ? a.transposed().matmul(g).summed(toShape: b.shape) : nil]
    }
}

extension Tensor {
    /// Matrix product. Rank-1 operands are promoted as in NumPy (a row vector on the left,
    /// a column vector on the right) and the promoted axis is removed from the result.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank >= 1 && other.rank >= 1, "matmul: operands need at least one axis, got \(shape) and \(other.shape)")
        let a = rank == 1 ? unsqueezed(axis: 0) : self
        let b = other.rank == 1 ? other.unsqueezed(axis: 1) : other
        precondition(a.shape[a.rank - 1] == b.shape[b.rank - 2],
                     "matmul: inner sizes differ: \(shape) @ \(other.shape) (\(a.shape[a.rank - 1]) vs \(b.shape[b.rank - 2]))")
        var y = Tensor.apply(MatmulOp(), a, b)
        if rank == 1 { y = y.squeezed(axis: -2) }
        if other.rank == 1 { y = y.squeezed(axis: -1) }
        return y
    }
}

extension Kernels {
    static func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        let (m, k, n) = (a.shape[a.rank - 2], a.shape[a.rank - 1], b.shape[b.rank - 1])
        let batch = Shape.broadcast(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2)), op: "matmul")
        let out = Storage(count: Shape.count(batch) * m * n)
        let outShape = batch + [m, n]

        // One large GEMM when b has no batch of its own and a's rows are evenly spaced:
        // [B, M, K] @ [K, N] is [B·M, K] @ [K, N] (a Linear layer over a sequence).
        if b.rank == 2 || b.shape.dropLast(2).allSatisfy({ $0 == 1 }), a.rank > 2, a.isContiguous {
            let rows = Shape.count(Array(a.shape.dropLast()))
            let bm = matrix(b)
            BLAS.gemm(m: rows, n: n, k: k, .init(base: a.storage.base + a.offset, ld: max(k, 1), transposed: false),
                      bm.matrix, beta: 0, out.base, ldc: n)
            return Tensor(shape: outShape, storage: out)
        }

        let ea = a.expandedView(to: batch + [m, k]), eb = b.expandedView(to: batch + [k, n])
        let ma = matrix(ea), mb = matrix(eb)
        let batchCount = Shape.count(batch)
        for i in 0..<batchCount {
            var (oa, ob) = (0, 0), r = i
            for d in stride(from: batch.count - 1, through: 0, by: -1) {
                let idx = r % batch[d]
                r /= batch[d]
                oa += idx * ma.tensor.strides[d]
                ob += idx * mb.tensor.strides[d]
            }
            BLAS.gemm(m: m, n: n, k: k,
                      .init(base: ma.matrix.base + oa, ld: ma.matrix.ld, transposed: ma.matrix.transposed),
                      .init(base: mb.matrix.base + ob, ld: mb.matrix.ld, transposed: mb.matrix.transposed),
                      beta: 0, out.base + i * m * n, ldc: n)
        }
        return Tensor(shape: outShape, storage: out)
    }

    /// A BLAS view of the last two axes of `t` (copying to contiguous only when its strides
    /// cannot be expressed as a leading dimension plus a transpose flag).
    private static func matrix(_ t: Tensor) -> (tensor: Tensor, matrix: BLAS.Matrix) {
        let r = t.rank
        if let l = BLAS.layout(rows: t.shape[r - 2], cols: t.shape[r - 1], rowStride: t.strides[r - 2], colStride: t.strides[r - 1]) {
            return (t, .init(base: t.storage.base + t.offset, ld: l.ld, transposed: l.transposed))
        }
        let c = t.contiguousValue()
        return (c, .init(base: c.storage.base + c.offset, ld: max(t.shape[r - 1], 1), transposed: false))
    }
}

extension Tensor {
    /// A broadcast view without recording (kernels only).
    func expandedView(to target: [Int]) -> Tensor {
        if target == shape { return self }
        return Tensor(shape: target, strides: Shape.broadcastStrides(self, to: target), offset: offset, storage: storage)
    }
}

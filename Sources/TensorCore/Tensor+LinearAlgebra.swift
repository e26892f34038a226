import Foundation

/// The inverse of a square matrix (LU with partial pivoting, in double precision).
/// Backward: d(A⁻¹) = −A⁻¹ dA A⁻¹, so ∂L/∂A = −A⁻ᵀ G A⁻ᵀ, in differentiable ops on the
/// recorded output.
struct InverseOp: Primitive {
    func forward(_ inputs: [Tensor]) -> Tensor {
        let a = inputs[0]
        let n = a.shape[0]
        let (lu, pivots, _) = LU.decompose(a.scalars.map(Double.init), n: n)
        var inv = [Double](repeating: 0, count: n * n)
        for col in 0..<n {
            var e = [Double](repeating: 0, count: n)
            e[col] = 1
            let x = LU.solve(lu, pivots, e, n: n)
            for row in 0..<n { inv[row * n + col] = x[row] }
        }
        return Tensor(shape: [n, n], scalars: inv.map { Float($0) })
    }
    func savedValues(_: [Bool]) -> SavedValues { .init(inputs: [false], output: true) }
    func backward(_ g: Tensor, inputs _: [Tensor], output y: Tensor) -> [Tensor?] {
        let yt = y.transposed()
        return [-(yt.matmul(g).matmul(yt))]
    }
}

/// log |det A| of a square matrix. Backward: ∂/∂A log|det A| = A⁻ᵀ (through `InverseOp`, so
/// it is differentiable again).
struct LogAbsDeterminantOp: Primitive {
    func forward(_ inputs: [Tensor]) -> Tensor {
        let a = inputs[0]
        let (lu, _, _) = LU.decompose(a.scalars.map(Double.init), n: a.shape[0])
        var s = 0.0
        for i in 0..<a.shape[0] { s += Foundation.log(Swift.abs(lu[i * a.shape[0] + i])) }
        return Tensor(Float(s))
    }
    func savedValues(_: [Bool]) -> SavedValues { .init(inputs: [true], output: false) }
    func backward(_ g: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        [inputs[0].inverse().transposed() * g]
    }
}

/// LU decomposition with partial pivoting, in double precision (small matrices: flows' 1×1 convolutions).
public enum LU {
    /// Doolittle LU with partial pivoting; returns (LU, pivots, sign of the permutation).
    public static func decompose(_ a: [Double], n: Int) -> ([Double], [Int], Double) {
        var lu = a
        var pivots = Array(0..<n)
        var sign = 1.0
        for k in 0..<n {
            var p = k
            for i in (k + 1)..<Swift.max(n, k + 1) where Swift.abs(lu[i * n + k]) > Swift.abs(lu[p * n + k]) { p = i }
            if p != k {
                for j in 0..<n { lu.swapAt(k * n + j, p * n + j) }
                pivots.swapAt(k, p)
                sign = -sign
            }
            let pivot = lu[k * n + k]
            guard pivot != 0 else { continue }
            for i in (k + 1)..<Swift.max(n, k + 1) {
                lu[i * n + k] /= pivot
                let f = lu[i * n + k]
                for j in (k + 1)..<Swift.max(n, k + 1) { lu[i * n + j] -= f * lu[k * n + j] }
            }
        }
        return (lu, pivots, sign)
    }

    /// Solves A x = b from `decompose`'s result.
    public static func solve(_ lu: [Double], _ pivots: [Int], _ b: [Double], n: Int) -> [Double] {
        var x = pivots.map { b[$0] }
        for i in 0..<n { for j in 0..<i { x[i] -= lu[i * n + j] * x[j] } }
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in (i + 1)..<Swift.max(n, i + 1) { x[i] -= lu[i * n + j] * x[j] }
            x[i] /= lu[i * n + i]
        }
        return x
    }
}

extension Tensor {
    /// The inverse of a square matrix [n, n] (differentiable to any order).
    public func inverse() -> Tensor {
        precondition(rank == 2 && shape[0] == shape[1], "inverse: expected a square matrix, got \(shape)")
        return Tensor.apply(InverseOp(), self)
    }

    /// log |det A| of a square matrix [n, n] (differentiable to any order).
    public func logAbsDeterminant() -> Tensor {
        precondition(rank == 2 && shape[0] == shape[1], "logAbsDeterminant: expected a square matrix, got \(shape)")
        return Tensor.apply(LogAbsDeterminantOp(), self)
    }
}


/// Shape arithmetic shared by the ops: element counts, strides, axis normalisation and
/// NumPy broadcasting. Shape errors here are programmer errors and stop with a message that
/// names the op, the shapes and what was expected.
enum Shape {
    static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = s
            s *= shape[i]
        }
        return strides
    }

    static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    static func normalize(_ axis: Int, rank: Int, op: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < max(rank, 1), "\(op): axis \(axis) is out of range for rank \(rank)")
        return a
    }

    static func normalize(_ axes: [Int], rank: Int, op: String) -> [Int] {
        if rank == 0 { return [] }
        let a = axes.map { normalize($0, rank: rank, op: op) }
        precondition(Set(a).count == a.count, "\(op): repeated axis in \(axes)")
        return a.sorted()
    }

    /// The NumPy broadcast of two shapes: align on the right; sizes must match or be 1.
    static func broadcast(_ a: [Int], _ b: [Int], op: String) -> [Int] {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let x = i < n - a.count ? 1 : a[i - (n - a.count)]
            let y = i < n - b.count ? 1 : b[i - (n - b.count)]
            precondition(x == y || x == 1 || y == 1,
                         "\(op): shapes \(a) and \(b) do not broadcast (axis \(i - n) has \(x) vs \(y))")
            out[i] = x == 1 ? y : x
        }
        return out
    }

    /// Strides for viewing `t` at the broadcast shape `target` (0 on expanded axes).
    static func broadcastStrides(_ t: Tensor, to target: [Int]) -> [Int] {
        let lead = target.count - t.rank
        var s = [Int](repeating: 0, count: target.count)
        for i in 0..<t.rank where t.shape[i] != 1 || target[lead + i] == 1 {
            s[lead + i] = t.shape[i] == 1 ? 0 : t.strides[i]
        }
        return s
    }

    /// Merges adjacent axes that every operand walks contiguously, so loops run long and flat.
    /// `strides[k]` are the strides of operand k; returns the merged shape and strides.
    static func coalesce(_ shape: [Int], _ strides: [[Int]]) -> (shape: [Int], strides: [[Int]]) {
        var outShape: [Int] = []
        var outStrides: [[Int]] = Array(repeating: [], count: strides.count)
        for i in 0..<shape.count where shape[i] != 1 {
            if let last = outShape.last,
               strides.indices.allSatisfy({ strides[$0][i] * shape[i] == outStrides[$0].last! }) {
                outShape[outShape.count - 1] = last * shape[i]
                for k in strides.indices { outStrides[k][outStrides[k].count - 1] = strides[k][i] }
            } else {
                outShape.append(shape[i])
                for k in strides.indices { outStrides[k].append(strides[k][i]) }
            }
        }
        if outShape.isEmpty {
            return ([1], strides.map { _ in [1] })
        }
        return (outShape, outStrides)
    }
}

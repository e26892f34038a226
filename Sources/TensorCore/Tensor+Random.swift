extension Tensor {
    /// Normal samples with the given mean and standard deviation.
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                                    using generator: inout RandomGenerator) -> Tensor {
        let n = Shape.count(shape)
        let s = Storage(count: n)
        var i = 0
        while i < n {
            let (a, b) = generator.nextNormalPair()
            s.base[i] = mean + std * a
            if i + 1 < n { s.base[i + 1] = mean + std * b }
            i += 2
        }
        return Tensor(shape: shape, storage: s)
    }

    /// Uniform samples in [low, high).
    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                                     using generator: inout RandomGenerator) -> Tensor {
        let n = Shape.count(shape)
        let s = Storage(count: n)
        for i in 0..<n { s.base[i] = low + (high - low) * generator.nextUniform() }
        return Tensor(shape: shape, storage: s)
    }

    /// 1 with probability `p`, else 0 (as `torch.bernoulli` of a constant).
    public static func randomBernoulli(_ shape: [Int], p: Float,
                                       using generator: inout RandomGenerator) -> Tensor {
        precondition(p >= 0 && p <= 1, "Tensor.randomBernoulli: p = \(p) is outside [0, 1]")
        let n = Shape.count(shape)
        let s = Storage(count: n)
        for i in 0..<n { s.base[i] = generator.nextUniform() < p ? 1 : 0 }
        return Tensor(shape: shape, storage: s)
    }

    /// One class index per row of `probabilities` [..., K] (non-negative, any positive sum),
    /// drawn by inverse-CDF; the result has shape [...] and holds integral values.
    public static func randomCategorical(probabilities: Tensor,
                                         using generator: inout RandomGenerator) -> Tensor {
        precondition(probabilities.rank >= 1, "Tensor.randomCategorical: need at least one axis")
        let k = probabilities.shape[probabilities.rank - 1]
        let p = probabilities.contiguousValue()
        let rows = p.count / Swift.max(k, 1)
        let out = Storage(count: rows)
        let base = p.storage.base + p.offset
        for r in 0..<rows {
            let row = base + r * k
            var total: Double = 0
            for j in 0..<k { total += Double(row[j]) }
            precondition(total > 0 && total.isFinite,
                         "Tensor.randomCategorical: row \(r) sums to \(total); probabilities must be non-negative with a positive sum")
            let u = Double(generator.nextUniform()) * total
            var acc: Double = 0
            var choice = k - 1
            for j in 0..<k {
                acc += Double(row[j])
                if u < acc { choice = j; break }
            }
            // A zero-probability class is never drawn, even at the rounding edge.
            while choice > 0 && row[choice] == 0 { choice -= 1 }
            out.base[r] = Float(choice)
        }
        return Tensor(shape: Array(probabilities.shape.dropLast()), storage: out)
    }

    /// One class index per row of `logits` [..., K], sampled from softmax(logits / temperature).
    public static func randomCategorical(logits: Tensor, temperature: Float = 1,
                                         using generator: inout RandomGenerator) -> Tensor {
        precondition(temperature > 0, "Tensor.randomCategorical: temperature must be positive, got \(temperature)")
        let probs = withoutGradient { (logits.detached() / temperature).softmax(axis: -1) }
        return randomCategorical(probabilities: probs, using: &generator)
    }
}

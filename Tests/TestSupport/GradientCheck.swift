import TensorCore

/// Central finite-difference checks of reverse-mode gradients.
///
/// The scalar checked is L(x) = ⟨f(x), u⟩ for a fixed random u, accumulated in Double. For
/// each input and several random directions v, the analytic ⟨∇L, v⟩ is compared with
/// (L(x + εv) − L(x − εv)) / 2ε. Inputs are leaves that require gradients even in the
/// perturbed evaluations, so `f` may itself call `gradients(…, createGraph: true)`:
/// that is how second-order gradients are checked.
public enum GradientCheck {
    /// A mismatch between the analytic and numeric directional derivative.
    public struct Failure: CustomStringConvertible {
        public let input: Int
        public let analytic: Double
        public let numeric: Double
        public var description: String { "input \(input): analytic \(analytic) vs numeric \(numeric)" }
    }

    /// Returns the failures (empty when every directional derivative agrees).
    /// - Parameters:
    ///   - eps: the finite-difference step (Float32 inputs: 1e-3 balances truncation and rounding).
    ///   - rtol, atol: agreement when |a − n| ≤ atol + rtol · max(|a|, |n|); NaN never agrees.
    public static func failures(_ inputs: [Tensor], eps: Float = 1e-3, rtol: Double = 1e-2, atol: Double = 1e-3,
                                directions: Int = 2, seed: UInt64 = 7,
                                _ f: ([Tensor]) -> Tensor) -> [Failure] {
        var rng = RandomGenerator(seed: seed)
        let leaves = inputs.map { $0.detached().requiringGradient() }
        let y0 = f(leaves)
        let u = Tensor.randomNormal(y0.shape, using: &rng)
        let uScalars = u.scalars.map(Double.init)
        func loss(_ xs: [Tensor]) -> Double {
            let y = f(xs).scalars
            var s = 0.0
            for i in 0..<y.count { s += Double(y[i]) * uScalars[i] }
            return s
        }
        let grads = gradients(of: (y0 * u).sum(), wrt: leaves)
        var out: [Failure] = []
        for i in inputs.indices {
            for _ in 0..<directions {
                let v = Tensor.randomNormal(inputs[i].shape, using: &rng)
                let analytic = zip(grads[i].scalars, v.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                var plus = leaves, minus = leaves
                plus[i] = (inputs[i].detached() + v * eps).requiringGradient()
                minus[i] = (inputs[i].detached() - v * eps).requiringGradient()
                let numeric = (loss(plus) - loss(minus)) / (2 * Double(eps))
                // Negated so that a NaN on either side is a failure, not a silent pass.
                if !(abs(analytic - numeric) <= atol + rtol * max(abs(analytic), abs(numeric))) {
                    out.append(Failure(input: i, analytic: analytic, numeric: numeric))
                }
            }
        }
        return out
    }
}

import Testing
import TensorCore
import TestSupport

/// Second-order gradients: the functions checked are themselves gradients built with
/// `createGraph: true`, so every backward formula along the way must be differentiable.
/// Same tolerance as the first-order grid (rtol 1e-2, atol 1e-3, ε = 1e-3).
@Suite struct SecondOrderTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let shapes: [[Int]]
        let f: @Sendable ([Tensor]) -> Tensor      // inputs[0] is the critic input x
        var testDescription: String { name }
    }

    static let critics: [Case] = [
        Case(name: "linear + leaky ReLU", shapes: [[4, 5], [3, 5], [3], [1, 3]]) { p in
            let h = (p[0].matmul(p[1].transposed()) + p[2]).leakyRelu(slope: 0.2)
            return h.matmul(p[3].transposed())
        },
        Case(name: "conv1d stride + leaky ReLU", shapes: [[2, 2, 12], [3, 2, 4], [3]]) { p in
            p[0].conv1d(p[1], bias: p[2], stride: 2, padding: .explicit([1])).leakyRelu(slope: 0.2).square().sum(axes: [1, 2])
        },
        Case(name: "conv1d causal dilated tanh", shapes: [[1, 3, 9], [2, 3, 2]]) { p in
            p[0].conv1d(p[1], padding: .causal, dilation: 2).tanh().sum(axes: [1, 2])
        },
        Case(name: "conv2d + leaky ReLU", shapes: [[2, 2, 5, 5], [3, 2, 3, 3]]) { p in
            p[0].conv2d(p[1], stride: [2], padding: .explicit([1])).leakyRelu(slope: 0.2).square().sum(axes: [1, 2, 3])
        },
        Case(name: "convTranspose1d", shapes: [[1, 2, 4], [2, 3, 3]]) { p in
            p[0].convTranspose1d(p[1], stride: 2, padding: 1, outputPadding: 1).sigmoid().sum(axes: [1, 2])
        },
        Case(name: "convTranspose2d", shapes: [[1, 2, 3, 3], [2, 2, 2, 2]]) { p in
            p[0].convTranspose2d(p[1], stride: [2]).square().sum(axes: [1, 2, 3])
        },
        Case(name: "gated activation + pooling", shapes: [[1, 2, 8], [4, 2, 3]]) { p in
            let h = p[0].conv1d(p[1], padding: .same).split(into: 2, axis: 1)
            return h[0].gatedTanh(sigmoidGate: h[1]).avgPool1d(kernelSize: 2).sum(axes: [1, 2])
        },
        // Frozen weights: products whose other factor takes no gradient keep only the
        // constant (SavedValues), and the recorded backward must still differentiate.
        Case(name: "frozen conv, matmul and product weights", shapes: [[1, 2, 6], [3]]) { p in
            var g = RandomGenerator(seed: 21)
            let (w, m, k) = (Tensor.randomNormal([3, 2, 3], using: &g), Tensor.randomNormal([6, 2], using: &g),
                             Tensor.randomNormal([1, 3, 6], using: &g))
            let h = (p[0].conv1d(w, bias: p[1], padding: .same).tanh() * k).matmul(m)
            return (h * 0.3).tanh().sum(axes: [1, 2])
        },
        Case(name: "gated halves + pooling", shapes: [[1, 2, 8], [4, 2, 3]]) { p in
            p[0].conv1d(p[1], padding: .same).gatedTanhSigmoid(axis: 1).avgPool1d(kernelSize: 2).sum(axes: [1, 2])
        },
    ]

    /// x ↦ ⟨∇ₓ D(x), u⟩ differentiated with respect to x and every parameter.
    @Test(arguments: critics)
    func gradientOfGradient(_ c: Case) {
        var rng = RandomGenerator(seed: 11)
        let inputs = c.shapes.map { Tensor.randomNormal($0, std: 0.7, using: &rng) }
        let failures = GradientCheck.failures(inputs) { p in
            gradients(of: c.f(p).sum(), wrt: [p[0]], createGraph: true)[0]
        }
        #expect(failures.isEmpty, "\(c.name): \(failures)")
    }

    /// The WGAN-GP penalty (Gulrajani et al. 2017, Eq. 3), differentiated with respect to the
    /// critic's parameters, as the training step does.
    @Test(arguments: critics)
    func gradientPenalty(_ c: Case) {
        var rng = RandomGenerator(seed: 5)
        let inputs = c.shapes.map { Tensor.randomNormal($0, std: 0.7, using: &rng) }
        let failures = GradientCheck.failures(inputs) { p in
            let g = gradients(of: c.f(p).sum(), wrt: [p[0]], createGraph: true)[0]
            return (g.flattened(fromAxis: 1).norm(axis: 1) - 1).square().mean()
        }
        #expect(failures.isEmpty, "\(c.name): \(failures)")
    }

    /// Flows train through log|det W|; its gradient (A⁻ᵀ) must itself be differentiable.
    @Test func logDeterminantHasASecondDerivative() {
        var rng = RandomGenerator(seed: 13)
        let a = Tensor.randomNormal([3, 3], std: 0.3, using: &rng)
        let failures = GradientCheck.failures([a]) { p in
            let m = p[0] + Tensor.eye(3) * 2
            return gradients(of: m.logAbsDeterminant(), wrt: [p[0]], createGraph: true)[0]
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test func secondDerivativeOfTanhIsExact() {
        // d²/dx² tanh x = −2 tanh x (1 − tanh² x)
        let x = Tensor([-1.5, -0.3, 0.2, 2.0]).requiringGradient()
        let g = gradients(of: x.tanh().sum(), wrt: [x], createGraph: true)[0]
        let h = gradients(of: g.sum(), wrt: [x])[0]
        let t = x.detached().tanh()
        #expect(h.isClose(to: t * (1 - t.square()) * -2, rtol: 1e-5, atol: 1e-6))
    }
}

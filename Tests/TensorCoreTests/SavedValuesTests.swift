import Testing
import TensorCore
import TestSupport

/// The graph keeps the values backwards read and drops the rest (`SavedValues`), so a
/// training step holds the activations its gradients need rather than every intermediate.
@Suite struct SavedValuesTests {
    @Test func intermediatesThatNoBackwardReadsAreFreedAtOnce() {
        var rng = RandomGenerator(seed: 3)
        let x = Tensor.randomNormal([8, 16], using: &rng)
        let w = Tensor.randomNormal([4, 8], using: &rng).requiringGradient()
        weak var product: Storage?, shifted: Storage?, scaled: Storage?, squashed: Storage?
        let loss: Tensor = {
            let a = w.matmul(x)      // read by nobody: + does not read its inputs
            let b = a + 1            // read by nobody: scaling by a constant does not either
            let c = b * 0.5          // tanh's backward reads its output, not its input
            let d = c.tanh()
            product = a.storage; shifted = b.storage; scaled = c.storage; squashed = d.storage
            return d.sum()
        }()
        #expect(product == nil && shifted == nil && scaled == nil)
        #expect(squashed != nil)

        // The gradient is still exact: ∂/∂w Σ tanh((wx + 1)/2) = (1 − tanh²)/2 · xᵀ.
        let g = gradients(of: loss, wrt: [w])[0]
        let t = withoutGradient { ((w.detached().matmul(x) + 1) * 0.5).tanh() }
        let expected = ((1 - t.square()) * 0.5).matmul(x.transposed())
        #expect(g.isClose(to: expected, rtol: 1e-5, atol: 1e-6))
    }

    @Test func aProductKeepsOnlyTheFactorTheOtherGradientNeeds() {
        var rng = RandomGenerator(seed: 4)
        let a = Tensor.randomNormal([32], using: &rng).requiringGradient()
        weak var constantFactor: Storage?, differentiatedFactor: Storage?
        var kValues: [Float] = []
        let loss: Tensor = {
            let k = Tensor.randomNormal([32], using: &rng)   // a constant: needed for ∂/∂a
            let b = a * 2                                     // takes a gradient: not needed
            constantFactor = k.storage; differentiatedFactor = b.storage
            kValues = k.scalars
            return (b * k).sum()
        }()
        #expect(constantFactor != nil)
        #expect(differentiatedFactor == nil)
        // ∂/∂a Σ 2a·k = 2k.
        #expect(gradients(of: loss, wrt: [a])[0].scalars == kValues.map { 2 * $0 })
    }
}

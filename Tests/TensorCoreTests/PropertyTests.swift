import Foundation
import Testing
import TensorCore
import TestSupport

/// Views, broadcasting, randomness and numerics: properties that must hold exactly.
@Suite struct ViewTests {
    @Test func viewsShareStorageWithoutCopying() {
        let x = Tensor.arange(0, 24).reshaped([2, 3, 4])
        let views = [x.transposed(0, 2), x.sliced(axis: 2, start: 1, step: 2), x.reshaped([6, 4]),
                     x.permuted([1, 2, 0]), x.unsqueezed(axis: 1), x.sliced(axis: 0, start: 1).squeezed(axis: 0),
                     x.sliced(axis: 1, end: 1).expanded(to: [2, 5, 4]), x.unfolded(axis: 2, size: 2, step: 1)]
        for v in views { #expect(v.storage === x.storage) }
    }

    @Test func viewsReadTheRightElements() {
        let x = Tensor.arange(0, 24).reshaped([2, 3, 4])
        #expect(x.transposed(0, 2).contiguous().scalars.prefix(4) == [0, 12, 4, 16])
        #expect(x.sliced(axis: 2, start: 1, step: 2).scalars == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23])
        #expect(x.sliced(axis: 1, start: -2, end: -1).scalars == [4, 5, 6, 7, 16, 17, 18, 19])
        #expect(x.unfolded(axis: 2, size: 3, step: 1).sliced(axis: 0, end: 1).sliced(axis: 1, end: 1).scalars == [0, 1, 2, 1, 2, 3])
        #expect(x.flipped(axes: [2]).scalars.prefix(4) == [3, 2, 1, 0])
    }

    @Test func writesThroughOneResultNeverCorruptAnother() {
        // Ops write fresh storage: computing from a view leaves the source untouched.
        let x = Tensor.arange(0, 12).reshaped([3, 4])
        let before = x.scalars
        let t = x.transposed()
        _ = (t * 2 + 1).exp()
        _ = t.contiguous()
        _ = Tensor.concat([x, t.transposed()], axis: 0)
        #expect(x.scalars == before)
        #expect(t.contiguous().transposed().scalars == before)
    }

    @Test func reshapeIsAViewWhenLayoutAllowsAndCopiesOtherwise() {
        let x = Tensor.arange(0, 24).reshaped([2, 3, 4])
        let sliced = x.sliced(axis: 0, start: 1)                    // [1, 3, 4], contiguous inside
        #expect(sliced.reshaped([12]).storage === x.storage)
        let t = x.transposed()                                     // [2, 4, 3]
        #expect(t.reshaped([2, 12]).storage !== x.storage)
        #expect(t.reshaped([2, 12]).scalars == t.contiguous().scalars)
        #expect(t.reshaped([2, -1, 3]).shape == [2, 4, 3])
        #expect(x.permuted([1, 0, 2]).reshaped([3, 2, 2, 2]).storage === x.storage)  // splitting an axis keeps the view
    }

    @Test func contiguousCopiesOnlyWhenNeeded() {
        let x = Tensor.ones([3, 4])
        #expect(x.contiguous().storage === x.storage)
        #expect(x.transposed().contiguous().storage !== x.storage)
    }
}

@Suite struct BroadcastTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let a: [Int], b: [Int], result: [Int]?
        var testDescription: String { "\(a) ⊕ \(b)" }
    }
    static let shapes: [Case] = [
        Case(a: [3, 4], b: [4], result: [3, 4]),
        Case(a: [2, 1, 4], b: [3, 1], result: [2, 3, 4]),
        Case(a: [], b: [2, 3], result: [2, 3]),
        Case(a: [5, 1, 1], b: [1, 6, 1], result: [5, 6, 1]),
        Case(a: [1], b: [0], result: [0]),
    ]

    @Test(arguments: shapes)
    func shapesFollowNumPy(_ c: Case) {
        let a = Tensor.ones(c.a), b = Tensor.full(c.b, 2)
        #expect((a + b).shape == c.result)
        #expect((b * a).shape == c.result)
    }

    @Test func valuesFollowNumPy() {
        let col = Tensor(shape: [3, 1], scalars: [0, 10, 20])
        let row = Tensor([1, 2, 3, 4])
        #expect((col + row).scalars == [1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24])
        #expect((row - col).sliced(axis: 0, start: 2).scalars == [-19, -18, -17, -16])
        let x = Tensor.arange(0, 6).reshaped([2, 3])
        #expect((x.transposed() * Tensor([1, 10])).scalars == [0, 30, 1, 40, 2, 50])
    }
}

@Suite struct RandomTests {
    @Test func sameSeedSameBits() {
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42)
        let x = Tensor.randomNormal([1000], using: &a), y = Tensor.randomNormal([1000], using: &b)
        #expect(x.scalars.map(\.bitPattern) == y.scalars.map(\.bitPattern))
        let u = Tensor.randomUniform([100], using: &a), v = Tensor.randomUniform([100], using: &b)
        #expect(u.scalars == v.scalars)
        var c = RandomGenerator(seed: 43)
        #expect(Tensor.randomNormal([1000], using: &c).scalars != x.scalars)
    }

    @Test func distributionsHaveTheirMoments() {
        var rng = RandomGenerator(seed: 1)
        let n = Tensor.randomNormal([100_000], mean: 2, std: 3, using: &rng)
        #expect(abs(n.mean().item - 2) < 0.05)
        #expect(abs(n.variance().sqrt().item - 3) < 0.05)
        let u = Tensor.randomUniform([100_000], low: -1, high: 1, using: &rng)
        #expect(abs(u.mean().item) < 0.02 && u.min().item >= -1 && u.max().item < 1)
        let bern = Tensor.randomBernoulli([100_000], p: 0.3, using: &rng)
        #expect(abs(bern.mean().item - 0.3) < 0.01)
        let probs = Tensor(shape: [1, 3], scalars: [0.2, 0, 0.8]).expanded(to: [20_000, 3])
        let draws = Tensor.randomCategorical(probabilities: probs, using: &rng)
        #expect(!draws.scalars.contains(1))
        #expect(abs(draws.mean().item / 2 - 0.8) < 0.02)
    }
}

@Suite struct OpValueTests {
    @Test func reductionsMatchDirectComputation() {
        var rng = RandomGenerator(seed: 3)
        let x = Tensor.randomNormal([3, 4, 5], using: &rng)
        let v = x.scalars
        func at(_ i: Int, _ j: Int, _ k: Int) -> Float { v[(i * 4 + j) * 5 + k] }
        let s = x.sum(axes: [0, 2]).scalars
        for j in 0..<4 {
            var t: Float = 0
            for i in 0..<3 { for k in 0..<5 { t += at(i, j, k) } }
            #expect(abs(s[j] - t) < 1e-4)
        }
        let m = x.max(axis: 1).scalars
        #expect(m[0] == (0..<4).map { at(0, $0, 0) }.max()!)
        #expect(x.argmax(axis: 1).shape == [3, 5])
        #expect(x.argmax(axis: 1).scalars[0] == Float((0..<4).max { at(0, $0, 0) < at(0, $1, 0) }!))
        let expSum: Double = v.map { Foundation.exp(Double($0)) }.reduce(0, +)
        let lse: Float = x.logSumExp(axes: [0, 1, 2]).item
        #expect(abs(Double(lse) - Foundation.log(expSum)) < 1e-4)
        #expect(x.softmax(axis: 2).sum(axis: 2).isClose(to: Tensor.ones([3, 4]), rtol: 1e-6, atol: 1e-6))
    }

    @Test func matmulMatchesNaiveProduct() {
        var rng = RandomGenerator(seed: 4)
        let a = Tensor.randomNormal([2, 3, 5], using: &rng), b = Tensor.randomNormal([5, 4], using: &rng)
        let c = a.matmul(b)
        let (av, bv) = (a.scalars, b.scalars)
        var naive = [Float](repeating: 0, count: 24)
        for n in 0..<2 { for i in 0..<3 { for j in 0..<4 { for k in 0..<5 {
            naive[(n * 3 + i) * 4 + j] += av[(n * 3 + i) * 5 + k] * bv[k * 4 + j]
        } } } }
        #expect(c.isClose(to: Tensor(shape: [2, 3, 4], scalars: naive), rtol: 1e-5, atol: 1e-5))
        // A transposed view goes to BLAS as a flag and must give the same product.
        #expect(b.transposed().contiguous().transposed().matmul(b.transposed()).isClose(to: b.matmul(b.transposed()), rtol: 1e-6, atol: 1e-6))
    }

    @Test func indexingOps() {
        let x = Tensor.arange(0, 6).reshaped([2, 3])
        #expect(x.indexSelected(axis: 1, indices: [2, 0]).scalars == [2, 0, 5, 3])
        #expect(x.gathered(axis: 1, indices: Tensor(shape: [2, 2], scalars: [1, 1, 0, 2])).scalars == [1, 1, 3, 5])
        #expect(Tensor.oneHot(Tensor([2, 0]), classes: 3).scalars == [0, 0, 1, 1, 0, 0])
        #expect(x.cumulativeSum(axis: 1).scalars == [0, 1, 3, 3, 7, 12])
        #expect(x.repeated(2, axis: 1).scalars == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
        #expect(x.tiled([1, 2]).scalars == [0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5])
        #expect(Tensor([1, 2, 3]).padded([(2, 2)], mode: .reflect).scalars == [3, 2, 1, 2, 3, 2, 1])
        #expect(Tensor([1, 2, 3]).padded([(1, 2)], mode: .constant(9)).scalars == [9, 1, 2, 3, 9, 9])
        #expect(Tensor.eye(2).scalars == [1, 0, 0, 1] && Tensor.linspace(0, 1, count: 5).scalars == [0, 0.25, 0.5, 0.75, 1])
        let p = Tensor([1, 5, 2, 8, 3, 0]).reshaped([1, 1, 6])
        #expect(p.maxPool1d(kernelSize: 2).scalars == [5, 8, 3])
        let averages: [Float] = [8.0 / 3, 11.0 / 3]
        #expect(p.avgPool1d(kernelSize: 3, stride: 3).isClose(to: Tensor(averages).reshaped([1, 1, 2])))
    }

    @Test func noGradientScopeRecordsNothing() {
        let x = Tensor([1, 2, 3]).requiringGradient()
        #expect((x * 2).requiresGrad)
        #expect(!withoutGradient { x * 2 }.requiresGrad)
        #expect(!(x * 2).detached().requiresGrad)
        let g = gradients(of: (x * x.detached()).sum(), wrt: [x])[0]
        #expect(g.scalars == [1, 2, 3])      // the detached factor is a constant
    }

    @Test func gradientsAccumulateOverReuse() {
        let x = Tensor([2]).requiringGradient()
        let y = x * x * x + x.exp()          // 3x² + eˣ
        let g = gradients(of: y.sum(), wrt: [x])[0]
        #expect(abs(g.item - (12 + Float(Foundation.exp(2.0)))) < 1e-4)
    }
}

/// The vectorised approximations in CKernels against double-precision libm.
@Suite struct KernelAccuracyTests {
    @Test func transcendentalsAreAccurate() {
        let xs = Tensor.linspace(-20, 20, count: 40_001)
        let v = xs.scalars.map(Double.init)
        func maxError(_ y: Tensor, _ f: (Double) -> Double, relative: Bool) -> Double {
            zip(y.scalars, v).map { a, x in
                let e = f(x)
                return abs(Double(a) - e) / (relative ? max(abs(e), 1e-30) : 1)
            }.max()!
        }
        #expect(maxError(xs.exp(), Foundation.exp, relative: true) < 3e-7)        // ~2 ulp
        #expect(maxError(xs.tanh(), Foundation.tanh, relative: false) < 5e-7)
        #expect(maxError(xs.sigmoid(), { 1 / (1 + Foundation.exp(-$0)) }, relative: false) < 2e-7)
        let pos = Tensor.linspace(1e-6, 1e4, count: 40_001)
        let pv = pos.scalars.map(Double.init)
        #expect(zip(pos.log().scalars, pv).map { abs(Double($0) - Foundation.log($1)) }.max()! < 2e-6)
        #expect(zip(pos.log1p().scalars, pv).map { abs(Double($0) - Foundation.log1p($1)) / Foundation.log1p($1) }.max()! < 3e-7)
        #expect(Tensor([1e-30]).log1p().item == 1e-30)
        // The fused gate tanh(a) · sigmoid(g) (one division) over a grid that reaches both
        // saturations and the small-a branch.
        let grid = (-100...100).map { Float($0) * 0.2 } + [-300, -1e-5, 0, 3e-4, 1e-3, 300]
        let a = Tensor(grid.flatMap { x in grid.map { _ in x } }), g = Tensor(grid.flatMap { _ in grid })
        let gated = withoutGradient { a.gatedTanh(sigmoidGate: g) }.scalars
        var gateError = 0.0
        for (i, (x, y)) in zip(a.scalars, g.scalars).enumerated() {
            let exact: Double = Foundation.tanh(Double(x)) / (1 + Foundation.exp(-Double(y)))
            gateError = max(gateError, abs(Double(gated[i]) - exact))
        }
        #expect(gateError < 5e-7)
    }

    @Test func specialValuesPropagate() {
        let x = Tensor([.nan, .infinity, -.infinity, 0, -1])
        let e = x.exp().scalars
        #expect(e[0].isNaN && e[1] == .infinity && e[2] == 0 && e[3] == 1)
        let l = x.log().scalars
        #expect(l[0].isNaN && l[1] == .infinity && l[3] == -.infinity && l[4].isNaN)
        #expect(Tensor([.nan, 1]).max().item.isNaN)
        #expect(Tensor([-100, 100]).sigmoid().scalars == [0, 1])
        #expect(Tensor([-100, 100]).softplus().scalars == [0, 100])
    }
}

@Suite(.serialized) struct BufferCacheTests {
    @Test func sizeClassesBoundTheSlack() {
        for bytes in [1 << 18, (1 << 18) + 1, 3_000_000, 64 << 20, (64 << 20) + 12345] {
            let c = BufferCache.sizeClass(bytes)
            #expect(c >= bytes && Double(c) <= Double(bytes) * 1.125 + 64)
            #expect(c % 64 == 0)
        }
    }

    @Test func recycledBuffersNeverAliasLiveTensors() {
        let n = 1 << 20
        var a: Tensor? = Tensor.full([n], 1)
        let live = Tensor.full([n], 2)
        let freed = a!.storage.base
        a = nil                                  // its buffer goes idle
        let b = Tensor.full([n], 3)              // reuses it
        #expect(b.storage.base == freed)
        #expect(live.scalars.allSatisfy { $0 == 2 } && b.scalars.allSatisfy { $0 == 3 })
        #expect(b.storage.base != live.storage.base)
    }
}

/// Bugs found in review, each reproduced first; every test failed before its fix.
@Suite struct RegressionTests {
    @Test func reducingSizeOneAxesOfAView() {
        let x = Tensor.arange(0, 6).reshaped([2, 3])
        #expect(x.sliced(axis: 0, start: 1).sum(axis: 0).scalars == [3, 4, 5])
        let a = Tensor.zeros([3]).requiringGradient(), b = Tensor.zeros([1, 3]).requiringGradient()
        let z = (Tensor.concat([a + b, Tensor.ones([1, 3])], axis: 0) * Tensor([[1, 2, 3], [4, 5, 6]])).sum()
        #expect(gradients(of: z, wrt: [a])[0].scalars == [1, 2, 3])
    }

    @Test func conv2dWithUnitHeightAndHeightPadding() {
        let x = Tensor(shape: [1, 1, 1, 5], scalars: [1, 2, 3, 4, 5]), w = Tensor(shape: [1, 1, 1, 3], scalars: [1, 10, 100])
        let y = x.conv2d(w, padding: .explicit([1]))
        #expect(y.shape == [1, 1, 3, 5])
        #expect(y.scalars == [0, 0, 0, 0, 0, 210, 321, 432, 543, 54, 0, 0, 0, 0, 0])
    }

    @Test func matmulEdgeCases() {
        #expect(Tensor([1, 2, 3]).matmul(Tensor([4, 5, 6])).item == 32)
        #expect(Tensor.zeros([256, 0]).matmul(Tensor.zeros([0, 256])).scalars.allSatisfy { $0 == 0 })
        #expect(Tensor.zeros([1, 256, 0]).matmul(Tensor.zeros([0, 256])).scalars.allSatisfy { $0 == 0 })
    }

    @Test func convTransposeWithOutputPaddingBelowDilation() {
        let y = Tensor.ones([1, 1, 4]).convTranspose1d(Tensor.ones([1, 1, 3]), stride: 1, outputPadding: 1, dilation: 2)
        #expect(y.scalars == [1, 1, 2, 2, 2, 2, 1, 1, 0])
    }

    @Test func convWeightGradientOfAnEmptyBatchIsZero() {
        let x = Tensor.zeros([0, 4, 32]).requiringGradient(), w = Tensor.ones([4, 4, 3]).requiringGradient()
        #expect(gradients(of: x.conv1d(w, stride: 2).sum(), wrt: [w])[0].scalars.allSatisfy { $0 == 0 })
    }

    @Test func normGradientAtZeroIsZero() {
        let g = Tensor([[0, 0, 0], [3, 4, 0]]).requiringGradient()
        let d = gradients(of: (g.norm(axis: 1) - 1).square().mean(), wrt: [g])[0].scalars
        #expect(d.allSatisfy { $0.isFinite })
        #expect(Array(d.prefix(3)) == [0, 0, 0])
    }

    @Test func clampPassesTheWholeGradientAtItsBounds() {
        let x = Tensor([0, 1, 2, 3]).requiringGradient()
        #expect(gradients(of: x.clamped(min: 0, max: 2).sum(), wrt: [x])[0].scalars == [1, 1, 1, 0])
    }

    @Test func rankZeroReductions() {
        #expect(Tensor(Float(3)).sum(axis: 0).item == 3)
        #expect(Tensor(Float(3)).mean().item == 3)
        #expect(Tensor(Float(3)).softmax(axis: 0).item == 1)
    }
}

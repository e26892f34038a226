import Testing
import TensorCore
import TestSupport

/// How a gradient-check input is drawn and laid out.
struct InputSpec: Sendable {
    enum Values: Sendable { case normal, positive, awayFromZero, distinct, indices(Int) }
    enum Layout: Sendable { case contiguous, transposed, strided }
    let shape: [Int]
    var values: Values = .normal
    var layout: Layout = .contiguous

    func make(_ rng: inout RandomGenerator) -> Tensor {
        var drawShape = shape
        switch layout {
        case .contiguous: break
        case .transposed: drawShape.swapAt(drawShape.count - 1, drawShape.count - 2)
        case .strided: drawShape[drawShape.count - 1] *= 2
        }
        let n = drawShape.reduce(1, *)
        var x = Tensor.randomNormal(drawShape, using: &rng)
        switch values {
        case .normal: break
        // Inputs stay away from kinks and singularities, so central differences are valid.
        case .positive: x = x.abs() + 0.5
        case .awayFromZero: x = x + x.sign() * 0.2
        case .distinct: x = Tensor(shape: drawShape, scalars: (0..<n).map { Float($0) * 0.37 }.shuffled(using: &rng))
        case .indices(let k): x = Tensor(shape: drawShape, scalars: (0..<n).map { _ in Float(Int.random(in: 0..<k, using: &rng)) })
        }
        switch layout {
        case .contiguous: return x
        case .transposed: return x.transposed()
        case .strided: return x.sliced(axis: -1, step: 2)
        }
    }
}

/// One row of the gradient-check grid: inputs, the function, and which inputs to check.
struct GradCase: CustomTestStringConvertible, Sendable {
    let name: String
    let inputs: [InputSpec]
    var constant: Set<Int> = []    // inputs that are data (indices), not differentiated
    let f: @Sendable ([Tensor]) -> Tensor
    var testDescription: String { name }

    init(_ name: String, _ inputs: [InputSpec], constant: Set<Int> = [], _ f: @escaping @Sendable ([Tensor]) -> Tensor) {
        self.name = name; self.inputs = inputs; self.constant = constant; self.f = f
    }
}

func s(_ shape: Int..., v: InputSpec.Values = .normal, layout: InputSpec.Layout = .contiguous) -> InputSpec {
    InputSpec(shape: shape, values: v, layout: layout)
}

let unaryCases: [GradCase] = [
    GradCase("neg", [s(3, 4)]) { -$0[0] },
    GradCase("abs", [s(3, 4, v: .awayFromZero)]) { $0[0].abs() },
    GradCase("exp transposed", [s(3, 4, layout: .transposed)]) { $0[0].exp() },
    GradCase("log", [s(3, 4, v: .positive)]) { $0[0].log() },
    GradCase("log1p strided", [s(2, 5, v: .positive, layout: .strided)]) { $0[0].log1p() },
    GradCase("sqrt", [s(3, 4, v: .positive)]) { $0[0].sqrt() },
    GradCase("square", [s(5)]) { $0[0].square() },
    GradCase("pow 2.5", [s(3, 4, v: .positive)]) { $0[0].pow(2.5) },
    GradCase("pow -1.5", [s(3, 4, v: .positive)]) { $0[0].pow(-1.5) },
    GradCase("reciprocal", [s(3, 4, v: .positive)]) { $0[0].reciprocal() },
    GradCase("tanh", [s(2, 3, 4)]) { $0[0].tanh() },
    GradCase("sigmoid transposed", [s(3, 4, layout: .transposed)]) { $0[0].sigmoid() },
    GradCase("relu", [s(3, 4, v: .awayFromZero)]) { $0[0].relu() },
    GradCase("leakyRelu 0.2", [s(3, 4, v: .awayFromZero)]) { $0[0].leakyRelu(slope: 0.2) },
    GradCase("elu", [s(3, 4, v: .awayFromZero)]) { $0[0].elu(alpha: 1.3) },
    GradCase("softplus", [s(3, 4)]) { ($0[0] * 3).softplus() },
    GradCase("gelu exact", [s(3, 4)]) { $0[0].gelu() },
    GradCase("gelu tanh", [s(3, 4)]) { $0[0].gelu(approximateTanh: true) },
    GradCase("sin", [s(3, 4)]) { $0[0].sin() },
    GradCase("cos", [s(3, 4)]) { $0[0].cos() },
    GradCase("erf", [s(3, 4)]) { $0[0].erf() },
    GradCase("clamp", [s(4, 5, v: .distinct)]) { $0[0].clamped(min: 1, max: 5) },
    GradCase("scalar ops", [s(3, 4, v: .positive)]) { (2 - $0[0] * 3 + 1) / 4 + 1 / $0[0] },
    GradCase("gated tanh·sigmoid", [s(2, 3, 5), s(2, 3, 5)]) { $0[0].gatedTanh(sigmoidGate: $0[1]) },
    GradCase("gated tanh·sigmoid strided", [s(2, 3, 5, layout: .strided), s(2, 3, 5, layout: .transposed)]) { $0[0].gatedTanh(sigmoidGate: $0[1]) },
    GradCase("gated halves axis 1", [s(2, 6, 5)]) { $0[0].gatedTanhSigmoid(axis: 1) },
    GradCase("gated halves last axis, transposed", [s(3, 4, layout: .transposed)]) { $0[0].gatedTanhSigmoid(axis: -1) },
    GradCase("gated halves axis 0", [s(4, 3)]) { $0[0].gatedTanhSigmoid(axis: 0) },
]

let binaryCases: [GradCase] = [
    GradCase("add broadcast row", [s(3, 4), s(4)]) { $0[0] + $0[1] },
    GradCase("sub broadcast col", [s(2, 3, 4), s(3, 1)]) { $0[0] - $0[1] },
    GradCase("mul outer broadcast", [s(3, 1), s(1, 4)]) { $0[0] * $0[1] },
    GradCase("mul transposed", [s(3, 4, layout: .transposed), s(3, 4)]) { $0[0] * $0[1] },
    GradCase("div", [s(3, 4), s(4, v: .positive)]) { $0[0] / $0[1] },
    GradCase("maximum", [s(3, 4), s(3, 4)]) { $0[0].maximum($0[1] + 0.05) },
    GradCase("minimum broadcast", [s(3, 4), s(1, 4)]) { $0[0].minimum($0[1] + 0.05) },
    GradCase("pow tensor", [s(3, 4, v: .positive), s(3, 4)]) { $0[0].pow($0[1]) },
    GradCase("where", [s(3, 4), s(3, 4), s(4)]) { Tensor.select($0[0] > 0, $0[1], $0[2]) },
]

let reductionCases: [GradCase] = [
    GradCase("sum axis 1 keep", [s(2, 3, 4)]) { $0[0].sum(axis: 1, keepDims: true) },
    GradCase("sum axes 0,2", [s(2, 3, 4)]) { $0[0].sum(axes: [0, 2]) },
    GradCase("sum all transposed", [s(3, 4, layout: .transposed)]) { $0[0].sum() },
    GradCase("mean axis -1", [s(2, 3, 4)]) { $0[0].mean(axis: -1) },
    GradCase("variance", [s(3, 6)]) { $0[0].variance(axes: [1]) },
    GradCase("max axis 1", [s(3, 5, v: .distinct)]) { $0[0].max(axis: 1) },
    GradCase("min axes 0,1", [s(3, 4, 2, v: .distinct)]) { $0[0].min(axes: [0, 1], keepDims: true) },
    GradCase("logSumExp", [s(3, 5)]) { $0[0].logSumExp(axis: 1) },
    GradCase("norm", [s(3, 5)]) { $0[0].norm(axis: 1) },
    GradCase("softmax", [s(3, 5)]) { $0[0].softmax(axis: -1) },
    GradCase("logSoftmax axis 0", [s(4, 3)]) { $0[0].logSoftmax(axis: 0) },
    GradCase("cumsum", [s(2, 5, 3)]) { $0[0].cumulativeSum(axis: 1) },
]

let viewCases: [GradCase] = [
    GradCase("reshape of transposed (copy)", [s(3, 4, layout: .transposed)]) { $0[0].reshaped([2, 6]) * $0[0].reshaped([2, 6]) },
    GradCase("permute", [s(2, 3, 4)]) { $0[0].permuted([2, 0, 1]).square() },
    GradCase("slice with step", [s(4, 9)]) { $0[0].sliced(axis: 1, start: 1, end: 8, step: 3).square() },
    GradCase("expand", [s(3, 1)]) { $0[0].expanded(to: [2, 3, 4]).square() },
    GradCase("squeeze/unsqueeze", [s(3, 1, 4)]) { $0[0].squeezed(axis: 1).unsqueezed(axis: 0).square() },
    GradCase("unfold overlapping", [s(2, 7)]) { $0[0].unfolded(axis: 1, size: 3, step: 2).square() },
    GradCase("contiguous", [s(3, 4, layout: .strided)]) { $0[0].contiguous().square() },
    GradCase("concat", [s(2, 3), s(2, 2), s(2, 1)]) { Tensor.concat($0, axis: 1).square() },
    GradCase("stack", [s(2, 3), s(2, 3)]) { Tensor.stack($0, axis: 1).square() },
    GradCase("split", [s(2, 6)]) { let p = $0[0].split(sizes: [2, 4], axis: 1); return p[0].sum(axis: 1) * p[1].sum(axis: 1) },
    GradCase("chunk", [s(7, 2)]) { $0[0].chunked(3, axis: 0)[2].square() },
    GradCase("indexSelect repeats", [s(5, 3)]) { $0[0].indexSelected(axis: 0, indices: [4, 0, 4, 2]).square() },
    GradCase("gather", [s(3, 5), s(3, 4, v: .indices(5))], constant: [1]) { $0[0].gathered(axis: 1, indices: $0[1]).square() },
    GradCase("embedding", [s(6, 3), s(2, 4, v: .indices(6))], constant: [1]) { $0[0].embedding($0[1]).square() },
    GradCase("flip", [s(3, 4)]) { $0[0].flipped(axes: [0, 1]) * Tensor.arange(0, 4) },
    GradCase("repeat interleave", [s(2, 3)]) { $0[0].repeated(2, axis: 1).square() },
    GradCase("tile", [s(2, 3)]) { $0[0].tiled([2, 3]).square() },
    GradCase("upsample nearest 2d", [s(1, 2, 2, 3)]) { $0[0].upsampledNearest(scale: [2, 3]).square() },
    GradCase("pad constant", [s(2, 3, 4)]) { $0[0].padded([(1, 2), (3, 0)], mode: .constant(0.5)).square() },
    GradCase("pad reflect", [s(2, 5)]) { $0[0].padded([(3, 2)], mode: .reflect).square() },
    GradCase("pad replicate", [s(2, 3)]) { $0[0].padded([(2, 2)], mode: .replicate).square() },
]

let linearAlgebraCases: [GradCase] = [
    GradCase("matmul 2d", [s(3, 4), s(4, 5)]) { $0[0].matmul($0[1]) },
    GradCase("matmul transposed operands", [s(3, 4, layout: .transposed), s(4, 5, layout: .transposed)]) { $0[0].matmul($0[1]) },
    GradCase("matmul batched broadcast", [s(2, 3, 4), s(4, 5)]) { $0[0].matmul($0[1]) },
    GradCase("matmul batch broadcast both", [s(2, 1, 3, 4), s(3, 4, 2)]) { $0[0].matmul($0[1]) },
    GradCase("matmul vector", [s(4), s(4, 3)]) { $0[0].matmul($0[1]) },
    GradCase("matmul strided", [s(3, 4, layout: .strided), s(4, 2)]) { $0[0].matmul($0[1]) },
    // Well-conditioned matrices: 2·I plus a perturbation.
    GradCase("inverse", [s(4, 4)]) { ($0[0] * 0.3 + Tensor.eye(4) * 2).inverse() },
    GradCase("logAbsDeterminant", [s(5, 5)]) { ($0[0] * 0.3 + Tensor.eye(5) * 2).logAbsDeterminant() },
]

let convCases: [GradCase] = [
    GradCase("conv1d valid", [s(2, 3, 9), s(4, 3, 3), s(4)]) { $0[0].conv1d($0[1], bias: $0[2]) },
    GradCase("conv1d causal dilated", [s(2, 3, 11), s(4, 3, 2)]) { $0[0].conv1d($0[1], padding: .causal, dilation: 4) },
    GradCase("conv1d same groups", [s(1, 4, 8), s(6, 2, 3)]) { $0[0].conv1d($0[1], padding: .same, groups: 2) },
    GradCase("conv1d stride pad", [s(2, 2, 10), s(3, 2, 4)]) { $0[0].conv1d($0[1], stride: 3, padding: .explicit([2])) },
    GradCase("conv1d pointwise", [s(2, 3, 5), s(4, 3, 1)]) { $0[0].conv1d($0[1]) },
    GradCase("conv1d depthwise stride dilation", [s(1, 3, 13), s(3, 1, 3)]) { $0[0].conv1d($0[1], stride: 2, padding: .same, dilation: 2, groups: 3) },
    GradCase("conv2d", [s(2, 2, 5, 6), s(3, 2, 3, 2), s(3)]) { $0[0].conv2d($0[1], bias: $0[2], padding: .explicit([1, 0])) },
    GradCase("conv2d stride dilation groups", [s(1, 4, 7, 7), s(2, 2, 2, 3)]) { $0[0].conv2d($0[1], stride: [2, 1], padding: .same, dilation: [1, 2], groups: 2) },
    GradCase("convTranspose1d", [s(2, 3, 5), s(3, 2, 4), s(2)]) { $0[0].convTranspose1d($0[1], bias: $0[2], stride: 3, padding: 1, outputPadding: 2) },
    GradCase("convTranspose1d groups dilation", [s(1, 4, 4), s(4, 1, 3)]) { $0[0].convTranspose1d($0[1], stride: 2, padding: 1, outputPadding: 1, dilation: 2, groups: 2) },
    GradCase("convTranspose2d", [s(1, 2, 3, 3), s(2, 3, 3, 2)]) { $0[0].convTranspose2d($0[1], stride: [2, 1], padding: [1, 0], outputPadding: [1, 0]) },
    GradCase("avgPool1d", [s(2, 3, 9)]) { $0[0].avgPool1d(kernelSize: 3, stride: 2, padding: 1) },
    GradCase("maxPool1d", [s(2, 3, 9, v: .distinct)]) { $0[0].maxPool1d(kernelSize: 3, stride: 2, padding: 1) },
    GradCase("avgPool2d", [s(1, 2, 5, 6)]) { $0[0].avgPool2d(kernelSize: [2, 3]) },
    GradCase("maxPool2d", [s(1, 2, 6, 6, v: .distinct)]) { $0[0].maxPool2d(kernelSize: [3, 3], stride: [2, 2], padding: [1]) },
]

/// Every differentiable primitive (and the composites built on them) against central
/// finite differences. Tolerance: rtol 1e-2, atol 1e-3 with ε = 1e-3 in Float32, where the
/// O(ε²) truncation error and Float32 rounding (~1e-7/ε relative) both sit well below it.
@Suite struct GradientTests {
    static let all = unaryCases + binaryCases + reductionCases + viewCases + linearAlgebraCases + convCases

    @Test(arguments: all)
    func firstOrder(_ c: GradCase) {
        var rng = RandomGenerator(seed: UInt64(c.name.utf8.reduce(0) { $0 &* 31 &+ Int($1) }.magnitude))
        let inputs = c.inputs.map { $0.make(&rng) }
        let checked = inputs.indices.filter { !c.constant.contains($0) }
        let failures = GradientCheck.failures(checked.map { inputs[$0] }) { xs in
            var all = inputs
            for (k, i) in checked.enumerated() { all[i] = xs[k] }
            return c.f(all)
        }
        #expect(failures.isEmpty, "\(c.name): \(failures)")
    }

    /// The same check with one input at a time taking a gradient and the others constants:
    /// what a backward reads depends on which inputs take one (a product keeps each factor
    /// only for the other's gradient, `SavedValues`), and a value it reads without having
    /// declared it is a NaN stand-in, which fails here.
    @Test(arguments: all.filter { $0.inputs.count - $0.constant.count >= 2 })
    func eachInputAlone(_ c: GradCase) {
        var rng = RandomGenerator(seed: UInt64(c.name.utf8.reduce(0) { $0 &* 31 &+ Int($1) }.magnitude))
        let inputs = c.inputs.map { $0.make(&rng) }
        for i in inputs.indices where !c.constant.contains(i) {
            let failures = GradientCheck.failures([inputs[i]]) { xs in
                var all = inputs
                all[i] = xs[0]
                return c.f(all)
            }
            #expect(failures.isEmpty, "\(c.name), input \(i) alone: \(failures)")
        }
    }
}

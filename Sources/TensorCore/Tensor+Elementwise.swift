import CKernels
import Foundation

/// Elementwise functions of one tensor. Each backward is written in differentiable ops and
/// reuses the recorded output where the derivative is a function of it (exp, tanh, sigmoid).
struct UnaryOp: Primitive {
    enum Kind {
        case neg, abs, exp, log, log1p, sqrt, square, tanh, sigmoid, relu, leakyRelu, elu,
             softplus, sin, cos, erf, pow, reciprocal, addScalar, mulScalar
    }
    let kind: Kind
    var alpha: Float = 0

    private var kernel: wk_unary_op {
        switch kind {
        case .neg: WK_NEG
        case .abs: WK_ABS
        case .exp: WK_EXP
        case .log: WK_LOG
        case .log1p: WK_LOG1P
        case .sqrt: WK_SQRT
        case .square: WK_SQUARE
        case .tanh: WK_TANH
        case .sigmoid: WK_SIGMOID
        case .relu: WK_RELU
        case .leakyRelu: WK_LEAKY_RELU
        case .elu: WK_ELU
        case .softplus: WK_SOFTPLUS
        case .sin: WK_SIN
        case .cos: WK_COS
        case .erf: WK_ERF
        case .pow: WK_POW_SCALAR
        case .reciprocal: WK_RECIPROCAL
        case .addScalar: WK_ADD_SCALAR
        case .mulScalar: WK_MUL_SCALAR
        }
    }

    func forward(_ inputs: [Tensor]) -> Tensor { Kernels.unary(kernel, inputs[0], alpha: alpha) }

    func savedValues(_: [Bool]) -> SavedValues {
        switch kind {
        case .neg, .addScalar, .mulScalar: .none(1)
        case .exp, .sqrt, .tanh, .sigmoid, .reciprocal: .init(inputs: [false], output: true)
        case .elu: .all(1)
        case .abs, .log, .log1p, .square, .relu, .leakyRelu, .softplus, .sin, .cos, .erf, .pow:
            .init(inputs: [true], output: false)
        }
    }

    func backward(_ g: Tensor, inputs: [Tensor], output y: Tensor) -> [Tensor?] {
        let x = inputs[0]
        switch kind {
        case .neg: return [-g]
        case .abs: return [g * x.detached().sign()]
        case .exp: return [g * y]
        case .log: return [g / x]
        case .log1p: return [g / (x + 1)]
        case .sqrt: return [g / (y * 2)]
        case .square: return [g * x * 2]
        case .tanh: return [g * (1 - y.square())]
        case .sigmoid: return [g * y * (1 - y)]
        case .relu: return [g * x.detached().heaviside()]
        case .leakyRelu:
            let positive = x.detached().heaviside()
            return [g * (positive + (1 - positive) * alpha)]
        case .elu:
            // d/dx = 1 for x > 0, α·eˣ = y + α otherwise.
            return [Tensor.select(x.detached() > 0, g, g * (y + alpha))]
        case .softplus: return [g * x.sigmoid()]
        case .sin: return [g * x.cos()]
        case .cos: return [-g * x.sin()]
        case .erf: return [g * (-x.square()).exp() * Float(2 / Double.pi.squareRoot())]
        case .pow: return [g * x.pow(alpha - 1) * alpha]
        case .reciprocal: return [-g * y.square()]
        case .addScalar: return [g]
        case .mulScalar: return [g * alpha]
        }
    }
}

/// tanh(a) · sigmoid(b), the gated activation of WaveNet (van den Oord et al. 2016, Eq. 2)
/// and WaveGlow's WN layers, fused into one pass over memory. Its backward recomputes the two
/// factors from the inputs, so it stays differentiable to any order.
struct GatedTanhSigmoidOp: Primitive {
    func forward(_ inputs: [Tensor]) -> Tensor { Kernels.gated(inputs[0], inputs[1]) }
    func savedValues(_: [Bool]) -> SavedValues { .init(inputs: [true, true], output: false) }
    func backward(_ g: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        let (a, b) = (inputs[0], inputs[1])
        if !GradientMode.isRecording {
            // Not recorded: one fused pass.
            let (ca, cb, cg) = (a.contiguousValue(), b.contiguousValue(), g.contiguousValue())
            let (da, db) = (Storage(count: ca.count), Storage(count: ca.count))
            let (pa, pb, pg) = (ca.storage.base + ca.offset, cb.storage.base + cb.offset, cg.storage.base + cg.offset)
            Parallel.forChunks(ca.count, grain: 1 << 14) { r in
                let i = r.lowerBound
                wk_gated_backward(r.count, pa + i, pb + i, pg + i, da.base + i, db.base + i)
            }
            return [a.requiresGrad ? Tensor(shape: a.shape, storage: da) : nil,
                    b.requiresGrad ? Tensor(shape: b.shape, storage: db) : nil]
        }
        let (ga, gb) = gateGradients(g, a, b, a.requiresGrad, b.requiresGrad)
        return [ga, gb]
    }
}

/// tanh(a)·σ(b)'s input gradients in differentiable ops, for recorded backwards (gradients of
/// gradients); plain backwards use the fused `wk_gated_backward`.
private func gateGradients(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ needA: Bool, _ needB: Bool) -> (Tensor?, Tensor?) {
    let t = a.tanh(), s = b.sigmoid()
    return (needA ? g * s * (1 - t.square()) : nil, needB ? g * t * s * (1 - s) : nil)
}

/// tanh(first half) · sigmoid(second half) along `axis`: the gate of WaveNet and WaveGlow's WN
/// on the output of the one convolution that makes both halves. Forward and backward are one
/// pass each over the undivided tensor; gating two slices instead costs two copies forward
/// and, backward, two zero-filled slice gradients and their sum.
struct GatedHalvesOp: Primitive {
    let axis: Int

    func forward(_ inputs: [Tensor]) -> Tensor {
        let x = inputs[0].contiguousValue()
        let (outer, n, inner) = x.split(at: axis)
        var shape = x.shape
        shape[axis] = n / 2
        let half = n / 2 * inner
        let out = Storage(count: outer * half)
        let px = x.storage.base + x.offset
        Self.forEachChunk(outer: outer, half: half) { r, c in
            let a = px + r * 2 * half + c.lowerBound
            wk_gated(c.count, a, a + half, out.base + r * half + c.lowerBound)
        }
        return Tensor(shape: shape, storage: out)
    }

    /// Calls `body(r, range)` over the `half`-element rows r < `outer` in parallel chunks, none
    /// crossing a row (the gate half of row r starts `half` after its filter half).
    private static func forEachChunk(outer: Int, half: Int, _ body: (Int, Range<Int>) -> Void) {
        Parallel.forChunks(outer * half, grain: 1 << 14) { flat in
            var i = flat.lowerBound
            while i < flat.upperBound {
                let r = i / half, end = Swift.min(flat.upperBound, (r + 1) * half)
                body(r, (i - r * half)..<(end - r * half))
                i = end
            }
        }
    }

    func savedValues(_: [Bool]) -> SavedValues { .init(inputs: [true], output: false) }

    func backward(_ g: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        let x = inputs[0]
        let n = x.shape[axis]
        guard !GradientMode.isRecording else {
            // Recorded (gradients of gradients): the same formula in differentiable ops.
            let (ga, gb) = gateGradients(g, x.sliced(axis: axis, end: n / 2), x.sliced(axis: axis, start: n / 2), true, true)
            return [Tensor.concat([ga!, gb!], axis: axis)]
        }
        let cx = x.contiguousValue(), cg = g.contiguousValue()
        let (outer, _, inner) = cx.split(at: axis)
        let half = n / 2 * inner
        let out = Storage(count: cx.count)
        let (px, pg) = (cx.storage.base + cx.offset, cg.storage.base + cg.offset)
        Self.forEachChunk(outer: outer, half: half) { r, c in
            let (a, da) = (px + r * 2 * half + c.lowerBound, out.base + r * 2 * half + c.lowerBound)
            wk_gated_backward(c.count, a, a + half, pg + r * half + c.lowerBound, da, da + half)
        }
        return [Tensor(shape: cx.shape, storage: out)]
    }
}

extension Tensor {
    private func unary(_ kind: UnaryOp.Kind, _ alpha: Float = 0) -> Tensor {
        Tensor.apply(UnaryOp(kind: kind, alpha: alpha), self)
    }

    /// |x|.
    public func abs() -> Tensor { unary(.abs) }
    /// eˣ.
    public func exp() -> Tensor { unary(.exp) }
    /// Natural logarithm.
    public func log() -> Tensor { unary(.log) }
    /// log(1 + x), accurate for small x.
    public func log1p() -> Tensor { unary(.log1p) }
    /// √x.
    public func sqrt() -> Tensor { unary(.sqrt) }
    /// x².
    public func square() -> Tensor { unary(.square) }
    /// xᵖ for a constant exponent.
    public func pow(_ p: Float) -> Tensor {
        if p == 1 { return self }
        if p == 2 { return square() }
        if p == 0.5 { return sqrt() }
        return unary(.pow, p)
    }
    /// 1 / x.
    public func reciprocal() -> Tensor { unary(.reciprocal) }
    /// Hyperbolic tangent.
    public func tanh() -> Tensor { unary(.tanh) }
    /// 1 / (1 + e⁻ˣ).
    public func sigmoid() -> Tensor { unary(.sigmoid) }
    /// max(x, 0).
    public func relu() -> Tensor { unary(.relu) }
    /// x for x > 0, slope · x otherwise (PyTorch's default slope is 0.01; WaveGAN uses 0.2).
    public func leakyRelu(slope: Float = 0.01) -> Tensor { unary(.leakyRelu, slope) }
    /// x for x > 0, α(eˣ − 1) otherwise.
    public func elu(alpha: Float = 1) -> Tensor { unary(.elu, alpha) }
    /// log(1 + eˣ), computed without overflow.
    public func softplus() -> Tensor { unary(.softplus) }
    /// Sine (radians).
    public func sin() -> Tensor { unary(.sin) }
    /// Cosine (radians).
    public func cos() -> Tensor { unary(.cos) }
    /// The error function.
    public func erf() -> Tensor { unary(.erf) }

    /// GELU (Hendrycks & Gimpel 2016): x·Φ(x) exactly, or PyTorch's tanh approximation.
    public func gelu(approximateTanh: Bool = false) -> Tensor {
        if approximateTanh {
            let inner = (self + self.pow(3) * 0.044715) * Float((2 / Double.pi).squareRoot())
            return self * 0.5 * (inner.tanh() + 1)
        }
        return self * 0.5 * ((self * Float(0.5.squareRoot())).erf() + 1)
    }

    /// tanh(self) · sigmoid(gate), fused (WaveNet's gated activation).
    public func gatedTanh(sigmoidGate gate: Tensor) -> Tensor {
        precondition(shape == gate.shape, "gatedTanh: filter \(shape) and gate \(gate.shape) must match")
        return Tensor.apply(GatedTanhSigmoidOp(), self, gate)
    }

    /// tanh of the first half of `axis` times sigmoid of the second half (which must be even):
    /// WaveNet's gated activation on the convolution output that holds filter and gate, as
    /// r9y9's `split` then `tanh(a) * sigmoid(b)`, fused forward and backward.
    public func gatedTanhSigmoid(axis: Int) -> Tensor {
        let ax = Shape.normalize(axis, rank: rank, op: "gatedTanhSigmoid")
        precondition(shape[ax] % 2 == 0, "gatedTanhSigmoid: axis \(axis) has \(shape[ax]) channels; it must hold two equal halves")
        return Tensor.apply(GatedHalvesOp(axis: ax), self)
    }

    /// x clamped to [min, max] (either bound optional); the gradient passes inside the range.
    public func clamped(min lo: Float? = nil, max hi: Float? = nil) -> Tensor {
        var y = self
        if let lo { y = Tensor.select(y.detached() < lo, Tensor(lo), y) }
        if let hi { y = Tensor.select(y.detached() > hi, Tensor(hi), y) }
        return y
    }

    /// −1, 0 or 1 by sign. No gradient.
    public func sign() -> Tensor { Kernels.unary(WK_SIGN, self) }
    /// 1 where x > 0, else 0. No gradient.
    func heaviside() -> Tensor { Kernels.unary(WK_HEAVISIDE, self) }

    /// −x.
    public static prefix func - (x: Tensor) -> Tensor { x.unary(.neg) }
}

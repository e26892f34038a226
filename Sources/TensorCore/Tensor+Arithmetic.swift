import CKernels

/// Binary elementwise functions with NumPy broadcasting. Gradients are summed back to each
/// input's shape, so broadcasting is differentiable like any other op.
struct BinaryOp: Primitive {
    enum Kind { case add, sub, mul, div, maximum, minimum, pow }
    let kind: Kind

    func forward(_ inputs: [Tensor]) -> Tensor {
        let op: wk_binary_op
        switch kind {
        case .add: op = WK_ADD
        case .sub: op = WK_SUB
        case .mul: op = WK_MUL
        case .div: op = WK_DIV
        case .maximum: op = WK_MAXIMUM
        case .minimum: op = WK_MINIMUM
        case .pow: op = WK_POW
        }
        return Kernels.binary(op, inputs[0], inputs[1], name: "\(kind)")
    }

    func savedValues(_ rg: [Bool]) -> SavedValues {
        switch kind {
        case .add, .sub: .none(2)
        case .mul: .bilinear(rg)
        case .div: .init(inputs: [false, true], output: rg[1])     // g / b and −g·y / b
        case .maximum, .minimum: .init(inputs: [true, true], output: false)
        case .pow: .init(inputs: [true, true], output: rg[1])
        }
    }

    func backward(_ g: Tensor, inputs: [Tensor], output y: Tensor) -> [Tensor?] {
        let (a, b) = (inputs[0], inputs[1])
        var ga: Tensor?, gb: Tensor?
        switch kind {
        case .add:
            ga = g; gb = g
        case .sub:
            ga = g; gb = b.requiresGrad ? -g : nil
        case .mul:
            ga = a.requiresGrad ? g * b : nil
            gb = b.requiresGrad ? g * a : nil
        case .div:
            ga = a.requiresGrad ? g / b : nil
            gb = b.requiresGrad ? -g * y / b : nil
        case .maximum, .minimum:
            // A tie splits the gradient evenly, as torch.maximum does.
            let share = kind == .maximum ? Kernels.binary(WK_MAX_SHARE, a.detached(), b.detached(), name: "maximum")
                                         : Kernels.binary(WK_MAX_SHARE, b.detached(), a.detached(), name: "minimum")
            ga = a.requiresGrad ? g * share : nil
            gb = b.requiresGrad ? g * (1 - share) : nil
        case .pow:
            ga = a.requiresGrad ? g * b * a.pow(b - 1) : nil
            gb = b.requiresGrad ? g * y * a.log() : nil
        }
        return [ga.map { $0.summed(toShape: a.shape) }, gb.map { $0.summed(toShape: b.shape) }]
    }
}

/// `mask ? a : b`; the mask is a constant (no gradient), a and b receive the gradient where chosen.
struct SelectOp: Primitive {
    func forward(_ inputs: [Tensor]) -> Tensor { Kernels.select(inputs[0], inputs[1], inputs[2]) }
    func savedValues(_: [Bool]) -> SavedValues { .init(inputs: [true, false, false], output: false) }
    func backward(_ g: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        let (m, a, b) = (inputs[0].detached(), inputs[1], inputs[2])
        let zero = Tensor(Float(0))
        return [nil,
                a.requiresGrad ? Tensor.select(m, g, zero).summed(toShape: a.shape) : nil,
                b.requiresGrad ? Tensor.select(m, zero, g).summed(toShape: b.shape) : nil]
    }
}

extension Tensor {
    private static func binary(_ kind: BinaryOp.Kind, _ a: Tensor, _ b: Tensor) -> Tensor {
        Tensor.apply(BinaryOp(kind: kind), a, b)
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(.add, a, b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(.sub, a, b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { binary(.mul, a, b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { binary(.div, a, b) }

    public static func + (a: Tensor, b: Float) -> Tensor { Tensor.apply(UnaryOp(kind: .addScalar, alpha: b), a) }
    public static func + (a: Float, b: Tensor) -> Tensor { b + a }
    public static func - (a: Tensor, b: Float) -> Tensor { a + (-b) }
    public static func - (a: Float, b: Tensor) -> Tensor { (-b) + a }
    public static func * (a: Tensor, b: Float) -> Tensor { Tensor.apply(UnaryOp(kind: .mulScalar, alpha: b), a) }
    public static func * (a: Float, b: Tensor) -> Tensor { b * a }
    public static func / (a: Tensor, b: Float) -> Tensor { a * (1 / b) }
    public static func / (a: Float, b: Tensor) -> Tensor { b.reciprocal() * a }

    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }

    /// Elementwise maximum (NaN propagates; ties split the gradient).
    public func maximum(_ other: Tensor) -> Tensor { Tensor.binary(.maximum, self, other) }
    /// Elementwise minimum (NaN propagates; ties split the gradient).
    public func minimum(_ other: Tensor) -> Tensor { Tensor.binary(.minimum, self, other) }
    /// Elementwise power with a tensor exponent (the base must be positive where the exponent's
    /// gradient is wanted).
    public func pow(_ exponent: Tensor) -> Tensor { Tensor.binary(.pow, self, exponent) }

    /// Elements of `a` where `mask` is non-zero, else of `b`, with broadcasting (`torch.where`).
    public static func select(_ mask: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        Tensor.apply(SelectOp(), mask.detached(), a, b)
    }

    // Comparisons give 1/0 masks without gradient.
    public static func > (a: Tensor, b: Tensor) -> Tensor { Kernels.binary(WK_GT, a, b, name: ">") }
    public static func >= (a: Tensor, b: Tensor) -> Tensor { Kernels.binary(WK_GE, a, b, name: ">=") }
    public static func < (a: Tensor, b: Tensor) -> Tensor { Kernels.binary(WK_LT, a, b, name: "<") }
    public static func <= (a: Tensor, b: Tensor) -> Tensor { Kernels.binary(WK_LE, a, b, name: "<=") }
    public static func > (a: Tensor, b: Float) -> Tensor { a > Tensor(b) }
    public static func < (a: Tensor, b: Float) -> Tensor { a < Tensor(b) }
    public static func >= (a: Tensor, b: Float) -> Tensor { a >= Tensor(b) }
    public static func <= (a: Tensor, b: Float) -> Tensor { a <= Tensor(b) }
    /// 1 where equal, else 0 (no gradient).
    public func isEqual(to other: Tensor) -> Tensor { Kernels.binary(WK_EQ, self, other, name: "isEqual") }

    /// The gradient of a broadcast: sums over the axes along which `shape` was expanded.
    public func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        precondition(lead >= 0, "summed(toShape:): \(shape) cannot reduce to larger rank \(target)")
        var axes = Array(0..<lead)
        for i in 0..<target.count where target[i] == 1 && shape[lead + i] != 1 { axes.append(lead + i) }
        let s = axes.isEmpty ? self : sum(axes: axes, keepDims: true)
        return s.reshaped(target)
    }
}

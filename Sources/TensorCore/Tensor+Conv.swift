/// How a convolution pads its input, per spatial axis.
public enum Padding: Equatable, Sendable {
    /// The same number of zeros on both sides of each spatial axis (one value per axis, or one for all).
    case explicit([Int])
    /// Explicit low and high amounts per spatial axis (for example [left] and [right]).
    case asymmetric(low: [Int], high: [Int])
    /// Output length ⌈input / stride⌉; an odd total puts the extra zero on the high side (as PyTorch and TensorFlow).
    case same
    /// All padding before the input, so output t sees only inputs ≤ t (WaveNet's causal convolution).
    case causal
    /// No padding.
    public static let valid = Padding.explicit([0])
}

/// The resolved geometry of a 1-D or 2-D convolution: per spatial axis stride, dilation and
/// padding; plus groups. 1-D convolutions are stored as 2-D with a height of one.
public struct ConvGeometry: Equatable {
    public var stride: [Int]
    public var dilation: [Int]
    public var padLow: [Int]
    public var padHigh: [Int]
    public var groups: Int

    /// Output spatial sizes for the given input and kernel sizes.
    func outputSize(input: [Int], kernel: [Int]) -> [Int] {
        (0..<input.count).map { i in
            (input[i] + padLow[i] + padHigh[i] - dilation[i] * (kernel[i] - 1) - 1) / stride[i] + 1
        }
    }

    static func resolve(_ padding: Padding, input: [Int], kernel: [Int], stride: [Int], dilation: [Int],
                        groups: Int, op: String) -> ConvGeometry {
        let n = input.count
        func perAxis(_ v: [Int], _ what: String) -> [Int] {
            precondition(v.count == 1 || v.count == n, "\(op): \(what) \(v) needs 1 or \(n) values")
            return v.count == 1 ? Array(repeating: v[0], count: n) : v
        }
        let s = perAxis(stride, "stride"), d = perAxis(dilation, "dilation")
        precondition(s.allSatisfy { $0 >= 1 } && d.allSatisfy { $0 >= 1 }, "\(op): stride \(stride) and dilation \(dilation) must be ≥ 1")
        var lo = [Int](repeating: 0, count: n), hi = lo
        switch padding {
        case .explicit(let p):
            lo = perAxis(p, "padding"); hi = lo
        case .asymmetric(let l, let h):
            lo = perAxis(l, "padding"); hi = perAxis(h, "padding")
        case .same:
            for i in 0..<n {
                let out = (input[i] + s[i] - 1) / s[i]
                let total = Swift.max((out - 1) * s[i] + d[i] * (kernel[i] - 1) + 1 - input[i], 0)
                lo[i] = total / 2
                hi[i] = total - lo[i]
            }
        case .causal:
            for i in 0..<n { lo[i] = d[i] * (kernel[i] - 1) }
        }
        precondition(lo.allSatisfy { $0 >= 0 } && hi.allSatisfy { $0 >= 0 }, "\(op): negative padding \(lo), \(hi)")
        return ConvGeometry(stride: s, dilation: d, padLow: lo, padHigh: hi, groups: groups)
    }
}

/// y = conv(x, w) (+ b): x [B, C_in, *S], w [C_out, C_in/groups, *K], optional b [C_out]
/// → [B, C_out, *O]. The bias is the output's starting value, not a pass of its own.
struct ConvOp: Primitive {
    let geometry: ConvGeometry
    func forward(_ inputs: [Tensor]) -> Tensor {
        Convolution.forward(inputs[0], inputs[1], geometry, bias: inputs.count > 2 ? inputs[2] : nil)
    }
    func savedValues(_ rg: [Bool]) -> SavedValues {
        var saved = SavedValues.bilinear(rg)
        if rg.count > 2 { saved.inputs.append(false) }
        return saved
    }
    func backward(_ g: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        let (x, w) = (inputs[0], inputs[1])
        var grads = [x.requiresGrad ? Tensor.apply(ConvInputGradOp(geometry: geometry, inputSize: Array(x.shape.dropFirst(2))), g, w) : nil,
                     w.requiresGrad ? Tensor.apply(ConvWeightGradOp(geometry: geometry, kernelSize: Array(w.shape.dropFirst(2))), g, x) : nil]
        if inputs.count > 2 {
            grads.append(inputs[2].requiresGrad ? g.sum(axes: [0] + Array(2..<g.rank)) : nil)
        }
        return grads
    }
}

/// The input gradient of a convolution, which is also the transposed convolution:
/// (g [B, C_out, *O], w [C_out, C_in/groups, *K]) → [B, C_in, *S].
struct ConvInputGradOp: Primitive {
    let geometry: ConvGeometry
    let inputSize: [Int]
    func forward(_ inputs: [Tensor]) -> Tensor { Convolution.inputGradient(inputs[0], inputs[1], geometry, inputSize: inputSize) }
    func savedValues(_ rg: [Bool]) -> SavedValues { .bilinear(rg) }
    func backward(_ h: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        let (g, w) = (inputs[0], inputs[1])
        return [g.requiresGrad ? Tensor.apply(ConvOp(geometry: geometry), h, w) : nil,
                w.requiresGrad ? Tensor.apply(ConvWeightGradOp(geometry: geometry, kernelSize: Array(w.shape.dropFirst(2))), g, h) : nil]
    }
}

/// The weight gradient of a convolution: (g [B, C_out, *O], x [B, C_in, *S]) → [C_out, C_in/groups, *K].
struct ConvWeightGradOp: Primitive {
    let geometry: ConvGeometry
    let kernelSize: [Int]
    func forward(_ inputs: [Tensor]) -> Tensor { Convolution.weightGradient(inputs[0], inputs[1], geometry, kernelSize: kernelSize) }
    func savedValues(_ rg: [Bool]) -> SavedValues { .bilinear(rg) }
    func backward(_ v: Tensor, inputs: [Tensor], output _: Tensor) -> [Tensor?] {
        let (g, x) = (inputs[0], inputs[1])
        return [g.requiresGrad ? Tensor.apply(ConvOp(geometry: geometry), x, v) : nil,
                x.requiresGrad ? Tensor.apply(ConvInputGradOp(geometry: geometry, inputSize: Array(x.shape.dropFirst(2))), g, v) : nil]
    }
}

extension Tensor {
    /// 1-D convolution (cross-correlation, as `torch.nn.functional.conv1d`).
    /// self [B, C_in, T], weight [C_out, C_in/groups, K], bias [C_out] → [B, C_out, T'].
    public func conv1d(_ weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Padding = .valid,
                       dilation: Int = 1, groups: Int = 1) -> Tensor {
        convolved(weight, bias: bias, stride: [stride], padding: padding, dilation: [dilation], groups: groups, op: "conv1d")
    }

    /// 2-D convolution (as `torch.nn.functional.conv2d`).
    /// self [B, C_in, H, W], weight [C_out, C_in/groups, KH, KW], bias [C_out] → [B, C_out, H', W'].
    public func conv2d(_ weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1], padding: Padding = .valid,
                       dilation: [Int] = [1], groups: Int = 1) -> Tensor {
        convolved(weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups, op: "conv2d")
    }

    /// 1-D transposed convolution (as `torch.nn.functional.conv_transpose1d`).
    /// self [B, C_in, T], weight [C_in, C_out/groups, K] → [B, C_out, (T−1)·stride − 2·padding + dilation·(K−1) + outputPadding + 1].
    public func convTranspose1d(_ weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                                outputPadding: Int = 0, dilation: Int = 1, groups: Int = 1) -> Tensor {
        convTransposed(weight, bias: bias, stride: [stride], padding: [padding], outputPadding: [outputPadding],
                       dilation: [dilation], groups: groups, op: "convTranspose1d")
    }

    /// 2-D transposed convolution (as `torch.nn.functional.conv_transpose2d`).
    /// self [B, C_in, H, W], weight [C_in, C_out/groups, KH, KW] → [B, C_out, H', W'].
    public func convTranspose2d(_ weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1], padding: [Int] = [0],
                                outputPadding: [Int] = [0], dilation: [Int] = [1], groups: Int = 1) -> Tensor {
        convTransposed(weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding,
                       dilation: dilation, groups: groups, op: "convTranspose2d")
    }

    private func checkConvShapes(_ weight: Tensor, spatial n: Int, groups: Int, channelsAxis: Int, op: String) {
        precondition(rank == n + 2, "\(op): input must be [B, C, \(n == 1 ? "T" : "H, W")], got \(shape)")
        precondition(weight.rank == n + 2, "\(op): weight must have rank \(n + 2), got \(weight.shape)")
        precondition(groups >= 1, "\(op): groups must be ≥ 1, got \(groups)")
        precondition(weight.shape[0] % groups == 0,
                     "\(op): weight axis 0 (\(weight.shape[0])) is not divisible by groups \(groups)")
        let expected = channelsAxis == 1 ? weight.shape[1] * groups : weight.shape[0]
        precondition(shape[1] == expected,
                     "\(op): input has \(shape[1]) channels but weight \(weight.shape) with groups \(groups) expects \(expected)")
    }

    private func convolved(_ weight: Tensor, bias: Tensor?, stride: [Int], padding: Padding, dilation: [Int],
                           groups: Int, op: String) -> Tensor {
        let n = rank - 2
        checkConvShapes(weight, spatial: weight.rank - 2, groups: groups, channelsAxis: 1, op: op)
        let geometry = ConvGeometry.resolve(padding, input: Array(shape.dropFirst(2)), kernel: Array(weight.shape.dropFirst(2)),
                                            stride: stride, dilation: dilation, groups: groups, op: op)
        let out = geometry.outputSize(input: Array(shape.dropFirst(2)), kernel: Array(weight.shape.dropFirst(2)))
        let fits = (0..<n).allSatisfy { (i: Int) -> Bool in
            let padded: Int = shape[2 + i] + geometry.padLow[i] + geometry.padHigh[i]
            let span: Int = geometry.dilation[i] * (weight.shape[2 + i] - 1) + 1
            return padded >= span
        }
        precondition(fits && out.allSatisfy { $0 >= 1 },
                     "\(op): input \(shape) is too short for kernel \(weight.shape) with dilation \(dilation) and padding \(padding)")
        guard let bias else { return Tensor.apply(ConvOp(geometry: geometry), self, weight) }
        precondition(bias.shape == [weight.shape[0]], "\(op): bias must be [\(weight.shape[0])], got \(bias.shape)")
        return Tensor.apply(ConvOp(geometry: geometry), self, weight, bias)
    }

    private func convTransposed(_ weight: Tensor, bias: Tensor?, stride: [Int], padding: [Int], outputPadding: [Int],
                                dilation: [Int], groups: Int, op: String) -> Tensor {
        let n = rank - 2
        checkConvShapes(weight, spatial: weight.rank - 2, groups: groups, channelsAxis: 0, op: op)
        func perAxis(_ v: [Int]) -> [Int] { v.count == 1 ? Array(repeating: v[0], count: n) : v }
        let (s, p, op2, d) = (perAxis(stride), perAxis(padding), perAxis(outputPadding), perAxis(dilation))
        let kernel = Array(weight.shape.dropFirst(2))
        var size: [Int] = []
        for i in 0..<n {
            let span: Int = d[i] * (kernel[i] - 1) + op2[i] + 1
            size.append((shape[2 + i] - 1) * s[i] - 2 * p[i] + span)
        }
        for i in 0..<n {
            precondition(op2[i] >= 0 && (op2[i] < s[i] || op2[i] < d[i]),
                         "\(op): output padding \(op2[i]) must be smaller than stride \(s[i]) or dilation \(d[i])")
        }
        precondition(size.allSatisfy { $0 >= 1 }, "\(op): padding \(padding) leaves no output for input \(shape)")
        let geometry = ConvGeometry(stride: s, dilation: d, padLow: p, padHigh: (0..<n).map { p[$0] - op2[$0] }, groups: groups)
        let y = Tensor.apply(ConvInputGradOp(geometry: geometry, inputSize: size), self, weight)
        return addingChannelBias(y, bias, spatial: n, op: op)
    }

    private func addingChannelBias(_ y: Tensor, _ bias: Tensor?, spatial n: Int, op: String) -> Tensor {
        guard let bias else { return y }
        precondition(bias.shape == [y.shape[1]], "\(op): bias must be [\(y.shape[1])], got \(bias.shape)")
        return y + bias.reshaped([1, -1] + Array(repeating: 1, count: n))
    }
}

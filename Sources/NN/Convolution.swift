import TensorCore

/// What the four convolutions share: a weight, or its weight-norm pair (keys `weight_g`
/// [out, 1, …] and `weight_v` for `weight`, PyTorch's `weight_norm` over axis 0), and an
/// optional bias. Module reflection reads these properties before a subclass's own.
public class WeightedConvolution: Module {
    public fileprivate(set) var weight: Parameter?
    public fileprivate(set) var weightG: Parameter?
    public fileprivate(set) var weightV: Parameter?
    public let bias: Parameter?

    init(weight w: Tensor, weightNorm: Bool, bias: Tensor?) {
        if weightNorm {
            weightG = Parameter(WeightNorm.magnitude(of: w)); weightV = Parameter(w)
        } else {
            weight = Parameter(w)
        }
        self.bias = bias.map { Parameter($0) }
    }

    /// The weight in use: `weight`, or g · v / ‖v‖ when weight-normalised.
    public var effectiveWeight: Tensor {
        if let weight { return weight.value }
        return WeightNorm.weight(g: weightG!.value, v: weightV!.value)
    }

    public var isWeightNormalized: Bool { weight == nil }

    /// Folds g and v into a plain `weight` (for inference: one tensor, no norm per call).
    public func removeWeightNorm() {
        guard weight == nil else { return }
        weight = Parameter(withoutGradient { effectiveWeight })
        weightG = nil; weightV = nil
    }
}

/// 1-D convolution (as `torch.nn.Conv1d`), optionally weight-normalised (then the keys are
/// `weight_g` [out, 1, 1] and `weight_v` [out, in/groups, k] instead of `weight`).
public final class Conv1d: WeightedConvolution, Layer {
    public let inChannels: Int, outChannels: Int, kernelSize: Int
    public let stride: Int, dilation: Int, groups: Int
    public let padding: Padding

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Padding = .valid,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, weightNorm: Bool = false,
                using g: inout RandomGenerator) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv1d: channels \(inChannels)→\(outChannels) must divide by groups \(groups)")
        self.inChannels = inChannels; self.outChannels = outChannels; self.kernelSize = kernelSize
        self.stride = stride; self.dilation = dilation; self.groups = groups; self.padding = padding
        let fanIn = inChannels / groups * kernelSize
        let w = Initialization.kaimingUniform([outChannels, inChannels / groups, kernelSize], fanIn: fanIn, using: &g)
        super.init(weight: w, weightNorm: weightNorm, bias: bias ? Initialization.bias(outChannels, fanIn: fanIn, using: &g) : nil)
    }

    /// x [B, C_in, T] → [B, C_out, T'].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.conv1d(effectiveWeight, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

/// 2-D convolution (as `torch.nn.Conv2d`).
public final class Conv2d: WeightedConvolution, Layer {
    public let stride: [Int], dilation: [Int], groups: Int
    public let padding: Padding

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: [Int], stride: [Int] = [1], padding: Padding = .valid,
                dilation: [Int] = [1], groups: Int = 1, bias: Bool = true, weightNorm: Bool = false,
                using g: inout RandomGenerator) {
        let k = kernelSize.count == 1 ? [kernelSize[0], kernelSize[0]] : kernelSize
        self.stride = stride; self.dilation = dilation; self.groups = groups; self.padding = padding
        let fanIn = inChannels / groups * k[0] * k[1]
        let w = Initialization.kaimingUniform([outChannels, inChannels / groups] + k, fanIn: fanIn, using: &g)
        super.init(weight: w, weightNorm: weightNorm, bias: bias ? Initialization.bias(outChannels, fanIn: fanIn, using: &g) : nil)
    }

    /// x [B, C_in, H, W] → [B, C_out, H', W'].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.conv2d(effectiveWeight, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

/// 1-D transposed convolution (as `torch.nn.ConvTranspose1d`): weight [in, out/groups, k].
/// Weight norm, when on, normalises over axis 0 as PyTorch's default does.
public final class ConvTranspose1d: WeightedConvolution, Layer {
    public let stride: Int, padding: Int, outputPadding: Int, dilation: Int, groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, dilation: Int = 1, groups: Int = 1, bias: Bool = true, weightNorm: Bool = false,
                using g: inout RandomGenerator) {
        self.stride = stride; self.padding = padding; self.outputPadding = outputPadding
        self.dilation = dilation; self.groups = groups
        // PyTorch computes fan-in from weight.size(1) · k for transposed convolutions.
        let fanIn = outChannels / groups * kernelSize
        let w = Initialization.kaimingUniform([inChannels, outChannels / groups, kernelSize], fanIn: fanIn, using: &g)
        super.init(weight: w, weightNorm: weightNorm, bias: bias ? Initialization.bias(outChannels, fanIn: fanIn, using: &g) : nil)
    }

    /// x [B, C_in, T] → [B, C_out, (T−1)·stride − 2·padding + dilation·(k−1) + outputPadding + 1].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.convTranspose1d(effectiveWeight, bias: bias?.value, stride: stride, padding: padding,
                          outputPadding: outputPadding, dilation: dilation, groups: groups)
    }
}

/// 2-D transposed convolution (as `torch.nn.ConvTranspose2d`): weight [in, out/groups, kh, kw];
/// weight norm, when on, normalises over axis 0 as PyTorch's default does.
public final class ConvTranspose2d: WeightedConvolution, Layer {
    public let stride: [Int], padding: [Int], outputPadding: [Int], dilation: [Int], groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: [Int], stride: [Int] = [1], padding: [Int] = [0],
                outputPadding: [Int] = [0], dilation: [Int] = [1], groups: Int = 1, bias: Bool = true, weightNorm: Bool = false,
                using g: inout RandomGenerator) {
        let k = kernelSize.count == 1 ? [kernelSize[0], kernelSize[0]] : kernelSize
        self.stride = stride; self.padding = padding; self.outputPadding = outputPadding
        self.dilation = dilation; self.groups = groups
        let fanIn = outChannels / groups * k[0] * k[1]
        let w = Initialization.kaimingUniform([inChannels, outChannels / groups] + k, fanIn: fanIn, using: &g)
        super.init(weight: w, weightNorm: weightNorm, bias: bias ? Initialization.bias(outChannels, fanIn: fanIn, using: &g) : nil)
    }

    /// x [B, C_in, H, W] → [B, C_out, H', W'].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.convTranspose2d(effectiveWeight, bias: bias?.value, stride: stride, padding: padding,
                          outputPadding: outputPadding, dilation: dilation, groups: groups)
    }
}

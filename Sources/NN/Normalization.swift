import TensorCore

/// Layer normalisation over the trailing `normalizedShape` axes (as `torch.nn.LayerNorm`).
public final class LayerNorm: Layer {
    public let weight: Parameter?
    public let bias: Parameter?
    public let normalizedShape: [Int]
    public let eps: Float

    public init(_ normalizedShape: [Int], eps: Float = 1e-5, elementwiseAffine: Bool = true) {
        self.normalizedShape = normalizedShape; self.eps = eps
        weight = elementwiseAffine ? Parameter(Tensor.ones(normalizedShape)) : nil
        bias = elementwiseAffine ? Parameter(Tensor.zeros(normalizedShape)) : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(Array(x.shape.suffix(normalizedShape.count)) == normalizedShape,
                     "LayerNorm: input \(x.shape) must end in \(normalizedShape)")
        let axes = Array((x.rank - normalizedShape.count)..<x.rank)
        let centered = x - x.mean(axes: axes, keepDims: true)
        var y = centered / (centered.square().mean(axes: axes, keepDims: true) + eps).sqrt()
        if let weight { y = y * weight.value }
        if let bias { y = y + bias.value }
        return y
    }
}

/// Group normalisation (Wu & He 2018) over [B, C, *] (as `torch.nn.GroupNorm`).
public final class GroupNorm: Layer {
    public let weight: Parameter
    public let bias: Parameter
    public let groups: Int
    public let eps: Float

    public init(groups: Int, channels: Int, eps: Float = 1e-5) {
        precondition(channels % groups == 0, "GroupNorm: \(channels) channels do not split into \(groups) groups")
        self.groups = groups; self.eps = eps
        weight = Parameter(Tensor.ones([channels])); bias = Parameter(Tensor.zeros([channels]))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, c) = (x.shape[0], x.shape[1])
        let grouped = x.reshaped([b, groups, -1])                     // [B, G, C/G · spatial]
        let centered = grouped - grouped.mean(axis: 2, keepDims: true)
        let normalized = (centered / (centered.square().mean(axis: 2, keepDims: true) + eps).sqrt()).reshaped(x.shape)
        let affine = [1, c] + Array(repeating: 1, count: x.rank - 2)
        return normalized * weight.value.reshaped(affine) + bias.value.reshaped(affine)
    }
}

/// Batch normalisation over [B, C] or [B, C, *] (as `torch.nn.BatchNorm1d`/`2d`): batch
/// statistics in training (running statistics updated with `momentum`, the variance unbiased),
/// running statistics in evaluation. Keys: weight, bias, running_mean, running_var, num_batches_tracked.
public final class BatchNorm: Layer, ModeDependent {
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Buffer
    public let runningVar: Buffer
    public let numBatchesTracked: Buffer
    public let eps: Float
    public let momentum: Float
    public var isTraining = true

    public init(_ features: Int, eps: Float = 1e-5, momentum: Float = 0.1) {
        self.eps = eps; self.momentum = momentum
        weight = Parameter(Tensor.ones([features])); bias = Parameter(Tensor.zeros([features]))
        runningMean = Buffer(Tensor.zeros([features])); runningVar = Buffer(Tensor.ones([features]))
        numBatchesTracked = Buffer(Tensor.zeros([]))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let axes = [0] + Array(2..<x.rank)
        let shape = [1, x.shape[1]] + Array(repeating: 1, count: x.rank - 2)
        let mean: Tensor, variance: Tensor
        if isTraining {
            mean = x.mean(axes: axes, keepDims: true)
            variance = (x - mean).square().mean(axes: axes, keepDims: true)
            let n = Float(axes.reduce(1) { $0 * x.shape[$1] })
            withoutGradient {
                runningMean.value = runningMean.value * (1 - momentum) + mean.detached().reshaped([-1]) * momentum
                let unbiased = variance.detached().reshaped([-1]) * (n / Swift.max(n - 1, 1))
                runningVar.value = runningVar.value * (1 - momentum) + unbiased * momentum
                numBatchesTracked.value = numBatchesTracked.value + 1
            }
        } else {
            mean = runningMean.value.reshaped(shape)
            variance = runningVar.value.reshaped(shape)
        }
        return (x - mean) / (variance + eps).sqrt() * weight.value.reshaped(shape) + bias.value.reshaped(shape)
    }
}

/// Spectral normalisation (Miyato et al. 2018) of a wrapped layer's weight, as
/// `torch.nn.utils.spectral_norm`: keys `weight_orig`, `weight_u`, `weight_v` beside the
/// layer's bias. In training each call runs one power iteration (v ← normalise(Wᵀu),
/// u ← normalise(Wv)) before dividing the weight by σ = uᵀWv.
public final class SpectralNormLinear: Layer, ModeDependent {
    public let weightOrig: Parameter
    public let weightU: Buffer
    public let weightV: Buffer
    public let bias: Parameter?
    public let eps: Float
    public var isTraining = true

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, eps: Float = 1e-12, using g: inout RandomGenerator) {
        let linear = Linear(inFeatures, outFeatures, bias: bias, using: &g)
        weightOrig = Parameter(linear.weight.value)
        self.bias = linear.bias
        self.eps = eps
        weightU = Buffer(SpectralNorm.normalized(Tensor.randomNormal([outFeatures], using: &g), eps: eps))
        weightV = Buffer(SpectralNorm.normalized(Tensor.randomNormal([inFeatures], using: &g), eps: eps))
    }

    /// The normalised weight W / σ.
    public var effectiveWeight: Tensor {
        let w = weightOrig.value
        if isTraining { SpectralNorm.powerIteration(w, u: weightU, v: weightV, eps: eps) }
        let sigma = (weightU.value.unsqueezed(axis: 0).matmul(w).matmul(weightV.value.unsqueezed(axis: 1))).reshaped([])
        return w / sigma
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = x.matmul(effectiveWeight.transposed())
        return bias.map { y + $0.value } ?? y
    }
}

/// The power iteration behind spectral normalisation, on a weight flattened to [out, rest].
public enum SpectralNorm {
    static func normalized(_ x: Tensor, eps: Float) -> Tensor {
        withoutGradient { x / x.norm().maximum(Tensor(eps)) }
    }

    /// One step: v ← normalise(Wᵀu), u ← normalise(Wv), outside the graph (as PyTorch).
    public static func powerIteration(_ weight: Tensor, u: Buffer, v: Buffer, eps: Float) {
        withoutGradient {
            let w = weight.detached().flattened(fromAxis: 1)
            v.value = normalized(w.transposed().matmul(u.value), eps: eps)
            u.value = normalized(w.matmul(v.value), eps: eps)
        }
    }
}

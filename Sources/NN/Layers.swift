import TensorCore

/// A table of embeddings (as `torch.nn.Embedding`): `weight` [count, dim], N(0, 1) initialised.
public final class Embedding: Module {
    public let weight: Parameter

    public init(_ count: Int, _ dim: Int, using g: inout RandomGenerator) {
        weight = Parameter(Tensor.randomNormal([count, dim], using: &g))
    }

    /// Integral indices of any shape → indices.shape + [dim].
    public func callAsFunction(_ indices: Tensor) -> Tensor { weight.value.embedding(indices) }
}

/// Dropout (Srivastava et al. 2014) with its own seeded generator: in training each element
/// is zeroed with probability p and the rest scaled by 1/(1−p); identity in evaluation.
public final class Dropout: Layer, ModeDependent {
    public let p: Float
    public var isTraining = true
    private var generator: RandomGenerator

    public init(_ p: Float, seed: UInt64 = 0) {
        precondition(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got \(p)")
        self.p = p
        generator = RandomGenerator(seed: seed)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining, p > 0 else { return x }
        let keep = Tensor.randomBernoulli(x.shape, p: 1 - p, using: &generator)
        return x * keep * (1 / (1 - p))
    }
}

/// Layers applied in order; keys "0", "1", … as `torch.nn.Sequential`.
public final class Sequential: Layer {
    public let layers: [any Layer]
    public static var keyOverrides: [String: String] { ["layers": ""] }

    public init(_ layers: [any Layer]) { self.layers = layers }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        layers.reduce(x) { h, layer in layer(h) }
    }
}

/// Parameterless activations, for `Sequential`.
public final class Activation: Layer {
    public enum Kind: Sendable { case relu, leakyRelu(Float), tanh, sigmoid, gelu, elu(Float), softplus }
    public let kind: Kind
    public init(_ kind: Kind) { self.kind = kind }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch kind {
        case .relu: return x.relu()
        case .leakyRelu(let s): return x.leakyRelu(slope: s)
        case .tanh: return x.tanh()
        case .sigmoid: return x.sigmoid()
        case .gelu: return x.gelu()
        case .elu(let a): return x.elu(alpha: a)
        case .softplus: return x.softplus()
        }
    }
}

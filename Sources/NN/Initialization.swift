import Foundation
import TensorCore

/// PyTorch's default initialisations.
public enum Initialization {
    /// `kaiming_uniform_(w, a=√5)` as `nn.Linear` and `nn.ConvNd` use: U(−1/√fanIn, 1/√fanIn).
    public static func kaimingUniform(_ shape: [Int], fanIn: Int, using g: inout RandomGenerator) -> Tensor {
        let bound = 1 / Float(Swift.max(fanIn, 1)).squareRoot()
        return Tensor.randomUniform(shape, low: -bound, high: bound, using: &g)
    }

    /// The default bias: U(−1/√fanIn, 1/√fanIn).
    public static func bias(_ count: Int, fanIn: Int, using g: inout RandomGenerator) -> Tensor {
        kaimingUniform([count], fanIn: fanIn, using: &g)
    }

    /// Xavier/Glorot uniform with a gain.
    public static func xavierUniform(_ shape: [Int], fanIn: Int, fanOut: Int, gain: Float = 1, using g: inout RandomGenerator) -> Tensor {
        let bound = gain * (6 / Float(fanIn + fanOut)).squareRoot()
        return Tensor.randomUniform(shape, low: -bound, high: bound, using: &g)
    }
}

/// Weight normalisation (Salimans & Kingma 2016): w = g · v / ‖v‖, the norm over every axis but
/// `axis` 0, as `torch.nn.utils.weight_norm(module, dim=0)`.
enum WeightNorm {
    static func weight(g: Tensor, v: Tensor) -> Tensor {
        let axes = Array(1..<v.rank)
        return v * (g / v.square().sum(axes: axes, keepDims: true).sqrt())
    }

    /// g such that weight(g, v) == w initially: ‖w‖ per output channel.
    static func magnitude(of w: Tensor) -> Tensor {
        withoutGradient { w.square().sum(axes: Array(1..<w.rank), keepDims: true).sqrt() }
    }
}

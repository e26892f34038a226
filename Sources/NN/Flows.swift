import Foundation
import TensorCore

/// An invertible 1×1 convolution over channels (Kingma & Dhariwal 2018, Glow §3.2; used by
/// WaveGlow between couplings): z = W x at every time step, log-determinant T · log|det W|
/// per item. `conv.weight` [C, C, 1] as NVIDIA/waveglow's Invertible1x1Conv; initialised as a
/// random rotation (orthogonal, determinant +1).
public final class InvertibleConv1x1: Module {
    public let conv: Conv1d

    public init(channels: Int, using g: inout RandomGenerator) {
        conv = Conv1d(channels, channels, kernelSize: 1, bias: false, using: &g)
        // Orthogonalise a Gaussian matrix (Gram–Schmidt), then make the determinant +1.
        var q = Tensor.randomNormal([channels, channels], using: &g).scalars.map(Double.init)
        let n = channels
        for i in 0..<n {
            for j in 0..<i {
                var d = 0.0
                for k in 0..<n { d += q[i * n + k] * q[j * n + k] }
                for k in 0..<n { q[i * n + k] -= d * q[j * n + k] }
            }
            let norm = (0..<n).reduce(0.0) { $0 + q[i * n + $1] * q[i * n + $1] }.squareRoot()
            for k in 0..<n { q[i * n + k] /= norm }
        }
        var w = Tensor(shape: [n, n], scalars: q.map { Float($0) })
        if withoutGradient({ w.logAbsDeterminant() }).item.isFinite, Self.determinantSign(w) < 0 {
            for k in 0..<n { q[k] = -q[k] }                      // flip one row: det → +1
            w = Tensor(shape: [n, n], scalars: q.map { Float($0) })
        }
        try! conv.load(["weight": w.reshaped([n, n, 1])])
    }

    static func determinantSign(_ w: Tensor) -> Double {
        let n = w.shape[0]
        let (lu, _, sign) = LU.decompose(w.scalars.map(Double.init), n: n)
        return (0..<n).reduce(sign) { $0 * (lu[$1 * n + $1] < 0 ? -1 : 1) }
    }

    var matrix: Tensor { conv.effectiveWeight.squeezed(axis: 2) }

    /// x [B, C, T] → (z [B, C, T], log-determinant per item [B]).
    public func callAsFunction(_ x: Tensor) -> (Tensor, Tensor) {
        let w = matrix
        let z = x.conv1d(w.unsqueezed(axis: 2))
        let logDet = w.logAbsDeterminant() * Float(x.shape[2])
        return (z, logDet.expanded(to: [x.shape[0]]))
    }

    /// The inverse: z [B, C, T] → x.
    public func inverse(_ z: Tensor) -> Tensor {
        z.conv1d(matrix.inverse().unsqueezed(axis: 2))
    }
}

/// An affine coupling layer (Dinh et al. 2017, RealNVP §3.3; WaveGlow's): the first half of
/// the channels passes through and, with the conditioning, predicts log s and t for the
/// second half: x_b' = exp(log s) ⊙ x_b + t. The log-determinant is Σ log s.
public final class AffineCoupling: Module {
    /// Maps (x_a [B, C/2, T], conditioning) to [B, C, T]: log s then t along channels.
    public let network: any CouplingNetwork

    public init(network: any CouplingNetwork) { self.network = network }

    /// x [B, C, T] → (y [B, C, T], log-determinant per item [B]).
    public func callAsFunction(_ x: Tensor, conditioning c: Tensor?) -> (Tensor, Tensor) {
        let half = x.shape[1] / 2
        let (xa, xb) = (x.sliced(axis: 1, end: half), x.sliced(axis: 1, start: half))
        let h = network(xa, conditioning: c)
        let (logS, t) = (h.sliced(axis: 1, end: half), h.sliced(axis: 1, start: half))
        let yb = logS.exp() * xb + t
        return (Tensor.concat([xa, yb], axis: 1), logS.sum(axes: [1, 2]))
    }

    /// The inverse: x_b = (y_b − t) ⊙ exp(−log s).
    public func inverse(_ y: Tensor, conditioning c: Tensor?) -> Tensor {
        let half = y.shape[1] / 2
        let (ya, yb) = (y.sliced(axis: 1, end: half), y.sliced(axis: 1, start: half))
        let h = network(ya, conditioning: c)
        let (logS, t) = (h.sliced(axis: 1, end: half), h.sliced(axis: 1, start: half))
        return Tensor.concat([ya, (yb - t) * (-logS).exp()], axis: 1)
    }
}

/// The network inside an affine coupling (WaveGlow's WN, Glow's convolution stack).
public protocol CouplingNetwork: Module {
    /// x_a [B, C/2, T] (and conditioning) → [B, C, T]: log s and t.
    func callAsFunction(_ xa: Tensor, conditioning: Tensor?) -> Tensor
}

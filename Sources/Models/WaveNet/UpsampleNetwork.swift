import NN
import TensorCore

/// Nearest-neighbour stretch along time by an integer factor (r9y9's Stretch2d; no parameters).
final class Stretch: Layer {
    let scale: Int
    init(_ scale: Int) { self.scale = scale }
    /// [N, T] → [N, T · scale].
    func callAsFunction(_ x: Tensor) -> Tensor { x.repeated(scale, axis: x.rank - 1) }
}

/// r9y9's 1 × (2s + 1) Conv2d over (mel band, time), weight-normalised and bias-free. With
/// one input and one output channel it is the same smoothing along time for every band, so
/// it runs as a 1-D convolution over [B · bands, 1, T] (the keys stay the Conv2d's).
final class TimeSmoothing: Layer {
    let weightG: Parameter                 // [1, 1, 1, 1]
    let weightV: Parameter                 // [1, 1, 1, 2s + 1]
    let scale: Int

    init(scale: Int) {
        self.scale = scale
        let k = 2 * scale + 1
        // r9y9 initialises the kernel to a box filter 1/k before weight norm.
        let v = Tensor.full([1, 1, 1, k], 1 / Float(k))
        weightV = Parameter(v)
        weightG = Parameter(v.square().sum().sqrt().reshaped([1, 1, 1, 1]))
    }

    /// x [N, T] → [N, T].
    func callAsFunction(_ x: Tensor) -> Tensor {
        let v = weightV.value
        let w = (v * (weightG.value / v.square().sum().sqrt())).reshaped([1, 1, 2 * scale + 1])
        return x.unsqueezed(axis: 1).conv1d(w, padding: .explicit([scale])).squeezed(axis: 1)
    }
}

/// The stack of stretches and smoothings (r9y9's UpsampleNetwork): keys `up_layers.1`, `.3`, ….
final class UpsampleStack: Module {
    let upLayers: [any Layer]
    init(scales: [Int]) {
        upLayers = scales.flatMap { s -> [any Layer] in [Stretch(s), TimeSmoothing(scale: s)] }
    }
    func callAsFunction(_ x: Tensor) -> Tensor { upLayers.reduce(x) { $1($0) } }
}

/// r9y9's ConvInUpsampleNetwork: a (2·cin_pad + 1)-wide convolution over frames for context,
/// then the upsampling stack. Input [B, C, F + 2·cin_pad] → output [B, C, F · hop].
final class UpsampleNetwork: Module {
    let convIn: Conv1d
    let upsample: UpsampleStack

    init(channels: Int, scales: [Int], cinPad: Int, using g: inout RandomGenerator) {
        convIn = Conv1d(channels, channels, kernelSize: 2 * cinPad + 1, bias: false, using: &g)
        upsample = UpsampleStack(scales: scales)
    }

    func callAsFunction(_ c: Tensor) -> Tensor {
        let h = convIn(c)                                              // [B, C, F]
        let (b, ch, f) = (h.shape[0], h.shape[1], h.shape[2])
        return upsample(h.reshaped([b * ch, f])).reshaped([b, ch, -1])  // [B, C, F · hop]
    }
}

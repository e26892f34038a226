import NN
import TensorCore

/// One WaveNet layer: dilated causal convolution, gated activation, 1×1 residual and skip
/// (van den Oord et al. 2016, §2.3–2.5, Fig. 4). Keys follow r9y9/wavenet_vocoder's
/// ResidualConv1dGLU.
final class ResidualBlock: Module {
    let conv: Conv1d                 // R → G, dilated, causal
    let conv1x1c: Conv1d?            // local (mel) conditioning, C_mel → G
    let conv1x1g: Conv1d?            // global (speaker) conditioning, C_g → G
    let conv1x1Out: Conv1d           // G/2 → R
    let conv1x1Skip: Conv1d          // G/2 → S

    init(_ c: WaveNetConfig, dilation: Int, using g: inout RandomGenerator) {
        conv = Conv1d(c.residualChannels, c.gateChannels, kernelSize: c.kernelSize, padding: .causal, dilation: dilation,
                      weightNorm: true, using: &g)
        conv1x1c = c.cinChannels.map { Conv1d($0, c.gateChannels, kernelSize: 1, bias: false, weightNorm: true, using: &g) }
        conv1x1g = c.ginChannels.map { Conv1d($0, c.gateChannels, kernelSize: 1, bias: false, weightNorm: true, using: &g) }
        conv1x1Out = Conv1d(c.gateChannels / 2, c.residualChannels, kernelSize: 1, weightNorm: true, using: &g)
        conv1x1Skip = Conv1d(c.gateChannels / 2, c.skipOutChannels, kernelSize: 1, weightNorm: true, using: &g)
    }

    /// x: [B, R, T]; c: [B, C_mel, T] at the sample rate; g: [B, C_g, 1].
    func callAsFunction(_ x: Tensor, c: Tensor?, g: Tensor?) -> (residual: Tensor, skip: Tensor) {
        var h = conv(x)                                                // [B, G, T]
        if let c, let conv1x1c { h = h + conv1x1c(c) }
        if let g, let conv1x1g { h = h + conv1x1g(g) }                 // broadcasts over T
        let z = h.gatedTanhSigmoid(axis: 1)                            // Eq. (2): tanh(filter) · σ(gate), fused
        // √½ keeps the residual stream's variance constant; the reference does the same.
        return ((x + conv1x1Out(z)) * Float(0.5).squareRoot(), conv1x1Skip(z))
    }
}

import NN
import TensorCore

/// WaveGlow's coupling network (NVIDIA/waveglow glow.py `WN`): a 1×1 start, `n_layers`
/// dilated convolutions with a gated activation and the mel conditioning of every layer
/// computed at once (`cond_layer`), residual and skip 1×1s, and a final 1×1 to
/// [shift | log s]. Keys follow NVIDIA's.
final class WN: Module {
    let start: Conv1d                  // n_in → C, weight norm
    let end: Conv1d                    // C → 2·n_in, plain
    let condLayer: Conv1d              // n_mel·n_group → 2·C·layers, weight norm
    let inLayers: [Conv1d]             // C → 2C, dilation 2^i, same padding
    let resSkipLayers: [Conv1d]        // C → 2C (the last: C)
    let channels: Int

    init(inChannels: Int, melChannels: Int, layers: Int, channels: Int, kernelSize: Int, using g: inout RandomGenerator) {
        self.channels = channels
        start = Conv1d(inChannels, channels, kernelSize: 1, weightNorm: true, using: &g)
        end = Conv1d(channels, 2 * inChannels, kernelSize: 1, using: &g)
        // Zero the last layer so every coupling starts as the identity (NVIDIA does the same).
        try! end.load(["weight": Tensor.zeros([2 * inChannels, channels, 1]), "bias": Tensor.zeros([2 * inChannels])])
        condLayer = Conv1d(melChannels, 2 * channels * layers, kernelSize: 1, weightNorm: true, using: &g)
        inLayers = (0..<layers).map { i in
            Conv1d(channels, 2 * channels, kernelSize: kernelSize, padding: .same, dilation: 1 << i, weightNorm: true, using: &g)
        }
        resSkipLayers = (0..<layers).map { i in
            Conv1d(channels, i < layers - 1 ? 2 * channels : channels, kernelSize: 1, weightNorm: true, using: &g)
        }
    }

    /// audio0 [B, n_in, T], spect [B, n_mel·n_group, T] → [B, 2·n_in, T]: shift, then log s.
    func callAsFunction(_ audio0: Tensor, spect: Tensor) -> Tensor {
        var audio = start(audio0)
        var output: Tensor?
        let c = channels
        // NVIDIA computes cond_layer for all layers at once ([B, 2C·layers, T]: 452 MB for 10 s
        // at 256 channels); each layer's 2C rows of it, computed when the layer needs them, are
        // the same numbers at an eighth of the peak memory.
        let condWeight = condLayer.effectiveWeight, condBias = condLayer.bias?.value
        for (i, (inLayer, resSkip)) in zip(inLayers, resSkipLayers).enumerated() {
            let rows = (2 * c * i, 2 * c * (i + 1))
            let cond = spect.conv1d(condWeight.sliced(axis: 0, start: rows.0, end: rows.1),
                                    bias: condBias?.sliced(axis: 0, start: rows.0, end: rows.1))
            let a = inLayer(audio) + cond
            let acts = a.gatedTanhSigmoid(axis: 1)
            let rs = resSkip(acts)
            if i < inLayers.count - 1 {
                audio = audio + rs.sliced(axis: 1, end: c)
                let skip = rs.sliced(axis: 1, start: c)
                output = output.map { $0 + skip } ?? skip
            } else {
                output = output.map { $0 + rs } ?? rs
            }
        }
        return end(output!)
    }
}

import Foundation
import Models
import NN
import Testing
import TensorCore
import TestSupport

/// Tiny NVIDIA-layout WaveGlows from a PyTorch reference (tools/reference/nvidia_waveglow.py),
/// one pickled as a whole model object and one with per-layer `cond_layers`, converted by
/// tools/convert_checkpoint.py --from nvidia-waveglow: WaveKit gives the reference's flow
/// outputs, log-determinants, loss and σ = 0 inference (tools/golden/waveglow_golden.py).
@Suite struct WaveGlowGoldenTests {
    static let golden: [String: Any] = (try? JSONSerialization.jsonObject(with: Data(contentsOf: WaveNetGoldenTests.url("waveglow_golden.json")))) as? [String: Any] ?? [:]

    /// Tolerances: the reference's own Float32 run is within 1e-6 of its float64 outputs; the
    /// 1024-tap upsampler and the flows' exp(log s) leave 1e-4 relative in Float32.
    @Test(arguments: ["waveglow_tiny.safetensors", "waveglow_tiny_legacy.safetensors"])
    func convertedCheckpointMatchesPyTorch(_ file: String) throws {
        let model = try WaveGlow.load(WaveNetGoldenTests.url(file).path)
        #expect(model.config.nFlows == 4 && model.config.nGroup == 4 && model.config.nEarlySize == 2)
        let inputs = Self.golden["inputs"] as! [String: Any], outputs = Self.golden["outputs"] as! [String: Any]
        let mel = WaveNetGoldenTests.tensor(inputs["mel"]), audio = WaveNetGoldenTests.tensor(inputs["audio"])
        let (z, logS, logDet) = withoutGradient { model(mel: mel, audio: audio) }
        #expect(Golden.worstRatio(z, WaveNetGoldenTests.tensor(outputs["z"]), rtol: 1e-4, atol: 1e-4) <= 1)
        func scalar(_ k: String) -> Float { Float((outputs[k] as! NSNumber).doubleValue) }
        #expect(abs(logS.item - scalar("log_s_sum")) < 1e-3)
        #expect(abs(logDet.item - scalar("log_det_W_sum")) < 1e-3)
        let loss = withoutGradient { model.loss(mel: mel, audio: audio, sigma: 1) }
        #expect(abs(loss.item - scalar("loss_sigma1")) < 1e-5)
        var rng = RandomGenerator(seed: 0)
        let audioOut = model.infer(mel: mel, sigma: 0, using: &rng)
        #expect(Golden.worstRatio(audioOut, WaveNetGoldenTests.tensor(outputs["infer_sigma0"]), rtol: 1e-4, atol: 1e-4) <= 1)
    }
}

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

    /// NVIDIA's denoiser (tools/reference/nvidia_denoiser.py: its conv-basis STFT, bias from an
    /// all-zero mel of 88 frames, strength 0.1) on the σ = 0 output plus a tone.
    @Test func denoiserMatchesNVIDIAs() throws {
        let model = try WaveGlow.load(WaveNetGoldenTests.url("waveglow_tiny.safetensors").path)
        let d = Self.golden["denoiser"] as! [String: Any]
        let denoiser = try WaveGlowDenoiser(model: model, biasFrames: 88)
        var rng = RandomGenerator(seed: 0)
        let bias = model.infer(mel: Tensor.zeros([1, model.config.nMelChannels, 88]), sigma: 0, using: &rng)
        #expect(Golden.worstRatio(bias, WaveNetGoldenTests.tensor(d["bias_audio"]), rtol: 1e-4, atol: 1e-5) <= 1)
        let input = WaveNetGoldenTests.tensor(d["input"])
        let out = denoiser(input.scalars, strength: Float((d["strength"] as! NSNumber).doubleValue))
        let want = WaveNetGoldenTests.tensor(d["output"])
        #expect(out.count == want.count)
        #expect(Golden.worstRatio(Tensor(shape: want.shape, scalars: out), want, rtol: 1e-4, atol: 1e-5) <= 1)
    }
}

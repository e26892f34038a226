import Foundation
import Models
import NN
import Testing
import TensorCore
import TestSupport

/// r9y9-layout checkpoints made by a PyTorch reference (tools/reference/r9y9_wavenet.py),
/// converted by tools/convert_checkpoint.py --from r9y9-wavenet, loaded here: outputs and
/// likelihoods match PyTorch (tools/golden/wavenet_golden.py; float64 references).
@Suite struct WaveNetGoldenTests {
    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Golden")
            ?? Bundle.module.url(forResource: "Golden/\(name)", withExtension: nil)!
    }
    static let golden: [String: Any] = (try? JSONSerialization.jsonObject(with: Data(contentsOf: url("wavenet_golden.json")))) as? [String: Any] ?? [:]

    static func tensor(_ any: Any?) -> Tensor {
        let d = any as! [String: Any]
        return Tensor(shape: (d["shape"] as! [NSNumber]).map(\.intValue), scalars: (d["data"] as! [NSNumber]).map(\.floatValue))
    }
    static func section(_ name: String) -> (inputs: [String: Any], outputs: [String: Any]) {
        let s = golden[name] as! [String: Any]
        return (s["inputs"] as! [String: Any], s["outputs"] as! [String: Any])
    }

    /// Tolerances: outputs agree to 1e-6 in float32 (PyTorch's own float32 run), so 1e-4; the
    /// MoL loss of values 10–90 differs by up to 5e-4 in float32 (the mid-point branch at
    /// clamped scales), so rtol 1e-4 with atol 2e-3.
    @Test func mixtureOfLogisticsModelMatchesPyTorch() throws {
        let model = try WaveNet.load(Self.url("wavenet_tiny_mol.safetensors").path)
        #expect(model.config.outputDistribution == .mol && model.config.upsampleScales == [2, 2] && model.config.cinPad == 1)
        let (inputs, outputs) = Self.section("mol")
        let mel = Self.tensor(inputs["mel"]), audio = Self.tensor(inputs["audio"])
        let c = withoutGradient { model.upsampledConditioning(mel) }
        #expect(Golden.worstRatio(c, Self.tensor(outputs["c_upsampled"]), rtol: 1e-4, atol: 1e-4) <= 1)
        let yHat = withoutGradient { model(audio, c: c) }
        #expect(Golden.worstRatio(yHat, Self.tensor(outputs["y_hat"]), rtol: 1e-4, atol: 1e-4) <= 1)
        let loss = withoutGradient { -model.config.distribution.logLikelihood(yHat, audio.reshaped([1, 24])) }
        #expect(Golden.worstRatio(loss, Self.tensor(outputs["mol_loss"]), rtol: 1e-4, atol: 2e-3) <= 1)
    }

    @Test func muLawSpeakerModelMatchesPyTorch() throws {
        let model = try WaveNet.load(Self.url("wavenet_tiny_mulaw.safetensors").path)
        #expect(model.config.outputDistribution == .mulaw && model.config.nSpeakers == 3)
        let (inputs, outputs) = Self.section("mulaw")
        let classes = Self.tensor(inputs["classes"])
        let speaker = Int(Self.tensor(inputs["speaker"]).scalars[0])
        let logits = withoutGradient { model(model.input(classes), g: model.speakerConditioning([speaker])) }
        #expect(Golden.worstRatio(logits, Self.tensor(outputs["logits"]), rtol: 1e-4, atol: 1e-4) <= 1)
        let nll = withoutGradient {
            -Categorical(classes: 256).logLikelihood(logits.sliced(axis: 2, end: 9), classes.sliced(axis: 1, start: 1))
        }
        #expect(Golden.worstRatio(nll, Self.tensor(outputs["nll_next_class"]), rtol: 1e-4, atol: 1e-4) <= 1)
    }

    /// r9y9's 2018 layout: transposed-convolution upsampling and legacy skip combination.
    @Test func layout2018MatchesPyTorch() throws {
        let model = try WaveNet.load(Self.url("wavenet_tiny_mol2018.safetensors").path)
        #expect(model.config.upsampleLayout == .transposed && model.config.legacy == true && model.config.freqAxisKernelSize == 3)
        let s = Self.golden["mol2018"] as! [String: Any]
        let (inputs, outputs) = (s["inputs"] as! [String: Any], s["outputs"] as! [String: Any])
        let mel = Self.tensor(inputs["mel"]), audio = Self.tensor(inputs["audio"])
        let c = withoutGradient { model.upsampledConditioning(mel) }
        #expect(Golden.worstRatio(c, Self.tensor(outputs["c_upsampled"]), rtol: 1e-4, atol: 1e-4) <= 1)
        let yHat = withoutGradient { model(audio, c: c) }
        #expect(Golden.worstRatio(yHat, Self.tensor(outputs["y_hat"]), rtol: 1e-4, atol: 1e-4) <= 1)
        // The cached generator follows the legacy skip rule too.
        let samples = audio.reshaped([1, 24])
        let shifted = Tensor.concat([Tensor.zeros([1, 1, 1]), audio.sliced(axis: 2, end: 23)], axis: 2)
        let full = withoutGradient { model(shifted, c: c) }
        let cached = WaveNetGenerator(model: model).forced(audio: samples, mel: mel, speakers: nil)
        #expect(Golden.worstRatio(cached, full, rtol: 1e-4, atol: 1e-4) <= 1)
    }

    @Test func otherFamiliesAndCorruptFilesAreNamed() throws {
        let path = Self.url("wavenet_tiny_mol.safetensors").path
        #expect(throws: NNError.wrongFamily(path: path, found: "wavenet", expected: "waveglow")) {
            _ = try Checkpoint.load(path, family: "waveglow", config: WaveNetConfig.self)
        }
    }
}

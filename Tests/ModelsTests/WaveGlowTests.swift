import Foundation
import Models
import NN
import Testing
import TensorCore
import TestSupport

extension WaveGlowConfig {
    static let tiny = WaveGlowConfig(nMelChannels: 5, nFlows: 4, nGroup: 4, nEarlyEvery: 2, nEarlySize: 2,
                                     nLayers: 2, nChannels: 8, kernelSize: 3, melPreset: nil, sampleRate: 22050)
}

@Suite struct WaveGlowTests {
    /// A tiny model whose couplings are not the identity (NVIDIA zero-initialises `end`).
    static func model(seed: UInt64 = 1) throws -> WaveGlow {
        var g = RandomGenerator(seed: seed)
        let m = try WaveGlow(config: .tiny, using: &g)
        var state = m.stateDict()
        for (k, v) in state where k.hasSuffix(".end.weight") || k.hasSuffix(".end.bias") {
            state[k] = Tensor.randomNormal(v.shape, std: 0.1, using: &g)
        }
        try m.load(state)
        return m
    }

    @Test func keysFollowNVIDIA() throws {
        let keys = Set(try Self.model().stateDict().keys)
        for k in ["upsample.weight", "upsample.bias", "WN.0.start.weight_g", "WN.0.start.weight_v", "WN.0.end.weight",
                  "WN.0.cond_layer.weight_v", "WN.3.in_layers.1.weight_g", "WN.3.res_skip_layers.1.weight_v", "convinv.3.conv.weight"] {
            #expect(keys.contains(k), "\(k)")
        }
        let m = try Self.model()
        #expect(m.stateDict()["convinv.2.conv.weight"]?.shape == [2, 2, 1])     // 2 channels left after the first early output
        #expect(m.stateDict()["WN.3.res_skip_layers.1.weight_v"]?.shape == [8, 8, 1])
    }

    /// inverse(forward(x)) = x to 1e-4.
    @Test func inverseUndoesForward() throws {
        let m = try Self.model()
        var g = RandomGenerator(seed: 2)
        let mel = Tensor.randomNormal([2, 5, 3], using: &g), audio = Tensor.randomUniform([2, 512], low: -0.5, high: 0.5, using: &g)
        let (z, _, _) = withoutGradient { m(mel: mel, audio: audio) }
        #expect(z.shape == [2, 4, 128])
        let back = withoutGradient { m.inverse(z: z, mel: mel) }
        #expect(Golden.worstRatio(back, audio, rtol: 0, atol: 1e-4) <= 1)
        // Deterministic inference (sigma 0) has NVIDIA's length: frames · 256.
        let long = Tensor.randomNormal([1, 5, 6], using: &g)
        #expect(m.infer(mel: long, sigma: 0, using: &g).shape == [1, 1536])
    }

    /// The flow's log-determinant (Σ log s + Σ log|det W|) equals log|det| of the Jacobian
    /// of audio → z, computed by autograd on a tiny input.
    @Test func logDeterminantMatchesTheJacobian() throws {
        let m = try Self.model()
        var g = RandomGenerator(seed: 3)
        let mel = Tensor.randomNormal([1, 5, 3], using: &g)
        let t = 16
        let audio = Tensor.randomUniform([1, t], low: -0.5, high: 0.5, using: &g).requiringGradient()
        let (z, logS, logDet) = m(mel: mel, audio: audio)
        var rows: [Tensor] = []
        for i in 0..<t {
            let seed = Tensor.oneHot(Tensor([Float(i)]), classes: t).reshaped(z.shape)
            rows.append(gradients(of: z, wrt: [audio], seed: seed)[0].reshaped([t]))
        }
        let exact = Tensor.stack(rows, axis: 0).logAbsDeterminant().item
        #expect(abs(exact - (logS.item + logDet.item)) < 1e-3, "\(exact) vs \(logS.item + logDet.item)")
    }

    @Test func trainingStepsReduceTheNLL() throws {
        let m = try Self.model(seed: 4)
        var g = RandomGenerator(seed: 5)
        let mel = Tensor.randomNormal([2, 5, 3], using: &g)
        let audio = Tensor(shape: [2, 512], scalars: (0..<1024).map { Float(0.3 * sin(Double($0) * 0.05)) })
        let opt = Adam(m.namedParameters(), learningRate: 1e-3)
        var losses: [Float] = []
        for _ in 0..<15 {
            let loss = m.loss(mel: mel, audio: audio, sigma: 1)
            losses.append(loss.item)
            m.computeGradients(of: loss)
            opt.step()
        }
        #expect(losses.last! < losses.first!, "\(losses.first!) → \(losses.last!)")
    }

    @Test func denoiserSubtractsTheBiasSpectrumAndIsANoOpAtZeroStrength() throws {
        let m = try Self.model()
        let d = try WaveGlowDenoiser(model: m)
        #expect(d.biasSpectrum.count == 513 && d.biasSpectrum.contains { $0 > 0 })
        var g = RandomGenerator(seed: 3)
        let audio = Tensor.randomNormal([4096], std: 0.1, using: &g).scalars
        let same = d(audio, strength: 0)
        #expect(same.count == audio.count)
        #expect(zip(audio, same).map { abs($0 - $1) }.max()! < 1e-4)
        func energy(_ x: [Float]) -> Float { x.reduce(0) { $0 + $1 * $1 } }
        // The bias itself, with its own spectrum removed, loses most of its energy.
        var r = RandomGenerator(seed: 0)
        let bias = m.infer(mel: .zeros([1, 5, 88]), sigma: 0, using: &r).scalars
        let ratio = energy(d(bias, strength: 1)) / energy(bias)
        #expect(ratio < 0.5, "energy kept: \(ratio)")
        // Stronger denoising removes more.
        #expect(energy(d(audio, strength: 10)) < energy(d(audio, strength: 1)))
    }
}

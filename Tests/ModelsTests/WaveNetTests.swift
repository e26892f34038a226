import AudioIO
import Foundation
@testable import Models
import NN
import Testing
import TensorCore
import TestSupport

extension WaveNetConfig {
    /// A tiny MoL model conditioned on 5-band mels with hop 4.
    static let tinyMol = WaveNetConfig(outChannels: 30, layers: 4, stacks: 2, residualChannels: 8, gateChannels: 16, skipOutChannels: 8,
                                       kernelSize: 3, cinChannels: 5, ginChannels: nil, nSpeakers: nil, upsampleScales: [2, 2], cinPad: 1,
                                       scalarInput: true, outputDistribution: .mol, logScaleMin: -7, melPreset: nil)
    /// A tiny μ-law model with a speaker embedding and kernel 2.
    static let tinyMulaw = WaveNetConfig(outChannels: 256, layers: 3, stacks: 1, residualChannels: 8, gateChannels: 8, skipOutChannels: 8,
                                         kernelSize: 2, cinChannels: nil, ginChannels: 4, nSpeakers: 3, upsampleScales: nil, cinPad: 0,
                                         scalarInput: false, outputDistribution: .mulaw, logScaleMin: -16, melPreset: nil)
    /// A tiny Gaussian model whose widths fill one 32-column panel and part of another (40, 64, 36).
    static let tinyGaussian = WaveNetConfig(outChannels: 2, layers: 4, stacks: 2, residualChannels: 40, gateChannels: 64, skipOutChannels: 36,
                                            kernelSize: 3, cinChannels: 5, ginChannels: nil, nSpeakers: nil, upsampleScales: [2, 2], cinPad: 1,
                                            scalarInput: true, outputDistribution: .gaussian, logScaleMin: -9, melPreset: nil)
}

@Suite struct WaveNetTests {
    @Test func keysFollowR9y9() throws {
        var g = RandomGenerator(seed: 0)
        let keys = Set(try WaveNet(config: .tinyMol, using: &g).stateDict().keys)
        for k in ["first_conv.weight_g", "first_conv.weight_v", "first_conv.bias", "conv_layers.3.conv.weight_v",
                  "conv_layers.0.conv1x1c.weight_g", "conv_layers.2.conv1x1_out.bias", "conv_layers.2.conv1x1_skip.weight_v",
                  "last_conv_layers.1.weight_g", "last_conv_layers.3.bias", "upsample_net.conv_in.weight",
                  "upsample_net.upsample.up_layers.1.weight_g", "upsample_net.upsample.up_layers.3.weight_v"] {
            #expect(keys.contains(k), "\(k)")
        }
        #expect(!keys.contains { $0.contains("conv1x1c.bias") })
        let mulaw = Set(try WaveNet(config: .tinyMulaw, using: &g).stateDict().keys)
        #expect(mulaw.contains("embed_speakers.weight") && mulaw.contains("conv_layers.0.conv1x1g.weight_v"))
    }

    @Test func the2018LayoutUsesTransposedUpsampling() throws {
        var c = WaveNetConfig.tinyMol
        c.upsampleLayout = .transposed
        c.freqAxisKernelSize = 3
        c.upsampleScales = [2, 3]
        c.cinPad = 0
        var g = RandomGenerator(seed: 9)
        let model = try WaveNet(config: c, using: &g)
        let keys = Set(model.stateDict().keys)
        #expect(keys.isSuperset(of: ["upsample_conv.0.weight_g", "upsample_conv.0.weight_v", "upsample_conv.0.bias",
                                     "upsample_conv.2.weight_v"]))
        #expect(!keys.contains { $0.hasPrefix("upsample_net") })
        #expect(model.upsampledConditioning(Tensor.randomNormal([2, 5, 4], using: &g)).shape == [2, 5, 24])
        let big = try WaveNet(config: .r9y9LJSpeech2018, using: &g)
        #expect(big.stateDict()["upsample_conv.6.weight_v"]?.shape == [1, 1, 3, 4])
    }

    /// Changing future samples leaves every earlier output unchanged.
    @Test func outputsAreCausal() throws {
        var g = RandomGenerator(seed: 1)
        let model = try WaveNet(config: .tinyMol, using: &g)
        let mel = Tensor.randomNormal([1, 5, 6], using: &g)
        let c = model.upsampledConditioning(mel)
        #expect(c.shape == [1, 5, 24])
        let x = Tensor.randomUniform([1, 1, 24], low: -1, high: 1, using: &g)
        var y = x.scalars
        for i in 15..<24 { y[i] = -y[i] }
        let a = withoutGradient { model(x, c: c) }, b = withoutGradient { model(Tensor(shape: [1, 1, 24], scalars: y), c: c) }
        #expect(a.sliced(axis: 2, end: 15).scalars == b.sliced(axis: 2, end: 15).scalars)
        #expect(a.sliced(axis: 2, start: 15).scalars != b.sliced(axis: 2, start: 15).scalars)
    }

    /// The cached generator, fed the same samples, gives the full forward pass's parameters at
    /// every step to 1e-4 (the Gaussian case with 11 utterances: tiles of 8, 2 and 1, and
    /// partly filled weight panels; the deep case with dilations up to 32 over 7 of its d-blocks,
    /// whose past taps are computed a block ahead).
    @Test(arguments: ["mol", "mulaw", "gaussian", "deep"])
    func cachedGeneratorMatchesForwardPass(_ kind: String) throws {
        var g = RandomGenerator(seed: 2)
        var config: WaveNetConfig = kind == "mol" ? .tinyMol : kind == "mulaw" ? .tinyMulaw : .tinyGaussian
        if kind == "deep" { (config.layers, config.stacks) = (6, 1) }
        let model = try WaveNet(config: config, using: &g)
        let batch = kind == "gaussian" ? 11 : kind == "deep" ? 3 : 2, steps = kind == "deep" ? 224 : 40
        let mel = config.cinChannels.map { Tensor.randomNormal([batch, $0, steps / config.hopLength], using: &g) }
        let speakers = config.nSpeakers.map { _ in [2, 0] }
        let audio: Tensor = config.scalarInput
            ? Tensor.randomUniform([batch, steps], low: -0.9, high: 0.9, using: &g)
            : Tensor(shape: [batch, steps], scalars: (0..<(batch * steps)).map { _ in Float(g.next() % 256) })
        // Full pass on the shifted input.
        let first: Float = config.scalarInput ? 0 : 128
        let shifted = Tensor.concat([Tensor.full([batch, 1], first), audio.sliced(axis: 1, end: steps - 1)], axis: 1)
        let full = withoutGradient {
            model(model.input(shifted), c: mel.map { model.upsampledConditioning($0) }, g: speakers.flatMap { model.speakerConditioning($0) })
        }
        let cached = WaveNetGenerator(model: model, batch: batch).forced(audio: audio, mel: mel, speakers: speakers)
        #expect(cached.shape == full.shape)
        #expect(Golden.worstRatio(cached, full, rtol: 1e-4, atol: 1e-4) <= 1)
    }

    /// The generator's frame-rate weights rebuild the upsampled mel of r9y9's stack (scales
    /// [4, 4, 4, 4] and [3, 2], cin_pad 2) at every sample: mels shorter than, equal to and
    /// longer than the 2E + 1 frames the weights are measured on.
    @Test(arguments: [[4, 4, 4, 4], [3, 2]])
    func upsamplerWeightsRebuildTheUpsampledMel(_ scales: [Int]) throws {
        var g = RandomGenerator(seed: 6)
        var config = WaveNetConfig.tinyGaussian
        config.upsampleScales = scales
        config.cinPad = 2
        let model = try WaveNet(config: config, using: &g)
        let window = 2 * UpsampleTaps.edgeFrames(scales: scales) + 1
        for frames in [1, window, window + 1, 23] {
            let mel = Tensor.randomNormal([1, 5, frames], using: &g)
            let up = withoutGradient { model.upsampledConditioning(mel) }.contiguous().scalars
            let (h, taps) = try #require(model.frameConditioning(mel))
            let hs = withoutGradient { h }.contiguous().scalars
            let hop = config.hopLength
            var rebuilt = [Float](repeating: 0, count: 5 * frames * hop)
            for t in 0..<(frames * hop) {
                let (frame, count, weights) = taps.taps(at: t)
                #expect(frame >= 0 && frame + count <= frames && count <= window)
                for band in 0..<5 {
                    for j in 0..<count { rebuilt[band * frames * hop + t] += weights[j] * hs[band * frames + frame + j] }
                }
            }
            let worst = zip(rebuilt, up).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-5, "\(frames) frames: worst difference \(worst)")
        }
    }

    @Test func generationIsSeededAndInRange() throws {
        var g = RandomGenerator(seed: 3)
        let model = try WaveNet(config: .tinyMol, using: &g)
        let mel = Tensor.randomNormal([1, 5, 10], using: &g)
        let gen = WaveNetGenerator(model: model)
        let a = gen.generate(samples: 40, mel: mel, speakers: nil, seed: 7)[0]
        let b = gen.generate(samples: 40, mel: mel, speakers: nil, seed: 7)[0]
        #expect(a.count == 40 && a == b && a.allSatisfy { $0 >= -1 && $0 <= 1 })
        let m = try WaveNet(config: .tinyMulaw, using: &g)
        let s = WaveNetGenerator(model: m, batch: 2).generate(samples: 30, mel: nil, speakers: [0, 1], seed: 1)
        #expect(s.count == 2 && s[0].count == 30)
        let gauss = try WaveNet(config: .tinyGaussian, using: &g)
        let gm = Tensor.randomNormal([3, 5, 10], using: &g)
        let x = WaveNetGenerator(model: gauss, batch: 3).generate(samples: 40, mel: gm, speakers: nil, seed: 5)
        let y = WaveNetGenerator(model: gauss, batch: 3).generate(samples: 40, mel: gm, speakers: nil, seed: 5)
        #expect(x == y && x.allSatisfy { $0.count == 40 && $0.allSatisfy { $0 >= -1 && $0 <= 1 } } && x[0] != x[1])
        // Five utterances on two threads (groups of 2 and 3) equal the one-thread batch, bit for bit.
        let five = Tensor.randomNormal([5, 5, 10], using: &g)
        let one = WaveNetGenerator(model: gauss, batch: 5).generate(samples: 40, mel: five, speakers: nil, seed: 9)
        let two = WaveNetGenerator(model: gauss, batch: 5).generate(samples: 40, mel: five, speakers: nil, seed: 9, threads: 2)
        #expect(one == two && one.count == 5)
    }

    /// At the `small` preset's real widths (where OpenBLAS's sgemm, which the mel projection
    /// once went through, sums differently for different row counts and thread counts), an
    /// utterance's audio is the same alone, in a batch, and with the batch split over threads.
    @Test func anUtterancesAudioDoesNotDependOnItsBatch() throws {
        var g = RandomGenerator(seed: 3)
        var config = WaveNetConfig.small
        (config.outputDistribution, config.outChannels, config.scalarInput) = (.gaussian, 2, true)
        let model = try WaveNet(config: config, using: &g)
        let mels = (0..<3).map { _ in Tensor.randomNormal([1, 80, 6], using: &g) }
        let alone = mels.enumerated().map { i, mel in
            WaveNetGenerator(model: model).generate(samples: 600, mel: mel, speakers: nil, seed: 5 + UInt64(i))[0]
        }
        let together = Tensor.concat(mels, axis: 0)
        let one = WaveNetGenerator(model: model, batch: 3).generate(samples: 600, mel: together, speakers: nil, seed: 5)
        let two = Threading.withThreads(2) {
            WaveNetGenerator(model: model, batch: 3).generate(samples: 600, mel: together, speakers: nil, seed: 5, threads: 2)
        }
        #expect(one == alone, "batch of 3 vs alone")
        #expect(two == alone, "batch of 3 over two threads vs alone")
    }

    /// A few Adam steps on one clip: the teacher-forced NLL falls.
    @Test func trainingStepsReduceTheLoss() throws {
        var g = RandomGenerator(seed: 4)
        let model = try WaveNet(config: .tinyMol, using: &g)
        let audio = Tensor(shape: [2, 32], scalars: (0..<64).map { Float(0.5 * sin(Double($0) * 0.4)) })
        let mel = Tensor.randomNormal([2, 5, 8], using: &g)
        let opt = Adam(model.namedParameters(), learningRate: 3e-3)
        var losses: [Float] = []
        for _ in 0..<40 {
            let loss = model.negativeLogLikelihood(audio: audio, mel: mel)
            losses.append(loss.item)
            model.computeGradients(of: loss)
            opt.step()
        }
        #expect(losses.last! < losses.first! - 0.5, "\(losses.first!) → \(losses.last!)")
    }

    @Test func muLawClassesMatchAudioIO() {
        for i in 0..<2001 {
            let x = Float(i) / 1000 - 1
            #expect(MuLawClasses.encode(x) == MuLaw.encode(x))
        }
        for k in 0..<256 { #expect(abs(MuLawClasses.decode(k) - MuLaw.decode(k)) < 1e-6) }
    }

    @Test func badConfigsAreRejected() {
        var g = RandomGenerator(seed: 5)
        var c = WaveNetConfig.tinyMol
        c.layers = 5
        #expect(throws: NNError.self) { _ = try WaveNet(config: c, using: &g) }
        c = .tinyMulaw
        c.scalarInput = true
        #expect(throws: NNError.self) { _ = try WaveNet(config: c, using: &g) }
    }
}

/// The models' input checks: what a library caller reading mels from files gets instead of a
/// crash deep in a convolution.
@Suite struct ModelInputTests {
    @Test func waveNetInputsAreChecked() throws {
        var g = RandomGenerator(seed: 1)
        let mol = try WaveNet(config: .tinyMol, using: &g), mulaw = try WaveNet(config: .tinyMulaw, using: &g)
        try mol.checkInputs(mel: .zeros([2, 5, 10]), speakers: nil, batch: 2, samples: 40)
        try mulaw.checkInputs(mel: nil, speakers: [0, 2], batch: 2)
        let cases: [(WaveNet, Tensor?, [Int]?, Int?, String)] = [
            (mol, nil, nil, nil, "mel-conditioned"),
            (mol, .zeros([5, 10]), nil, nil, "takes [2, 5, frames]"),
            (mol, .zeros([2, 4, 10]), nil, nil, "takes [2, 5, frames]"),
            (mol, .zeros([2, 5, 10]), nil, 41, "fewer than the 41"),
            (mol, .zeros([2, 5, 10]), [0, 0], nil, "no speaker conditioning"),
            (mulaw, .zeros([2, 5, 10]), [0, 0], nil, "takes no mel"),
            (mulaw, nil, nil, nil, "speaker-conditioned"),
            (mulaw, nil, [0, 3], nil, "in 0…2"),
        ]
        for (model, mel, speakers, samples, needle) in cases {
            do {
                try model.checkInputs(mel: mel, speakers: speakers, batch: 2, samples: samples)
                Issue.record("accepted: \(needle)")
            } catch { #expect("\(error)".contains(needle), "\(error)") }
        }
    }

    /// A preset fits only a model with its bands and an upsampler to its hop; unconditional
    /// models ignore a recorded one (older versions wrote it).
    @Test func presetsFitOnlyModelsThatCanTakeThem() throws {
        var c = WaveNetConfig.small
        c.cinChannels = 80; c.upsampleScales = [4, 4, 4, 4]
        #expect(c.misfit(.tacotron2) == nil)
        #expect(c.misfit(.speech16k)?.contains("hop is 200") == true)
        #expect(c.misfit(.torchaudio)?.contains("128 bands") == true)
        c.upsampleScales = nil
        #expect(c.misfit(.tacotron2)?.contains("no upsampler") == true)
        c.melPreset = "tacotron2"
        #expect(throws: NNError.self) { try c.validate() }
        var unconditional = WaveNetConfig.tinyMulaw
        unconditional.melPreset = "tacotron2"
        try unconditional.validate()
    }

    /// A mel of 1 + T / hop centred frames (as MelSpectrogram gives) scores T samples.
    @Test func aMelLongerThanTheAudioIsCut() throws {
        var g = RandomGenerator(seed: 2)
        let model = try WaveNet(config: .tinyGaussian, using: &g)
        let audio = Tensor.randomUniform([1, 40], low: -0.5, high: 0.5, using: &g)
        let mel = Tensor.randomNormal([1, 5, 11], using: &g)
        let long = model.negativeLogLikelihood(audio: audio, mel: mel).item
        let exact = model.negativeLogLikelihood(audio: audio, mel: mel.sliced(axis: 2, end: 10)).item
        #expect(long.isFinite && exact.isFinite)
    }

    @Test func waveGlowInputsAreChecked() throws {
        var g = RandomGenerator(seed: 1)
        let model = try WaveGlow(config: .tiny, using: &g)
        try model.checkInputs(mel: .zeros([1, 5, 3]), audio: .zeros([1, 512]))
        let cases: [(Tensor, Tensor?, String)] = [
            (.zeros([5, 3]), nil, "takes [batch, 5, frames"),
            (.zeros([1, 80, 3]), nil, "takes [batch, 5, frames"),
            (.zeros([1, 5, 3]), .zeros([1, 510]), "multiple of n_group"),
            (.zeros([1, 5, 3]), .zeros([2, 512]), "the mel's batch is 1"),
            (.zeros([1, 5, 1]), .zeros([1, 4096]), "fewer than the audio's 4096"),
        ]
        for (mel, audio, needle) in cases {
            do {
                try model.checkInputs(mel: mel, audio: audio)
                Issue.record("accepted: \(needle)")
            } catch { #expect("\(error)".contains(needle), "\(error)") }
        }
    }
}

import CKernels
import Foundation
import NN
import TensorCore

/// Fast sample-by-sample WaveNet generation (Paine et al. 2016, "Fast Wavenet Generation
/// Algorithm"): every layer keeps a ring buffer of its past inputs at its dilation, so one time
/// step is a few small matrix–vector products per layer into preallocated buffers, with the
/// gate fused and the mel conditioning of all layers precomputed per chunk as one GEMM. Weight
/// norm is folded in once. Several utterances at once turn the products into small matrix
/// products that reuse each weight row from cache. Nothing is allocated per sample.
public final class WaveNetGenerator {
    public let config: WaveNetConfig
    public let batch: Int
    let model: WaveNet

    // Weights in wk_panel_gemm's 32-column panels (from [K, M], the weight transposed),
    // except firstW, kept as [in, R] rows: its input is one sample or one class.
    let firstW: Storage, firstB: Storage                // [in, R], [R]
    let convW: [Storage], convB: [Storage]              // [k·R, G] tap-major, [G]
    let outW: [Storage], outB: [Storage]                // [G/2, R], [R]
    let skipW: [Storage], skipB: [Storage]              // [G/2, S], [S]
    let head1W: Storage, head1B: Storage                // [S, S], [S]
    let head2W: Storage, head2B: Storage                // [S, out], [out]
    let condW: Tensor?                                  // [C_mel, L·G]: every layer's conv1x1c
    let condPanels: [Storage]                           // [C_mel, G] per layer, when conditioning per step
    /// Conditioning per step inside the layer loop (one more panel product per layer, its
    /// weights reused by every utterance) rather than per chunk as one GEMM whose [n, B, L·G]
    /// result is then read back: the chunk GEMM wins for one utterance (its weights would
    /// otherwise stream from L3 every step), the per-step product from 4 utterances on.
    let conditionsPerStep: Bool
    let globalW: [Storage]                              // [C_g, G] per layer

    // State: per-layer ring buffers [ring][B][R], and scratch.
    let rings: [Storage]
    let ringLength: [Int]
    let hidden: Storage, gateOut: Storage, z: Storage, skips: Storage, headIn: Storage, head: Storage
    let tapPointers: UnsafeMutablePointer<UnsafePointer<Float>?>
    let sourcePointer: UnsafeMutablePointer<UnsafePointer<Float>?>
    let sampleScratch: Storage, uniforms: Storage, classes: Storage
    public let logits: Storage                          // [B, out] after `step`
    var t = 0
    /// Generators for the groups of a threaded `generate`, kept for the next call.
    private var groupGenerators: [WaveNetGenerator] = []

    /// `conditionPerStep` overrides the choice of `conditionsPerStep` (made by batch size).
    public init(model: WaveNet, batch: Int = 1, conditionPerStep: Bool? = nil) {
        self.model = model
        config = model.config
        self.batch = batch
        let c = config
        let (r, g, s, k, h) = (c.residualChannels, c.gateChannels, c.skipOutChannels, c.kernelSize, c.gateChannels / 2)
        func packed(_ w: Tensor) -> Storage {        // [M, K, (taps)] conv weight → panels of Wt [K·taps', M]
            let rows = transposed(w)
            let m = w.shape[0], k = rows.count / m
            let out = Storage(count: (m + 31) / 32 * 32 * k)
            wk_panel_pack(k, m, rows.base, out.base)
            return out
        }
        func transposed(_ w: Tensor) -> Storage {    // [M, K, (taps)] conv weight → Wt [K·taps', M]
            withoutGradient {
                let m = w.shape[0]
                let wt: Tensor
                if w.rank == 3 && w.shape[2] > 1 {
                    wt = w.permuted([2, 1, 0]).reshaped([-1, m])   // tap-major: row (j·R + r) → W[:, r, j]
                } else {
                    wt = w.reshaped([m, -1]).transposed()
                }
                let out = Storage(count: wt.count)
                wt.withUnsafeBufferPointer { out.base.update(from: $0.baseAddress!, count: wt.count) }
                return out
            }
        }
        func vector(_ p: Parameter?, _ n: Int) -> Storage {
            let out = Storage(count: n, repeating: 0)
            if let p { p.value.withUnsafeBufferPointer { out.base.update(from: $0.baseAddress!, count: n) } }
            return out
        }
        firstW = transposed(model.firstConv.effectiveWeight); firstB = vector(model.firstConv.bias, r)
        convW = model.convLayers.map { packed($0.conv.effectiveWeight) }
        convB = model.convLayers.map { vector($0.conv.bias, g) }
        outW = model.convLayers.map { packed($0.conv1x1Out.effectiveWeight) }
        outB = model.convLayers.map { vector($0.conv1x1Out.bias, r) }
        skipW = model.convLayers.map { packed($0.conv1x1Skip.effectiveWeight) }
        skipB = model.convLayers.map { vector($0.conv1x1Skip.bias, s) }
        let head1 = model.lastConvLayers[1] as! Conv1d, head2 = model.lastConvLayers[3] as! Conv1d
        head1W = packed(head1.effectiveWeight); head1B = vector(head1.bias, s)
        head2W = packed(head2.effectiveWeight); head2B = vector(head2.bias, c.outChannels)
        conditionsPerStep = c.cinChannels != nil && (conditionPerStep ?? (batch >= 4))
        condPanels = conditionsPerStep ? model.convLayers.map { packed($0.conv1x1c!.effectiveWeight) } : []
        if c.cinChannels != nil && !conditionsPerStep {
            condW = withoutGradient {
                Tensor.concat(model.convLayers.map { $0.conv1x1c!.effectiveWeight.reshaped([g, -1]) }, axis: 0).transposed().contiguous().detached()
            }
        } else {
            condW = nil
        }
        globalW = c.ginChannels == nil ? [] : model.convLayers.map { packed($0.conv1x1g!.effectiveWeight) }
        ringLength = (0..<c.layers).map { (k - 1) * c.dilation(ofLayer: $0) + 1 }
        rings = ringLength.map { Storage(count: $0 * batch * r, repeating: 0) }
        hidden = Storage(count: batch * r); gateOut = Storage(count: batch * g)
        tapPointers = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: k)
        sourcePointer = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: 1)
        sampleScratch = Storage(count: c.outChannels); uniforms = Storage(count: batch); classes = Storage(count: batch)
        z = Storage(count: batch * h); skips = Storage(count: batch * s); headIn = Storage(count: batch * s)
        head = Storage(count: batch * s); logits = Storage(count: batch * c.outChannels)
    }

    /// Clears the history (a new utterance).
    public func reset() {
        for (ring, n) in zip(rings, ringLength) { Kernels.zero(ring.base, count: n * batch * config.residualChannels) }
        t = 0
    }


    deinit { tapPointers.deallocate(); sourcePointer.deallocate() }

    /// y[B, M] (+)= bias + x[B, K] · W for panel-packed W (one source).
    private func gemm(_ b: Int, _ k: Int, _ m: Int, _ x: UnsafePointer<Float>, _ ldx: Int, _ w: Storage, _ bias: Storage?,
                      _ y: UnsafeMutablePointer<Float>, _ ldy: Int, accumulate: Bool) {
        sourcePointer[0] = x
        wk_panel_gemm(b, 1, k, m, sourcePointer, ldx, w.base, bias.map { UnsafePointer($0.base) }, y, ldy, accumulate ? 1 : 0)
    }

    /// Advances one step. `hidden` [B, R] must hold the first convolution's output for the
    /// previous sample; `cond` points at this step's conditioning laid out [B][L·G] (or, when
    /// `conditionsPerStep`, at its upsampled mel [B][C_mel]; or is nil), `global` at the
    /// speaker term laid out [L][B][G]. Leaves the distribution parameters in `logits` [B, out].
    func step(cond: UnsafePointer<Float>?, global: UnsafePointer<Float>?) {
        let c = config
        let (r, g, s, k, h, b) = (c.residualChannels, c.gateChannels, c.skipOutChannels, c.kernelSize, c.gateChannels / 2, batch)
        Kernels.zero(skips.base, count: b * s)
        for l in 0..<c.layers {
            let ring = rings[l], n = ringLength[l], d = c.dilation(ofLayer: l)
            (ring.base + (t % n) * b * r).update(from: hidden.base, count: b * r)
            // The dilated convolution over taps x[t − (k−1−j)·d], read straight from the ring.
            for j in 0..<k {
                let slot = ((t - (k - 1 - j) * d) % n + n) % n
                tapPointers[j] = UnsafePointer(ring.base + slot * b * r)
            }
            wk_panel_gemm(b, k, r, g, tapPointers, r, convW[l].base, convB[l].base, gateOut.base, g, 0)
            if let cond {
                if conditionsPerStep {
                    gemm(b, c.cinChannels!, g, cond, c.cinChannels!, condPanels[l], nil, gateOut.base, g, accumulate: true)
                } else {
                    wk_accumulate_rows(b, g, cond + l * g, c.layers * g, gateOut.base, g)
                }
            }
            if let global { wk_accumulate(b * g, global + l * b * g, gateOut.base) }
            wk_gated_rows(b, h, gateOut.base, g, z.base)
            // Residual (into `hidden`, scaled by √½) and skip.
            gemm(b, h, r, z.base, h, outW[l], outB[l], hidden.base, r, accumulate: true)
            wk_unary(Int32(WK_MUL_SCALAR.rawValue), b * r, hidden.base, hidden.base, Float(0.5).squareRoot())
            gemm(b, h, s, z.base, h, skipW[l], skipB[l], skips.base, s, accumulate: true)
            if c.legacy == true && l > 0 {
                wk_unary(Int32(WK_MUL_SCALAR.rawValue), b * s, skips.base, skips.base, Float(0.5).squareRoot())
            }
        }
        wk_relu_scale(b * s, skips.base, headIn.base, c.legacy == nil ? Float(1 / Double(c.layers)).squareRoot() : 1)
        gemm(b, s, s, headIn.base, s, head1W, head1B, head.base, s, accumulate: false)
        wk_relu_scale(b * s, head.base, head.base, 1)
        gemm(b, s, c.outChannels, head.base, s, head2W, head2B, logits.base, c.outChannels, accumulate: false)
        t += 1
    }

    /// The first convolution of the previous sample (or class, whose one-hot product is a row
    /// of the packed weight) into `hidden`.
    func feed(_ previous: UnsafePointer<Float>) {
        let c = config, r = c.residualChannels
        for bi in 0..<batch {
            let dst = hidden.base + bi * r
            if c.scalarInput {
                for i in 0..<r { dst[i] = firstB.base[i] + firstW.base[i] * previous[bi] }
            } else {
                dst.update(from: firstW.base + Int(previous[bi]) * r, count: r)
                wk_accumulate(r, firstB.base, dst)
            }
        }
    }

    /// Conditioning for upsampled `c` [B, C_mel, T] over steps [from, from + count): of all
    /// layers, laid out [count][B][L·G] by one GEMM with no re-layout of its output (a permuted
    /// copy of it cost 84 MB per chunk at batch 8); or, when `conditionsPerStep`, the mel
    /// itself laid out [count][B][C_mel].
    func conditioning(_ c: Tensor?, from: Int, count: Int) -> Tensor? {
        guard let c, config.cinChannels != nil else { return nil }
        return withoutGradient {
            let rows = c.sliced(axis: 2, start: from, end: from + count).permuted([2, 0, 1]).contiguous()   // [n, B, C_mel]
            return condW.map { rows.matmul($0) } ?? rows
        }
    }

    /// Floats per step in `conditioning`'s layout.
    var conditioningStride: Int {
        batch * (conditionsPerStep ? config.cinChannels ?? 0 : config.layers * config.gateChannels)
    }

    /// The speaker term of every layer, laid out [L][B][G] like `conditioning`.
    func globalConditioning(_ speakers: [Int]?) -> Storage? {
        precondition(config.nSpeakers == nil || speakers?.count == batch,
                     "WaveNetGenerator: a speaker-conditioned model needs one speaker per utterance (\(batch)), got \(speakers?.count ?? 0)")
        guard let speakers, let gc = model.speakerConditioning(speakers) else { return nil }
        let c = config, g = c.gateChannels
        let perLayer = Storage(count: c.layers * batch * g)                    // [L][B][G]
        let gv = gc.reshaped([batch, -1]).contiguous()
        gv.withUnsafeBufferPointer { src in
            for l in 0..<c.layers {
                gemm(batch, c.ginChannels!, g, src.baseAddress!, c.ginChannels!, globalW[l], nil, perLayer.base + l * batch * g, g, accumulate: false)
            }
        }
        return perLayer
    }

    /// Distribution parameters [B, out, T] when each step is fed the given previous samples
    /// (teacher forcing): `audio` [B, T] in [-1, 1] or classes. Equals `model(x)` step by step.
    public func forced(audio: Tensor, mel: Tensor?, speakers: [Int]?) -> Tensor {
        reset()
        let c = config, steps = audio.shape[1]
        let up = mel.map { m in withoutGradient { model.upsampledConditioning(m) } }
        precondition(up.map { $0.shape[2] >= steps } ?? true, "WaveNetGenerator.forced: the mel covers fewer than \(steps) samples")
        let global = globalConditioning(speakers)
        defer { withExtendedLifetime(global) {} }
        let input = Storage(count: batch, repeating: 0)
        let a = audio.contiguous().scalars
        var out = [Float](repeating: 0, count: batch * c.outChannels * steps)
        let chunk = 1024
        var from = 0
        while from < steps {
            let n = Swift.min(chunk, steps - from)
            let cond = conditioning(up, from: from, count: n)
            let condBase = cond.map { $0.storage.base + $0.offset }
            // NOTE: only raw pointers into `cond` are used below; keep its storage alive.
            defer { withExtendedLifetime(cond) {} }
            for i in 0..<n {
                let step = from + i
                for bi in 0..<batch {
                    input.base[bi] = step == 0 ? (c.scalarInput ? 0 : Float(c.outChannels / 2)) : a[bi * steps + step - 1]
                }
                feed(input.base)
                self.step(cond: condBase.map { UnsafePointer($0 + i * conditioningStride) },
                          global: global.map { UnsafePointer($0.base) })
                for bi in 0..<batch {
                    for o in 0..<c.outChannels { out[(bi * c.outChannels + o) * steps + step] = logits.base[bi * c.outChannels + o] }
                }
            }
            from += n
        }
        return Tensor(shape: [batch, c.outChannels, steps], scalars: out)
    }


    /// Generates up to `samples` samples for each of the batch's utterances, conditioned on
    /// `mel` [B, C_mel, F] (at most F · hop samples: a mel covers no more) and speakers;
    /// returns audio in [-1, 1] per utterance. Utterance i draws from its own random stream
    /// (seed, seed + 1, …). With threads > 1 the batch is split into that many groups
    /// generated concurrently, one core each; a batch of 4 or more gives the same audio bit for
    /// bit on any number of threads (smaller ones condition through a different product, so
    /// rounding differs). `progress(done, total)` is called every 1 000 samples.
    public func generate(samples requested: Int, mel: Tensor?, speakers: [Int]?, temperature: Float = 1, seed: UInt64 = 0,
                         threads: Int = 1, progress: ((Int, Int) -> Void)? = nil) -> [[Float]] {
        precondition(mel.map { $0.shape[0] == batch } ?? true, "WaveNetGenerator.generate: mel batch \(mel?.shape ?? []) differs from \(batch)")
        let up = mel.map { m in withoutGradient { model.upsampledConditioning(m).contiguous() } }
        let samples = Swift.max(0, Swift.min(requested, up?.shape[2] ?? requested))
        let seeds = (0..<batch).map { seed &+ UInt64($0) }
        let groups = Swift.min(Swift.max(threads, 1), batch)
        if groups == 1 {
            return run(samples: samples, up: up, first: 0, global: globalConditioning(speakers), temperature: temperature,
                       seeds: seeds, progress: progress)
        }
        // Groups of near-equal size, each with its own generator (state and scratch); tensor
        // work (upsampling, speaker terms) happens here, the threads run only C kernels.
        let bounds = (0...groups).map { $0 * batch / groups }
        if groupGenerators.count != groups {          // made once per group count: packing weights costs milliseconds
            groupGenerators = (0..<groups).map { WaveNetGenerator(model: model, batch: bounds[$0 + 1] - bounds[$0], conditionPerStep: true) }
        }
        let parts = (0..<groups).map { k -> (WaveNetGenerator, Storage?) in
            let gen = groupGenerators[k]
            return (gen, gen.globalConditioning(speakers.map { Array($0[bounds[k]..<bounds[k + 1]]) }))
        }
        var results = [[[Float]]](repeating: [], count: groups)
        results.withUnsafeMutableBufferPointer { out in
            Parallel.perform(groups) { k in
                out[k] = parts[k].0.run(samples: samples, up: up, first: bounds[k], global: parts[k].1, temperature: temperature,
                                        seeds: Array(seeds[bounds[k]..<bounds[k + 1]]), progress: k == 0 ? progress : nil)
            }
        }
        return results.flatMap { $0 }
    }

    /// The sampling loop for utterances [first, first + batch) of the upsampled conditioning
    /// `up` [B', C_mel, T] (contiguous).
    private func run(samples: Int, up: Tensor?, first: Int, global: Storage?, temperature: Float, seeds: [UInt64],
                     progress: ((Int, Int) -> Void)?) -> [[Float]] {
        reset()
        let c = config
        var rngs = seeds.map { RandomGenerator(seed: $0) }
        defer { withExtendedLifetime(global) {} }
        let input = Storage(count: batch, repeating: c.scalarInput ? 0 : Float(c.outChannels / 2))
        var audio = [[Float]](repeating: [], count: batch)
        for bi in 0..<batch { audio[bi].reserveCapacity(samples) }
        let chunk = 1024
        var from = 0
        let invT = 1 / Swift.max(temperature, 1e-6)
        let table = (0..<c.outChannels).map { MuLawClasses.decode($0, classes: c.outChannels) }
        let melRows = conditionsPerStep && up != nil ? Storage(count: chunk * batch * c.cinChannels!) : nil
        while from < samples {
            let n = Swift.min(chunk, samples - from)
            let cond: Tensor?, condBase: UnsafeMutablePointer<Float>?
            if let up, let melRows {
                fillMelRows(melRows, from: up, first: first, steps: from..<(from + n))
                (cond, condBase) = (nil, melRows.base)
            } else {
                cond = conditioning(up, from: from, count: n)
                condBase = cond.map { $0.storage.base + $0.offset }
            }
            defer { withExtendedLifetime(cond) {} }
            for i in 0..<n {
                feed(input.base)
                step(cond: condBase.map { UnsafePointer($0 + i * conditioningStride) }, global: global.map { UnsafePointer($0.base) })
                if c.outputDistribution == .mulaw {
                    for bi in 0..<batch { uniforms.base[bi] = rngs[bi].nextUniform() }
                    wk_sample_categorical(batch, c.outChannels, logits.base, invT, uniforms.base, input.base, sampleScratch.base)
                    for bi in 0..<batch { audio[bi].append(table[Int(input.base[bi])]) }
                } else {
                    for bi in 0..<batch {
                        let value = sampleContinuous(logits.base + bi * c.outChannels, temperature: temperature, using: &rngs[bi])
                        input.base[bi] = value
                        audio[bi].append(value)
                    }
                }
                let done = from + i + 1
                if done % 1000 == 0 { progress?(done, samples) }
            }
            from += n
        }
        progress?(samples, samples)
        return audio
    }

    /// Copies utterances [first, first + batch) of `up` [B', C_mel, T] over `steps` into
    /// `rows` laid out [step][B][C_mel] (plain loops: this runs on generation threads).
    private func fillMelRows(_ rows: Storage, from up: Tensor, first: Int, steps: Range<Int>) {
        let cin = config.cinChannels!, total = up.shape[2]
        let src = up.storage.base + up.offset
        for (i, t) in steps.enumerated() {
            for bi in 0..<batch {
                let dst = rows.base + (i * batch + bi) * cin
                let base = src + (first + bi) * cin * total + t
                for ch in 0..<cin { dst[ch] = base[ch * total] }
            }
        }
    }

    /// One draw from a Gaussian or mixture-of-logistics output row [out], without allocating:
    /// the same rules as `GaussianOutput.sample` / `DiscretizedMixtureOfLogistics.sample`
    /// (component by Gumbel-max on logits / T, the draw scaled by T, log-scales clamped, the
    /// sample clamped to [−1, 1]).
    func sampleContinuous(_ row: UnsafePointer<Float>, temperature: Float, using rng: inout RandomGenerator) -> Float {
        let c = config
        let minLogScale = c.logScaleMin
        func uniform() -> Float { 1e-5 + (1 - 2e-5) * rng.nextUniform() }
        var value: Float
        if c.outputDistribution == .gaussian {
            let logStd = Swift.max(row[1], minLogScale)
            value = row[0] + Foundation.exp(logStd) * rng.nextNormalPair().0 * temperature
        } else {
            let k = c.outChannels / 3
            let invT = 1 / Swift.max(temperature, 1e-6)
            var best = 0, bestScore = -Float.infinity
            for j in 0..<k {
                let score = row[j] * invT - Foundation.log(-Foundation.log(uniform()))
                if score > bestScore { bestScore = score; best = j }
            }
            let logScale = Swift.max(row[2 * k + best], minLogScale)
            let v = uniform()
            value = row[k + best] + Foundation.exp(logScale) * (Foundation.log(v) - Foundation.log(1 - v)) * temperature
        }
        return Swift.min(1, Swift.max(-1, value))
    }
}

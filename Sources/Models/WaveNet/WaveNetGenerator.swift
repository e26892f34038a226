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

    // Packed weights, transposed for wk_small_gemm ([K, M] row-major).
    let firstW: Storage, firstB: Storage                // [in, R], [R]
    let convW: [Storage], convB: [Storage]              // [k·R, G], [G]
    let outW: [Storage], outB: [Storage]                // [G/2, R], [R]
    let skipW: [Storage], skipB: [Storage]              // [G/2, S], [S]
    let head1W: Storage, head1B: Storage                // [S, S], [S]
    let head2W: Storage, head2B: Storage                // [S, out], [out]
    let condW: Tensor?                                  // [C_mel, L·G]: every layer's conv1x1c
    let globalW: [Storage]                              // [C_g, G] per layer

    // State: per-layer ring buffers [ring][B][R], and scratch.
    let rings: [Storage]
    let ringLength: [Int]
    let taps: Storage, hidden: Storage, gateOut: Storage, z: Storage, skips: Storage, headIn: Storage, head: Storage
    public let logits: Storage                          // [B, out] after `step`
    var t = 0

    public init(model: WaveNet, batch: Int = 1) {
        self.model = model
        config = model.config
        self.batch = batch
        let c = config
        let (r, g, s, k, h) = (c.residualChannels, c.gateChannels, c.skipOutChannels, c.kernelSize, c.gateChannels / 2)
        func packed(_ w: Tensor) -> Storage {        // [M, K, (taps)] conv weight → Wt [K·taps', M]
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
        firstW = packed(model.firstConv.effectiveWeight); firstB = vector(model.firstConv.bias, r)
        convW = model.convLayers.map { packed($0.conv.effectiveWeight) }
        convB = model.convLayers.map { vector($0.conv.bias, g) }
        outW = model.convLayers.map { packed($0.conv1x1Out.effectiveWeight) }
        outB = model.convLayers.map { vector($0.conv1x1Out.bias, r) }
        skipW = model.convLayers.map { packed($0.conv1x1Skip.effectiveWeight) }
        skipB = model.convLayers.map { vector($0.conv1x1Skip.bias, s) }
        let head1 = model.lastConvLayers[1] as! Conv1d, head2 = model.lastConvLayers[3] as! Conv1d
        head1W = packed(head1.effectiveWeight); head1B = vector(head1.bias, s)
        head2W = packed(head2.effectiveWeight); head2B = vector(head2.bias, c.outChannels)
        if c.cinChannels != nil {
            condW = withoutGradient {
                Tensor.concat(model.convLayers.map { $0.conv1x1c!.effectiveWeight.reshaped([g, -1]) }, axis: 0).transposed().contiguous().detached()
            }
        } else {
            condW = nil
        }
        globalW = c.ginChannels == nil ? [] : model.convLayers.map { packed($0.conv1x1g!.effectiveWeight) }
        ringLength = (0..<c.layers).map { (k - 1) * c.dilation(ofLayer: $0) + 1 }
        rings = ringLength.map { Storage(count: $0 * batch * r, repeating: 0) }
        taps = Storage(count: batch * k * r); hidden = Storage(count: batch * r); gateOut = Storage(count: batch * g)
        z = Storage(count: batch * h); skips = Storage(count: batch * s); headIn = Storage(count: batch * s)
        head = Storage(count: batch * s); logits = Storage(count: batch * c.outChannels)
    }

    /// Clears the history (a new utterance).
    public func reset() {
        for (ring, n) in zip(rings, ringLength) { Kernels.zero(ring.base, count: n * batch * config.residualChannels) }
        t = 0
    }

    /// Advances one step: `input` [B, in] is the previous sample (scalar) or its one-hot;
    /// `cond` points at the precomputed conditioning [B][L·G] of this step (or nil), `global`
    /// at [B][L·G] constants. Leaves the distribution parameters in `logits` [B, out].
    func step(input: UnsafePointer<Float>, inputWidth: Int, cond: UnsafePointer<Float>?, condStride: Int, global: UnsafePointer<Float>?) {
        let c = config
        let (r, g, s, k, h, b) = (c.residualChannels, c.gateChannels, c.skipOutChannels, c.kernelSize, c.gateChannels / 2, batch)
        wk_small_gemm(b, inputWidth, r, input, inputWidth, firstW.base, firstB.base, hidden.base, r, 0)
        Kernels.zero(skips.base, count: b * s)
        for l in 0..<c.layers {
            let ring = rings[l], n = ringLength[l], d = c.dilation(ofLayer: l)
            // Store this layer's input, then gather taps t − (k−1−j)·d, j = 0 … k−1.
            (ring.base + (t % n) * b * r).update(from: hidden.base, count: b * r)
            for j in 0..<k {
                let slot = ((t - (k - 1 - j) * d) % n + n) % n
                let src = ring.base + slot * b * r
                for bi in 0..<b { (taps.base + bi * k * r + j * r).update(from: src + bi * r, count: r) }
            }
            wk_small_gemm(b, k * r, g, taps.base, k * r, convW[l].base, convB[l].base, gateOut.base, g, 0)
            for bi in 0..<b {
                let y = gateOut.base + bi * g
                if let cond { wk_accumulate(g, cond + bi * condStride + l * g, y) }
                if let global { wk_accumulate(g, global + bi * c.layers * g + l * g, y) }
                wk_gated(h, y, y + h, z.base + bi * h)
            }
            // Residual (into `hidden`, scaled by √½) and skip.
            wk_small_gemm(b, h, r, z.base, h, outW[l].base, outB[l].base, hidden.base, r, 1)
            wk_unary(Int32(WK_MUL_SCALAR.rawValue), b * r, hidden.base, hidden.base, Float(0.5).squareRoot())
            wk_small_gemm(b, h, s, z.base, h, skipW[l].base, skipB[l].base, skips.base, s, 1)
        }
        wk_relu_scale(b * s, skips.base, headIn.base, Float(1 / Double(c.layers)).squareRoot())
        wk_small_gemm(b, s, s, headIn.base, s, head1W.base, head1B.base, head.base, s, 0)
        wk_relu_scale(b * s, head.base, head.base, 1)
        wk_small_gemm(b, s, c.outChannels, head.base, s, head2W.base, head2B.base, logits.base, c.outChannels, 0)
        t += 1
    }

    /// Conditioning of all layers for frames-upsampled `c` [B, C_mel, T] over steps
    /// [from, from + count): [B, count, L·G].
    func conditioning(_ c: Tensor?, from: Int, count: Int) -> Tensor? {
        guard let c, let condW else { return nil }
        return withoutGradient {
            c.sliced(axis: 2, start: from, end: from + count).permuted([0, 2, 1]).matmul(condW).contiguous()
        }
    }

    func globalConditioning(_ speakers: [Int]?) -> Storage? {
        guard let speakers, let gc = model.speakerConditioning(speakers) else { return nil }
        let c = config, g = c.gateChannels
        let out = Storage(count: batch * c.layers * g)
        let gv = gc.reshaped([batch, -1]).contiguous()
        gv.withUnsafeBufferPointer { src in
            for l in 0..<c.layers {
                wk_small_gemm(batch, c.ginChannels!, g, src.baseAddress!, c.ginChannels!, globalW[l].base, nil, out.base + l * g, c.layers * g, 0)
            }
        }
        return out
    }

    /// Distribution parameters [B, out, T] when each step is fed the given previous samples
    /// (teacher forcing): `audio` [B, T] in [-1, 1] or classes. Equals `model(x)` step by step.
    public func forced(audio: Tensor, mel: Tensor?, speakers: [Int]?) -> Tensor {
        reset()
        let c = config, steps = audio.shape[1]
        let up = mel.map { m in withoutGradient { model.upsampledConditioning(m) } }
        precondition(up.map { $0.shape[2] >= steps } ?? true, "WaveNetGenerator.forced: the mel covers fewer than \(steps) samples")
        let global = globalConditioning(speakers)
        let width = c.scalarInput ? 1 : c.outChannels
        let input = Storage(count: batch * width, repeating: 0)
        let a = audio.contiguous().scalars
        var out = [Float](repeating: 0, count: batch * c.outChannels * steps)
        let chunk = 1024
        var from = 0
        while from < steps {
            let n = Swift.min(chunk, steps - from)
            let cond = conditioning(up, from: from, count: n)
            let condBase = cond.map { $0.storage.base + $0.offset }
            for i in 0..<n {
                let step = from + i
                for bi in 0..<batch {
                    let prev: Float = step == 0 ? (c.scalarInput ? 0 : Float(c.outChannels / 2)) : a[bi * steps + step - 1]
                    setInput(input.base + bi * width, prev)
                }
                self.step(input: input.base, inputWidth: width, cond: condBase.map { UnsafePointer($0 + i * c.layers * c.gateChannels) },
                          condStride: n * c.layers * c.gateChannels, global: global.map { UnsafePointer($0.base) })
                for bi in 0..<batch {
                    for o in 0..<c.outChannels { out[(bi * c.outChannels + o) * steps + step] = logits.base[bi * c.outChannels + o] }
                }
            }
            from += n
        }
        return Tensor(shape: [batch, c.outChannels, steps], scalars: out)
    }

    private func setInput(_ p: UnsafeMutablePointer<Float>, _ value: Float) {
        if config.scalarInput { p[0] = value; return }
        Kernels.zero(p, count: config.outChannels)
        p[Int(value)] = 1
    }

    /// Generates up to `samples` samples for each of the batch's utterances, conditioned on
    /// `mel` [B, C_mel, F] (at most F · hop samples: a mel covers no more) and speakers;
    /// returns audio in [-1, 1] per utterance. `progress(done, total)` is called every 1 000 samples.
    public func generate(samples requested: Int, mel: Tensor?, speakers: [Int]?, temperature: Float = 1, seed: UInt64 = 0,
                         progress: ((Int, Int) -> Void)? = nil) -> [[Float]] {
        reset()
        let c = config
        var rng = RandomGenerator(seed: seed)
        let up = mel.map { m in withoutGradient { model.upsampledConditioning(m) } }
        let samples = Swift.min(requested, up?.shape[2] ?? requested)
        let global = globalConditioning(speakers)
        let width = c.scalarInput ? 1 : c.outChannels
        let input = Storage(count: batch * width, repeating: 0)
        for bi in 0..<batch { setInput(input.base + bi * width, c.scalarInput ? 0 : Float(c.outChannels / 2)) }
        var audio = [[Float]](repeating: [], count: batch)
        for bi in 0..<batch { audio[bi].reserveCapacity(samples) }
        let distribution = c.distribution
        let chunk = 1024
        var from = 0
        var probabilities = [Double](repeating: 0, count: c.outChannels)
        while from < samples {
            let n = Swift.min(chunk, samples - from)
            let cond = conditioning(up, from: from, count: n)
            let condBase = cond.map { $0.storage.base + $0.offset }
            for i in 0..<n {
                step(input: input.base, inputWidth: width, cond: condBase.map { UnsafePointer($0 + i * c.layers * c.gateChannels) },
                     condStride: n * c.layers * c.gateChannels, global: global.map { UnsafePointer($0.base) })
                for bi in 0..<batch {
                    let row = logits.base + bi * c.outChannels
                    let value: Float
                    if c.outputDistribution == .mulaw {
                        // Softmax with temperature and inverse-CDF sampling, in place, no allocation.
                        var m = -Float.infinity
                        for o in 0..<c.outChannels { m = Swift.max(m, row[o]) }
                        var total = 0.0
                        let invT = 1 / Double(Swift.max(temperature, 1e-6))
                        for o in 0..<c.outChannels { let p = Foundation.exp(Double(row[o] - m) * invT); probabilities[o] = p; total += p }
                        let u = Double(rng.nextUniform()) * total
                        var acc = 0.0, k = c.outChannels - 1
                        for o in 0..<c.outChannels { acc += probabilities[o]; if u < acc { k = o; break } }
                        setInput(input.base + bi * width, Float(k))
                        value = MuLawClasses.decode(k, classes: c.outChannels)
                    } else {
                        let params = Tensor(shape: [1, c.outChannels, 1], scalars: Array(UnsafeBufferPointer(start: row, count: c.outChannels)))
                        value = distribution.sample(params, temperature: temperature, using: &rng).item
                        input.base[bi] = value
                    }
                    audio[bi].append(value)
                }
                let done = from + i + 1
                if done % 1000 == 0 { progress?(done, samples) }
            }
            from += n
        }
        progress?(samples, samples)
        return audio
    }
}

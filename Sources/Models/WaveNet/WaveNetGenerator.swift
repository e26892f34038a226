import CKernels
import Foundation
import NN
import TensorCore

/// Fast sample-by-sample WaveNet generation (Paine et al. 2016, "Fast Wavenet Generation
/// Algorithm"): every layer keeps a ring buffer of its past inputs at its dilation, so one time
/// step is a few small matrix–vector products per layer into preallocated buffers, with the
/// gate fused and the mel conditioning of all layers projected once at frame rate (each sample
/// then mixes a few projected frames; see `UpsampleTaps`). Weight norm is folded in once.
/// Several utterances at once turn the products into small matrix products that reuse each
/// weight row from cache. The taps of the past, x[t − j·d] for j ≥ 1, are known d steps ahead:
/// every c = gcd(d, 16) steps one matrix product computes them for the next c steps, so a step
/// reads only the current tap's weights (a third of the dilated convolution's) and the past
/// taps' weights once per c steps. Nothing is allocated per sample.
public final class WaveNetGenerator {
    public let config: WaveNetConfig
    public let batch: Int
    let model: WaveNet

    // Weights in wk_panel_gemm's 32-column panels (from [K, M], the weight transposed),
    // except firstW, kept as [in, R] rows: its input is one sample or one class.
    let firstW: Storage, firstB: Storage                // [in, R], [R]
    // Per layer: the dilated convolution's current tap [R, G] and its bias [G], the residual
    // [G/2, R] and [R], the skip [G/2, S] and [S]; then the head, [S, S] and [S], [S, out] and
    // [out]. All in one arena in the order a step reads them, so the hardware prefetcher sees
    // one stream (1.3 MB for `small`) instead of 80 short ones that each start with an L3 miss.
    // The convolution's past taps [(k−1)·R, G] (tap-major), read once per c steps, in another.
    let arena: Storage, pastArena: Storage
    let head1W: UnsafePointer<Float>, head1B: UnsafePointer<Float>
    let head2W: UnsafePointer<Float>, head2B: UnsafePointer<Float>
    /// Every layer's conv1x1c as [C_mel, L·G] in panels, for the projection at frame rate (r9y9's current
    /// upsampler, which is linear); nil otherwise.
    let condPanel: Storage?
    /// [C_mel, G] per layer, multiplied by the upsampled mel at every step: the 2018 layout,
    /// whose upsampler has ReLUs, and mels given at the sample rate.
    let condPanels: [Storage]
    let globalW: [Storage]                              // [C_g, G] per layer

    // State: per-layer ring buffers [k·d][B][R] (a whole number of c-blocks, so the c inputs of
    // one past tap are contiguous), the past taps' products [c][B][G] for the current c-block,
    // and scratch. c stays small so that those products are still in cache when a step reads
    // them (for d = 512, the whole d-block's products for 8 utterances would be 2 MB).
    static let pastBlock = 16
    let rings: [Storage], pastProducts: [Storage]
    let ringLength: [Int]
    let hidden: Storage, gateOut: Storage, z: Storage, skips: Storage, headIn: Storage, head: Storage
    let tapPointers: UnsafeMutablePointer<UnsafePointer<Float>?>
    let sourcePointer: UnsafeMutablePointer<UnsafePointer<Float>?>
    let framePointers: UnsafeMutablePointer<UnsafePointer<Float>?>
    let framePointerCapacity: Int
    /// The previous sample (or class) of each utterance, fed before each step.
    let previous: Storage
    let sampleScratch: Storage, uniforms: Storage
    package let logits: Storage                         // [B, out] after `step`
    var t = 0
    /// Generators for the groups of a threaded `generate`, kept for the next call.
    private var groupGenerators: [WaveNetGenerator] = []

    /// One layer's weights and ring as raw pointers (into the storages above, which keep them
    /// alive), so a step touches no reference counts.
    struct LayerPointers {
        let ring: UnsafeMutablePointer<Float>, ringLength: Int, dilation: Int
        let currentW: UnsafePointer<Float>, convB: UnsafePointer<Float>, outW: UnsafePointer<Float>, outB: UnsafePointer<Float>
        let skipW: UnsafePointer<Float>, skipB: UnsafePointer<Float>, cond: UnsafePointer<Float>?
        /// The past taps' weights, their products for the current block of `block` steps.
        let pastW: UnsafePointer<Float>, past: UnsafeMutablePointer<Float>, block: Int
    }
    let layerPointers: [LayerPointers]
    /// Config values the step reads: R, G, S, kernel size, G/2, C_mel, out channels.
    let (r, g, s, k, h, cin, out): (Int, Int, Int, Int, Int, Int, Int)

    /// Packs `model`'s layer weights for `batch` utterances. The packed weights are a snapshot
    /// (the upsampler and embeddings are read at each `generate`): after the model's weights
    /// change (a training step, a load), make a new generator.
    public init(model: WaveNet, batch: Int = 1) {
        self.model = model
        config = model.config
        self.batch = batch
        let c = config
        let (r, g, s, k, h) = (c.residualChannels, c.gateChannels, c.skipOutChannels, c.kernelSize, c.gateChannels / 2)
        func packed(_ w: Tensor) -> Storage { panels(transposed(w), m: w.shape[0]) }   // [M, K, (taps)] → panels of Wt [K·taps', M]
        func panels(_ rows: Storage, m: Int, from: Int = 0, count: Int? = nil) -> Storage {   // rows [from, from + count) of Wt [K, M]
            let n = count ?? rows.count / m - from
            let out = Storage(count: (m + 31) / 32 * 32 * Swift.max(n, 1), repeating: 0)
            wk_panel_pack(n, m, rows.base + from * m, out.base)
            return out
        }
        /// One allocation holding `pieces` back to back, each 64-byte aligned; and where each starts.
        func packedTogether(_ pieces: [Storage]) -> (Storage, [UnsafePointer<Float>]) {
            let offsets = pieces.reduce(into: [0]) { $0.append($0.last! + ($1.count + 15) / 16 * 16) }
            let all = Storage(count: offsets.last!, repeating: 0)
            for (piece, offset) in zip(pieces, offsets) { (all.base + offset).update(from: piece.base, count: piece.count) }
            return (all, offsets.dropLast().map { UnsafePointer(all.base + $0) })
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
        let head1 = model.lastConvLayers[1] as! Conv1d, head2 = model.lastConvLayers[3] as! Conv1d
        let convRows = model.convLayers.map { transposed($0.conv.effectiveWeight) }      // [k·R, G] each, tap-major
        let pieces = zip(model.convLayers, convRows).flatMap { layer, rows in
            [panels(rows, m: g, from: (k - 1) * r), vector(layer.conv.bias, g), packed(layer.conv1x1Out.effectiveWeight),
             vector(layer.conv1x1Out.bias, r), packed(layer.conv1x1Skip.effectiveWeight), vector(layer.conv1x1Skip.bias, s)]
        } + [packed(head1.effectiveWeight), vector(head1.bias, s), packed(head2.effectiveWeight), vector(head2.bias, c.outChannels)]
        let (stepArena, at) = packedTogether(pieces)
        let (past, pastAt) = packedTogether(convRows.map { panels($0, m: g, count: (k - 1) * r) })
        (self.arena, pastArena) = (stepArena, past)
        let first = 6 * c.layers
        (head1W, head1B, head2W, head2B) = (at[first], at[first + 1], at[first + 2], at[first + 3])
        let atFrameRate = c.cinChannels != nil && model.upsampleNet != nil && c.upsampleScales != nil
        condPanels = c.cinChannels != nil && !atFrameRate ? model.convLayers.map { packed($0.conv1x1c!.effectiveWeight) } : []
        condPanel = atFrameRate ? withoutGradient {
            packed(Tensor.concat(model.convLayers.map { $0.conv1x1c!.effectiveWeight.reshaped([g, -1]) }, axis: 0))
        } : nil
        framePointerCapacity = atFrameRate ? 2 * UpsampleTaps.edgeFrames(scales: c.upsampleScales!) + 1 : 0
        framePointers = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: Swift.max(framePointerCapacity, 1))
        previous = Storage(count: batch, repeating: 0)
        globalW = c.ginChannels == nil ? [] : model.convLayers.map { packed($0.conv1x1g!.effectiveWeight) }
        ringLength = (0..<c.layers).map { k * c.dilation(ofLayer: $0) }
        rings = ringLength.map { Storage(count: $0 * batch * r, repeating: 0) }
        let blocks = (0..<c.layers).map { Self.gcd(c.dilation(ofLayer: $0), Self.pastBlock) }
        pastProducts = blocks.map { Storage(count: k > 1 ? $0 * batch * g : 1) }
        hidden = Storage(count: batch * r); gateOut = Storage(count: batch * g)
        tapPointers = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: k)
        sourcePointer = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: 1)
        sampleScratch = Storage(count: c.outChannels); uniforms = Storage(count: batch)
        z = Storage(count: batch * h); skips = Storage(count: batch * s); headIn = Storage(count: batch * s)
        head = Storage(count: batch * s); logits = Storage(count: batch * c.outChannels)
        layerPointers = (0..<c.layers).map { [rings, ringLength, condPanels, pastProducts] l in
            LayerPointers(ring: rings[l].base, ringLength: ringLength[l], dilation: c.dilation(ofLayer: l),
                          currentW: at[6 * l], convB: at[6 * l + 1], outW: at[6 * l + 2], outB: at[6 * l + 3],
                          skipW: at[6 * l + 4], skipB: at[6 * l + 5], cond: condPanels.isEmpty ? nil : UnsafePointer(condPanels[l].base),
                          pastW: pastAt[l], past: pastProducts[l].base, block: blocks[l])
        }
        (self.r, self.g, self.s, self.k, self.h, cin, out) = (r, g, s, k, h, c.cinChannels ?? 0, c.outChannels)
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// Clears the history (a new utterance).
    public func reset() {
        for (ring, n) in zip(rings, ringLength) { Kernels.zero(ring.base, count: n * batch * config.residualChannels) }
        t = 0
    }


    deinit { tapPointers.deallocate(); sourcePointer.deallocate(); framePointers.deallocate() }

    /// y[B, M] (+)= bias + x[B, K] · W for panel-packed W (one source).
    private func gemm(_ b: Int, _ k: Int, _ m: Int, _ x: UnsafePointer<Float>, _ ldx: Int, _ w: UnsafePointer<Float>,
                      _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ ldy: Int, accumulate: Bool) {
        sourcePointer[0] = x
        wk_panel_gemm(b, 1, k, m, sourcePointer, ldx, w, bias, y, ldy, accumulate ? 1 : 0)
    }

    /// The mel's part of one step.
    enum StepMel {
        case none
        /// The upsampled mel of this sample, [B][C_mel], times each layer's conv1x1c.
        case row(UnsafePointer<Float>)
        /// `count` projected frames in `framePointers`, each [L][B][G] with layers
        /// `layerStride` floats apart, mixed with `weights`.
        case frames(count: Int, weights: UnsafePointer<Float>, layerStride: Int)
    }

    /// Advances one step. `hidden` [B, R] must hold the first convolution's output for the
    /// previous sample; `global` points at the speaker term laid out [L][B][G]. Leaves the
    /// distribution parameters in `logits` [B, out].
    func step(mel: StepMel, global: UnsafePointer<Float>?) {
        let (r, g, s, k, h, b) = (r, g, s, k, h, batch)
        let legacy = config.legacy == true, halfRoot = Float(0.5).squareRoot()
        Kernels.zero(skips.base, count: b * s)
        for (l, layer) in layerPointers.enumerated() {
            let n = layer.ringLength, d = layer.dilation, c = layer.block, slot = t % n
            (layer.ring + slot * b * r).update(from: hidden.base, count: b * r)
            // The dilated convolution over taps x[t − (k−1−j)·d]. At the start of each c-block,
            // the past taps (j < k−1) of all its c steps in one product, plus the bias: their
            // inputs are c consecutive ring slots, all before t (c ≤ d).
            var start = UnsafePointer(layer.convB), startStride = 0
            if k > 1 {
                if t % c == 0 {
                    for j in 0..<(k - 1) { tapPointers[j] = UnsafePointer(layer.ring + ((t - (k - 1 - j) * d) % n + n) % n * b * r) }
                    wk_panel_gemm(c * b, k - 1, r, g, tapPointers, r, layer.pastW, layer.convB, layer.past, g, 0)
                }
                (start, startStride) = (UnsafePointer(layer.past + t % c * b * g), g)
            }
            // The gate's accumulators start from those (and the mixed conditioning frames, if
            // any); the current tap and a per-step conditioning product add to them.
            var (frames, weights, offset): (Int, UnsafePointer<Float>?, Int) = (0, nil, 0)
            if case let .frames(count, w, layerStride) = mel { (frames, weights, offset) = (count, w, l * layerStride) }
            wk_taps_mix(b, g, frames, framePointers, g, offset, weights, start, startStride, gateOut.base, g)
            gemm(b, r, g, layer.ring + slot * b * r, r, layer.currentW, nil, gateOut.base, g, accumulate: true)
            if case .row(let row) = mel { gemm(b, cin, g, row, cin, layer.cond!, nil, gateOut.base, g, accumulate: true) }
            if let global { wk_accumulate(b * g, global + l * b * g, gateOut.base) }
            wk_gated_rows(b, h, gateOut.base, g, z.base)
            // Residual (into `hidden`, scaled by √½) and skip.
            gemm(b, h, r, z.base, h, layer.outW, layer.outB, hidden.base, r, accumulate: true)
            wk_unary(Int32(WK_MUL_SCALAR.rawValue), b * r, hidden.base, hidden.base, halfRoot)
            gemm(b, h, s, z.base, h, layer.skipW, layer.skipB, skips.base, s, accumulate: true)
            if legacy && l > 0 { wk_unary(Int32(WK_MUL_SCALAR.rawValue), b * s, skips.base, skips.base, halfRoot) }
        }
        wk_relu_scale(b * s, skips.base, headIn.base, legacy ? 1 : Float(1 / Double(layerPointers.count)).squareRoot())
        gemm(b, s, s, headIn.base, s, head1W, head1B, head.base, s, accumulate: false)
        wk_relu_scale(b * s, head.base, head.base, 1)
        gemm(b, s, out, head.base, s, head2W, head2B, logits.base, out, accumulate: false)
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

    /// The mel as the step loop reads it, for a whole batch of B' utterances.
    enum PreparedMel {
        /// Every layer's conditioning at frame rate, [F][L][B'][G] (a layer's rows for all
        /// utterances contiguous), and the upsampler's weights.
        case frames(Tensor, UpsampleTaps)
        /// The upsampled mel [B', C_mel, T].
        case samples(Tensor)

        /// Samples the mel covers.
        var samples: Int {
            switch self {
            case let .frames(_, taps): taps.frames * taps.hop
            case let .samples(up): up.shape[2]
            }
        }
    }

    /// Mel frames [B', C_mel, F] → what the step loop reads (tensor work: call it from the
    /// thread that owns OpenBLAS).
    func prepare(_ mel: Tensor?) -> PreparedMel? {
        guard let mel, config.cinChannels != nil else { return nil }
        // One thread (for the 2018 layout's sample-rate upsampling too, which costs it the
        // second core), and the projection in the panel kernel (whose every row is the same sums
        // whatever the number of rows): an utterance's conditioning, and so its audio, does not
        // depend on --threads or on the other utterances of its batch. OpenBLAS's sgemm picks
        // its kernels by matrix size and splits by thread count, which changed the low bits.
        return Threading.withThreads(1) {
            withoutGradient {
                if let condPanel, let (h, taps) = model.frameConditioning(mel) {
                    let (b, cp, f, m) = (h.shape[0], h.shape[1], h.shape[2], config.layers * g)
                    let rows = h.permuted([2, 0, 1]).contiguous()                            // [F, B', C']
                    let projected = Storage(count: f * b * m)                                // [F, B', L·G]
                    rows.withUnsafeBufferPointer { x in
                        let source: [UnsafePointer<Float>?] = [x.baseAddress!]
                        wk_panel_gemm(f * b, 1, cp, m, source, cp, condPanel.base, nil, projected.base, m, 0)
                    }
                    return .frames(Tensor(shape: [f, b, config.layers, g], storage: projected)
                                    .permuted([0, 2, 1, 3]).contiguous(), taps)             // [F, L, B', G]
                }
                return .samples(model.upsampledConditioning(mel).contiguous())
            }
        }
    }

    /// The speaker term of every layer, laid out [L][B][G].
    func globalConditioning(_ speakers: [Int]?) -> Storage? {
        precondition(config.nSpeakers == nil || speakers?.count == batch,
                     "WaveNetGenerator: a speaker-conditioned model needs one speaker per utterance (\(batch)), got \(speakers?.count ?? 0)")
        guard let speakers, let gc = model.speakerConditioning(speakers) else { return nil }
        let c = config, g = c.gateChannels
        let perLayer = Storage(count: c.layers * batch * g)                    // [L][B][G]
        let gv = gc.reshaped([batch, -1]).contiguous()
        gv.withUnsafeBufferPointer { src in
            for l in 0..<c.layers {
                gemm(batch, c.ginChannels!, g, src.baseAddress!, c.ginChannels!, globalW[l].base, nil, perLayer.base + l * batch * g, g, accumulate: false)
            }
        }
        return perLayer
    }


    /// Runs `steps` steps for utterances [first, first + batch) of `mel`: each feeds
    /// `previous`, steps, then calls `after(t)`, which reads `logits` and sets `previous`.
    private func drive(steps: Int, mel: PreparedMel?, first: Int, global: Storage?, after: (Int) -> Void) {
        reset()
        let chunk = 1024
        // What the loop reads, unpacked once: the projected frames' base and strides (one
        // frame [L][B'][G]), or a [chunk][B][C_mel] buffer for the sample-rate path.
        var frames: (base: UnsafeMutablePointer<Float>, frameStride: Int, layerStride: Int, g: Int, taps: UpsampleTaps)?
        var upsampled: (up: Tensor, rows: Storage)?
        switch mel {
        case nil: break
        case let .frames(projected, taps)?:
            let (layers, total, g) = (projected.shape[1], projected.shape[2], projected.shape[3])
            frames = (projected.storage.base + projected.offset, layers * total * g, total * g, g, taps)
        case let .samples(up)?:
            upsampled = (up, Storage(count: chunk * batch * cin))
        }
        let globalBase = global.map { UnsafePointer($0.base) }
        for t in 0..<steps {
            feed(previous.base)
            let stepMel: StepMel
            if let frames {
                let (frame, count, weights) = frames.taps.taps(at: t)
                assert(count <= framePointerCapacity, "UpsampleTaps: \(count) taps, room for \(framePointerCapacity)")
                for j in 0..<count { framePointers[j] = UnsafePointer(frames.base + (frame + j) * frames.frameStride + first * frames.g) }
                stepMel = .frames(count: count, weights: weights, layerStride: frames.layerStride)
            } else if let (up, rows) = upsampled {
                if t % chunk == 0 { fillMelRows(rows, from: up, first: first, steps: t..<Swift.min(t + chunk, steps)) }
                stepMel = .row(UnsafePointer(rows.base + (t % chunk) * batch * cin))
            } else {
                stepMel = .none
            }
            step(mel: stepMel, global: globalBase)
            after(t)
        }
        withExtendedLifetime(mel) {}
        withExtendedLifetime(global) {}
    }

    /// The input that starts every utterance: silence, or μ-law's middle class.
    private var startInput: Float { config.scalarInput ? 0 : Float(config.outChannels / 2) }

    /// Distribution parameters [B, out, T] when each step is fed the given previous samples
    /// (teacher forcing): `audio` [B, T] in [-1, 1] or classes. Equals `model(x)` step by step.
    public func forced(audio: Tensor, mel: Tensor?, speakers: [Int]?) -> Tensor {
        let c = config, steps = audio.shape[1]
        let prepared = prepare(mel)
        precondition(prepared.map { $0.samples >= steps } ?? true, "WaveNetGenerator.forced: the mel covers fewer than \(steps) samples")
        let a = audio.contiguous().scalars
        var out = [Float](repeating: 0, count: batch * c.outChannels * steps)
        previous.base.update(repeating: startInput, count: batch)
        drive(steps: steps, mel: prepared, first: 0, global: globalConditioning(speakers)) { t in
            for bi in 0..<batch {
                for o in 0..<c.outChannels { out[(bi * c.outChannels + o) * steps + t] = logits.base[bi * c.outChannels + o] }
                if t + 1 < steps { previous.base[bi] = a[bi * steps + t] }
            }
        }
        return Tensor(shape: [batch, c.outChannels, steps], scalars: out)
    }

    /// Generates up to `samples` samples for each of the batch's utterances, conditioned on
    /// `mel` [B, C_mel, F] (at most F · hop samples: a mel covers no more) and speakers;
    /// returns audio in [-1, 1] per utterance. Utterance i draws from its own random stream
    /// (seed, seed + 1, …). With threads > 1 the batch is split into that many groups
    /// generated concurrently, one core each; the audio is the same bit for bit on any number
    /// of threads (each utterance's arithmetic does not depend on its neighbours).
    /// `progress(done, total)` is called every 1 000 samples.
    public func generate(samples requested: Int, mel: Tensor?, speakers: [Int]?, temperature: Float = 1, seed: UInt64 = 0,
                         threads: Int = 1, progress: ((Int, Int) -> Void)? = nil) -> [[Float]] {
        // (Frames are not checked against `requested`: generation stops where the mel ends.)
        do { try model.checkInputs(mel: mel, speakers: speakers, batch: batch) } catch { preconditionFailure("WaveNetGenerator.generate: \(error)") }
        let prepared = prepare(mel)
        let samples = Swift.max(0, Swift.min(requested, prepared?.samples ?? requested))
        let seeds = (0..<batch).map { seed &+ UInt64($0) }
        let groups = Swift.min(Swift.max(threads, 1), batch)
        if groups == 1 {
            return run(samples: samples, mel: prepared, first: 0, global: globalConditioning(speakers), temperature: temperature,
                       seeds: seeds, progress: progress)
        }
        // Groups of near-equal size, each with its own generator (state and scratch); tensor
        // work (projection, speaker terms) happens here, the threads run only C kernels.
        let bounds = (0...groups).map { $0 * batch / groups }
        if groupGenerators.count != groups {          // made once per group count: packing weights costs milliseconds
            groupGenerators = (0..<groups).map { WaveNetGenerator(model: model, batch: bounds[$0 + 1] - bounds[$0]) }
        }
        let parts = (0..<groups).map { k -> (WaveNetGenerator, Storage?) in
            let gen = groupGenerators[k]
            return (gen, gen.globalConditioning(speakers.map { Array($0[bounds[k]..<bounds[k + 1]]) }))
        }
        var results = [[[Float]]](repeating: [], count: groups)
        results.withUnsafeMutableBufferPointer { out in
            Parallel.perform(groups) { k in
                out[k] = parts[k].0.run(samples: samples, mel: prepared, first: bounds[k], global: parts[k].1, temperature: temperature,
                                        seeds: Array(seeds[bounds[k]..<bounds[k + 1]]), progress: k == 0 ? progress : nil)
            }
        }
        return results.flatMap { $0 }
    }

    /// The sampling loop for utterances [first, first + batch) of `mel`.
    private func run(samples: Int, mel: PreparedMel?, first: Int, global: Storage?, temperature: Float, seeds: [UInt64],
                     progress: ((Int, Int) -> Void)?) -> [[Float]] {
        let c = config
        var rngs = seeds.map { RandomGenerator(seed: $0) }
        var audio = [[Float]](repeating: [], count: batch)
        for bi in 0..<batch { audio[bi].reserveCapacity(samples) }
        let invT = 1 / Swift.max(temperature, 1e-6)
        let table = (0..<c.outChannels).map { MuLawClasses.decode($0, classes: c.outChannels) }
        previous.base.update(repeating: startInput, count: batch)
        drive(steps: samples, mel: mel, first: first, global: global) { t in
            if c.outputDistribution == .mulaw {
                for bi in 0..<batch { uniforms.base[bi] = rngs[bi].nextUniform() }
                wk_sample_categorical(batch, c.outChannels, logits.base, invT, uniforms.base, previous.base, sampleScratch.base)
                for bi in 0..<batch { audio[bi].append(table[Int(previous.base[bi])]) }
            } else {
                for bi in 0..<batch {
                    let value = sampleContinuous(logits.base + bi * c.outChannels, temperature: temperature, using: &rngs[bi])
                    previous.base[bi] = value
                    audio[bi].append(value)
                }
            }
            if (t + 1) % 1000 == 0 { progress?(t + 1, samples) }
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

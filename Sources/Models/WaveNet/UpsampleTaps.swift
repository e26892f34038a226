import NN
import TensorCore

/// r9y9's upsampling stack as per-sample weights over mel frames, for generation at frame rate.
///
/// The stack (nearest stretch, then one smoothing kernel shared by every band) is linear and
/// acts on each band alike, so sample t of the upsampled mel is Σ_f A(t, f) · h_f over a few
/// frames f near t / hop. Each layer's 1×1 conditioning commutes with it: W · (Σ_f A h_f) =
/// Σ_f A (W h_f). The generator therefore projects the mel frames once (a GEMM at frame rate,
/// 1/hop of the work) and per sample only mixes 2–5 projected frames, where the sample-rate path
/// multiplied the C_mel-band upsampled mel by every layer's weights: 80 · 128 multiply-adds per
/// layer and sample for `small`, now about 3 · 128.
///
/// A is periodic in t with period hop except within the stack's reach of either end, where
/// each smoothing stage's zero padding shows. The weights come from running the stack itself on
/// impulses over a window of 2E + 1 frames: its first E frames give the start of an utterance,
/// its last E the end, its middle frame the periodic interior. E exceeds the stack's reach, so
/// every weight equals the full stack's (up to float rounding).
struct UpsampleTaps {
    let hop: Int
    let frames: Int
    /// Samples at each end with weights of their own (all of them when the mel is short).
    let edgeSamples: Int
    let maxTaps: Int
    /// Per entry: first frame (absolute, or relative to t / hop for the interior entries) and count.
    private let first: [Int]
    private let counts: [Int]
    /// [entries, maxTaps], zero-padded.
    let weights: Storage
    private let window: Int
    private let short: Bool

    init(stack: UpsampleStack, scales: [Int], frames: Int) {
        precondition(frames > 0, "UpsampleTaps: no frames")
        let hop = scales.reduce(1, *), e = Self.edgeFrames(scales: scales)
        let short = frames <= 2 * e + 1
        let window = short ? frames : 2 * e + 1, span = window * hop
        let impulses = withoutGradient { stack(Tensor.eye(window)) }.contiguous().scalars    // [window, window · hop]
        func column(_ t: Int) -> (first: Int, weights: [Float]) {
            let nonzero = (0..<window).filter { impulses[$0 * span + t] != 0 }
            guard let lo = nonzero.first, let hi = nonzero.last else { return (0, []) }
            return (lo, (lo...hi).map { impulses[$0 * span + t] })
        }
        let edge = short ? span : e * hop
        var entries = (0..<edge).map(column)                                                  // start: absolute frames
        if !short {
            entries += (0..<hop).map { p in let c = column(e * hop + p); return (c.first - e, c.weights) }  // interior: relative
            entries += ((span - edge)..<span).map(column)                                     // end: window frames
        }
        let taps = Swift.max(1, entries.map { $0.weights.count }.max() ?? 1)
        let table = Storage(count: entries.count * taps, repeating: 0)
        for (i, entry) in entries.enumerated() {
            for (j, w) in entry.weights.enumerated() { table.base[i * taps + j] = w }
        }
        (self.hop, self.frames, self.short, self.window, edgeSamples, maxTaps) = (hop, frames, short, window, edge, taps)
        first = entries.map { $0.first }
        counts = entries.map { $0.weights.count }
        weights = table
    }

    /// E: one frame more than the stack's reach, in frames (each smoothing spans its scale at
    /// its own rate). No sample mixes more than 2E + 1 frames.
    static func edgeFrames(scales: [Int]) -> Int {
        let hop = scales.reduce(1, *)
        var reach = 0, later = hop
        for s in scales { later /= s; reach += s * later }
        return (reach + hop - 1) / hop + 1
    }

    /// The frames sample t mixes: the first one, how many, and their weights.
    func taps(at t: Int) -> (frame: Int, count: Int, weights: UnsafePointer<Float>) {
        let entry: Int, frame: Int
        if short {
            (entry, frame) = (t, first[t])
        } else if t < edgeSamples {
            (entry, frame) = (t, first[t])
        } else if t >= frames * hop - edgeSamples {
            entry = edgeSamples + hop + t - (frames * hop - edgeSamples)
            frame = first[entry] + frames - window
        } else {
            entry = edgeSamples + t % hop
            frame = t / hop + first[entry]
        }
        return (frame, counts[entry], UnsafePointer(weights.base + entry * maxTaps))
    }
}

import TensorCore

/// Audio samples at a sample rate: `samples` is [channels, frames], floats in [-1, 1].
public struct Audio {
    /// [channels, frames].
    public var samples: Tensor
    /// Samples per second (Hz).
    public var sampleRate: Int

    /// Audio from a [channels, frames] tensor.
    public init(samples: Tensor, sampleRate: Int) {
        precondition(samples.rank == 2, "Audio: samples must be [channels, frames], got \(samples.shape)")
        self.samples = samples
        self.sampleRate = sampleRate
    }

    /// Mono audio from an array of samples.
    public init(mono: [Float], sampleRate: Int) {
        self.init(samples: Tensor(shape: [1, mono.count], scalars: mono), sampleRate: sampleRate)
    }

    /// Number of channels.
    public var channels: Int { samples.shape[0] }
    /// Samples per channel.
    public var frames: Int { samples.shape[1] }
    /// Length in seconds.
    public var duration: Double { Double(frames) / Double(sampleRate) }

    /// The channels averaged into one (the mono mix-down of librosa's `to_mono`).
    public func mixedDown() -> Audio {
        channels == 1 ? self : Audio(samples: withoutGradient { samples.mean(axis: 0, keepDims: true) }, sampleRate: sampleRate)
    }

    /// The mix-down of all channels (the mean; the only channel of mono audio) as an array.
    public var monoSamples: [Float] { mixedDown().samples.scalars }

    /// Peak absolute sample value.
    public var peak: Float { samples.scalars.reduce(0) { Swift.max($0, Swift.abs($1)) } }

    /// Root-mean-square level over all channels.
    public var rms: Float {
        let v = samples.scalars
        guard !v.isEmpty else { return 0 }
        let s = v.reduce(0.0) { $0 + Double($1) * Double($1) }
        return Float((s / Double(v.count)).squareRoot())
    }
}

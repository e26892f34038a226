import Foundation

/// μ-law companding (ITU-T G.711 curve with μ = 255) and 8-bit quantisation into 256 classes,
/// as WaveNet's categorical output uses (van den Oord et al. 2016, §2.2). Matches librosa's
/// `mu_compress`/`mu_expand` with `quantize=True`, with classes shifted to 0…255.
public enum MuLaw {
    /// sign(x) · ln(1 + μ|x|) / ln(1 + μ), for x in [-1, 1] (values outside are clipped).
    public static func compress(_ x: Float, mu: Float = 255) -> Float {
        let c = Swift.min(Swift.max(x, -1), 1)
        return (c < 0 ? -1 : 1) * Foundation.log1p(mu * Swift.abs(c)) / Foundation.log1p(mu)
    }

    /// The inverse of `compress`.
    public static func expand(_ y: Float, mu: Float = 255) -> Float {
        (y < 0 ? -1 : 1) * (Foundation.pow(1 + mu, Swift.abs(y)) - 1) / mu
    }

    /// The class (0…μ) of sample x: the compressed value binned into μ + 1 equal bins over
    /// [-1, 1] (librosa's `np.digitize(..., right=True)` convention).
    public static func encode(_ x: Float, mu: Int = 255) -> Int {
        // In double precision, as librosa computes it (tools/golden feeds it float64 input).
        let c = Double(Swift.min(Swift.max(x, -1), 1))
        let l = Foundation.log1p(Double(mu) * Swift.abs(c)) / Foundation.log1p(Double(mu))
        let y = c < 0 ? -l : l
        // np.digitize(y, linspace(-1, 1, mu + 1), right=True) counts the edges strictly below y.
        let step = 2.0 / Double(mu)
        var k = Swift.max(0, Swift.min(mu + 1, Int(((y + 1) / step).rounded(.down))))
        while k <= mu && -1 + Double(k) * step < y { k += 1 }
        while k > 0 && !(-1 + Double(k - 1) * step < y) { k -= 1 }
        return Swift.min(k, mu)
    }

    /// The sample value of class `k` (exact inverse of `encode` on class centres).
    public static func decode(_ k: Int, mu: Int = 255) -> Float {
        let shifted = Double(k - (mu + 1) / 2)
        let y = shifted * 2 / Double(mu + 1)   // librosa: x / (mu + 1) * 2 on the shifted class
        return expand(Float(y), mu: Float(mu))
    }

    /// Classes of every sample.
    public static func encode(_ x: [Float], mu: Int = 255) -> [Int] { x.map { encode($0, mu: mu) } }
    /// Samples of every class.
    public static func decode(_ k: [Int], mu: Int = 255) -> [Float] { k.map { decode($0, mu: mu) } }
}

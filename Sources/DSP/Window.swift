import Foundation

/// Analysis windows, as `scipy.signal.get_window` / `librosa.filters.get_window`.
public enum Window: String, CaseIterable, Codable, Sendable {
    case hann, hamming, blackman

    /// The window of `length` samples. Periodic (the default, `fftbins=True`) windows are for
    /// spectral analysis; symmetric ones for filter design.
    public func values(length: Int, periodic: Bool = true) -> [Float] {
        guard length > 1 else { return Array(repeating: 1, count: length) }
        let m = Double(periodic ? length : length - 1)
        return (0..<length).map { i in
            let x = 2 * Double.pi * Double(i) / m
            switch self {
            case .hann: return Float(0.5 - 0.5 * cos(x))
            case .hamming: return Float(0.54 - 0.46 * cos(x))
            case .blackman: return Float(0.42 - 0.5 * cos(x) + 0.08 * cos(2 * x))
            }
        }
    }

    /// The window of `length` samples zero-padded to `size`, centred (librosa's `pad_center`).
    public func padded(length: Int, to size: Int) -> [Float] {
        precondition(length <= size, "Window.padded: length \(length) exceeds size \(size)")
        let w = values(length: length)
        let left = (size - length) / 2
        var out = [Float](repeating: 0, count: size)
        for i in 0..<length { out[left + i] = w[i] }
        return out
    }
}

import Foundation
import TensorCore

/// A spectrogram drawn as an image a person can read: time on x, low frequencies at the
/// bottom, values mapped through Green's cubehelix colour map (Green 2011, Bull. Astr. Soc.
/// India 39, 289), whose lightness rises monotonically so it stays readable in grey.
public enum SpectrogramImage {
    /// Renders `values` [rows, columns] (row 0 = lowest band). The top `dynamicRange` below the
    /// maximum spans the colour map; lower values are black. Each row is drawn `rowHeight` px tall.
    public static func render(_ values: Tensor, dynamicRange: Float, rowHeight: Int = 4) -> PNGImage {
        precondition(values.rank == 2, "SpectrogramImage.render: expected [rows, columns], got \(values.shape)")
        let (rows, cols) = (values.shape[0], values.shape[1])
        let v = values.scalars
        let top = v.max() ?? 0
        let bottom = top - Swift.max(dynamicRange, 1e-6)
        let flat = top == (v.min() ?? 0)
        let palette = (0..<256).map { cubehelix(Double($0) / 255) }
        let height = rows * rowHeight
        var pixels = [UInt8](repeating: 0, count: Swift.max(cols, 1) * height * 3)
        for r in 0..<rows {
            for c in 0..<cols {
                // A constant image (digital silence: every bin at the floor) is drawn as the
                // bottom of the scale, not as its loudest colour.
                let t = flat ? 0 : Swift.min(Swift.max((v[r * cols + c] - bottom) / (top - bottom), 0), 1)
                let rgb = palette[Int((t * 255).rounded())]
                for dy in 0..<rowHeight {
                    let y = height - 1 - (r * rowHeight + dy)
                    let i = (y * cols + c) * 3
                    pixels[i] = rgb.0; pixels[i + 1] = rgb.1; pixels[i + 2] = rgb.2
                }
            }
        }
        return PNGImage(width: Swift.max(cols, 1), height: height, pixels: pixels)
    }

    /// Cubehelix with start 0.5, −1.5 rotations, hue 1.0, gamma 1.0: black to white through
    /// blue, green and red.
    static func cubehelix(_ lambda: Double) -> (UInt8, UInt8, UInt8) {
        let start = 0.5, rotations = -1.5, hue = 1.0
        let phi = 2 * Double.pi * (start / 3 + rotations * lambda)
        let a = hue * lambda * (1 - lambda) / 2
        let (c, s) = (Foundation.cos(phi), Foundation.sin(phi))
        let r = lambda + a * (-0.14861 * c + 1.78277 * s)
        let g = lambda + a * (-0.29227 * c - 0.90649 * s)
        let b = lambda + a * (1.97294 * c)
        func byte(_ x: Double) -> UInt8 { UInt8(Swift.min(Swift.max(x, 0), 1) * 255 + 0.5) }
        return (byte(r), byte(g), byte(b))
    }
}

import Foundation
import TensorCore

/// A tensor stored in a golden JSON file: shape plus row-major data.
public struct GoldenTensor: Decodable, Sendable {
    public let shape: [Int]
    public let data: [Double]
    /// The stored values as a tensor (Float32; the files hold exact Float32 values).
    public var tensor: Tensor { Tensor(shape: shape, scalars: data.map { Float($0) }) }
}

/// Reading golden files and comparing tensors with a stated tolerance.
public enum Golden {
    /// Decodes `name` from a test bundle's `Golden/` folder.
    public static func load<T: Decodable>(_ type: T.Type, named name: String, bundle: Bundle) throws -> T {
        guard let url = bundle.url(forResource: name, withExtension: nil, subdirectory: "Golden")
            ?? bundle.url(forResource: "Golden/\(name)", withExtension: nil) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Golden/\(name)"])
        }
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    /// The largest |a − b| / (atol + rtol·|b|) over all elements; ≤ 1 means within tolerance.
    public static func worstRatio(_ a: Tensor, _ b: Tensor, rtol: Float, atol: Float) -> Float {
        precondition(a.shape == b.shape, "worstRatio: shapes \(a.shape) vs \(b.shape)")
        var worst: Float = 0
        for (x, y) in zip(a.scalars, b.scalars) {
            worst = max(worst, abs(x - y) / (atol + rtol * abs(y)))
        }
        return worst
    }
}

extension Tensor {
    /// Whether every element is within `atol + rtol·|other|` of `other` (same shape required).
    public func isClose(to other: Tensor, rtol: Float = 1e-5, atol: Float = 1e-6) -> Bool {
        shape == other.shape && Golden.worstRatio(self, other, rtol: rtol, atol: atol) <= 1
    }
}

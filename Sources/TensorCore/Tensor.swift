import Foundation

/// An n-dimensional Float32 array: a strided view of shared storage, plus the autograd
/// node that produced it (nil for constants and for anything computed without gradient).
///
/// Tensors are values: operations return new tensors, and views (reshape, transpose, slice,
/// expand) share storage with their source without copying. Element (i0, i1, …) lives at
/// `offset + Σ ik · strides[k]`.
public struct Tensor {
    /// The size of each axis.
    public let shape: [Int]
    /// Elements to skip to move one step along each axis (0 on broadcast axes).
    public let strides: [Int]
    /// Index in `storage` of the first element.
    public let offset: Int
    /// The shared elements.
    package let storage: Storage
    /// The primitive and inputs that made this value, or a leaf marker; nil for constants.
    let node: Node?

    /// Whether gradients flow back through this tensor.
    public var requiresGrad: Bool { node != nil }

    init(shape: [Int], strides: [Int], offset: Int, storage: Storage, node: Node? = nil) {
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.storage = storage
        self.node = node
    }

    /// A contiguous tensor over `storage`, which must hold exactly the shape's element count.
    package init(shape: [Int], storage: Storage) {
        precondition(storage.count == Shape.count(shape),
                     "Tensor(shape:storage:): \(shape) needs \(Shape.count(shape)) elements, storage has \(storage.count)")
        self.init(shape: shape, strides: Shape.contiguousStrides(shape), offset: 0, storage: storage)
    }

    /// A tensor of the given shape holding `scalars` in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor(shape:scalars:): negative size in \(shape)")
        precondition(scalars.count == Shape.count(shape),
                     "Tensor(shape:scalars:): shape \(shape) needs \(Shape.count(shape)) scalars, got \(scalars.count)")
        let s = Storage(count: scalars.count)
        scalars.withUnsafeBufferPointer { src in
            if let p = src.baseAddress { s.base.update(from: p, count: scalars.count) }
        }
        self.init(shape: shape, storage: s)
    }

    /// A 1-D tensor of `scalars`.
    public init(_ scalars: [Float]) { self.init(shape: [scalars.count], scalars: scalars) }

    /// A 0-D tensor holding `value`.
    public init(_ value: Float) { self.init(shape: [], scalars: [value]) }

    /// A 2-D tensor from rows of equal length.
    public init(_ rows: [[Float]]) {
        let cols = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == cols }, "Tensor([[Float]]): rows of unequal length")
        self.init(shape: [rows.count, cols], scalars: rows.flatMap { $0 })
    }

    /// Number of axes.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { Shape.count(shape) }

    /// Whether elements are laid out row-major with no gaps (views may still start at an offset).
    public var isContiguous: Bool { Shape.isContiguous(shape: shape, strides: strides) }

    /// The elements in row-major order.
    public var scalars: [Float] {
        let c = contiguousValue()
        return Array(UnsafeBufferPointer(start: c.storage.base + c.offset, count: c.count))
    }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "Tensor.item: tensor of shape \(shape) has \(count) elements, expected 1")
        return storage.base[offset]
    }

    /// The size of `axis` (negative axes count from the end).
    public func size(_ axis: Int) -> Int { shape[Shape.normalize(axis, rank: rank, op: "size")] }

    /// Calls `body` with the elements in row-major order (copying only if not contiguous).
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let c = contiguousValue()
        return try body(UnsafeBufferPointer(start: c.storage.base + c.offset, count: c.count))
    }

    /// This value as a constant: same elements, no gradient history, storage shared.
    public func detached() -> Tensor {
        Tensor(shape: shape, strides: strides, offset: offset, storage: storage)
    }

    /// This value as a new leaf that gradients are taken with respect to.
    public func requiringGradient() -> Tensor {
        Tensor(shape: shape, strides: strides, offset: offset, storage: storage, node: Node(leafOf: shape))
    }

    /// A contiguous copy of the value without gradient history (no copy when already contiguous).
    func contiguousValue() -> Tensor {
        if isContiguous { return detached() }
        let out = Storage(count: count)
        Kernels.copy(self, into: out.base)
        return Tensor(shape: shape, storage: out)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = scalars
        let shown = values.prefix(8).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(values.count > 8 ? ", …" : "")])"
    }
}

// NOTE: Tensors are immutable values: no public API writes into existing storage (kernels
// always allocate fresh storage), and graph nodes never change after creation. Sharing one
// across tasks is therefore safe.
extension Tensor: @unchecked Sendable {}

import TensorCore

/// y = x Wᵀ + b over the last axis (as `torch.nn.Linear`). Keys: `weight` [out, in], `bias` [out].
public final class Linear: Layer {
    public let weight: Parameter
    public let bias: Parameter?
    public let inFeatures: Int
    public let outFeatures: Int

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, using g: inout RandomGenerator) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(Initialization.kaimingUniform([outFeatures, inFeatures], fanIn: inFeatures, using: &g))
        self.bias = bias ? Parameter(Initialization.bias(outFeatures, fanIn: inFeatures, using: &g)) : nil
    }

    /// x [..., in] → [..., out].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == inFeatures, "Linear: input \(x.shape) must end in \(inFeatures) features")
        let y = x.matmul(weight.value.transposed())
        return bias.map { y + $0.value } ?? y
    }
}

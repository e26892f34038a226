/// Pooling, composed from a sliding-window view (`unfolded`) and a reduction, so its
/// gradients (and their gradients) come from those ops.
extension Tensor {
    /// Average pooling over [B, C, T] (zero padding counted, as PyTorch's default).
    public func avgPool1d(kernelSize: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        pooled(kernel: [kernelSize], stride: stride.map { [$0] }, padding: [padding], isMax: false, spatial: 1, op: "avgPool1d")
    }

    /// Max pooling over [B, C, T] (padding never wins).
    public func maxPool1d(kernelSize: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        pooled(kernel: [kernelSize], stride: stride.map { [$0] }, padding: [padding], isMax: true, spatial: 1, op: "maxPool1d")
    }

    /// Average pooling over [B, C, H, W].
    public func avgPool2d(kernelSize: [Int], stride: [Int]? = nil, padding: [Int] = [0]) -> Tensor {
        pooled(kernel: kernelSize, stride: stride, padding: padding, isMax: false, spatial: 2, op: "avgPool2d")
    }

    /// Max pooling over [B, C, H, W].
    public func maxPool2d(kernelSize: [Int], stride: [Int]? = nil, padding: [Int] = [0]) -> Tensor {
        pooled(kernel: kernelSize, stride: stride, padding: padding, isMax: true, spatial: 2, op: "maxPool2d")
    }

    private func pooled(kernel: [Int], stride: [Int]?, padding: [Int], isMax: Bool, spatial n: Int, op: String) -> Tensor {
        precondition(rank == n + 2, "\(op): input must be [B, C, \(n == 1 ? "T" : "H, W")], got \(shape)")
        func perAxis(_ v: [Int]) -> [Int] { v.count == 1 ? Array(repeating: v[0], count: n) : v }
        let k = perAxis(kernel), s = perAxis(stride ?? kernel), p = perAxis(padding)
        precondition(k.count == n && s.count == n && p.count == n, "\(op): kernel, stride and padding need \(n) values")
        for i in 0..<n {
            precondition(p[i] * 2 <= k[i], "\(op): padding \(p[i]) must be at most half the kernel \(k[i])")
            precondition(shape[2 + i] + 2 * p[i] >= k[i], "\(op): axis \(2 + i) of \(shape) is shorter than the kernel \(k[i])")
        }
        let x = padded(p.map { ($0, $0) }, mode: .constant(isMax ? -Float.infinity : 0))
        var windows = x
        for i in 0..<n { windows = windows.unfolded(axis: 2 + i, size: k[i], step: s[i]) }
        let axes = Array((rank)..<(rank + n))   // the window axes appended at the end
        return isMax ? windows.max(axes: axes) : windows.mean(axes: axes)
    }
}

import Foundation
import Testing
import TensorCore
import TestSupport

/// Convolutions forward and backward against PyTorch (tools/golden/conv_golden.py, float64
/// reference on Float32 inputs). Tolerance rtol 1e-4, atol 1e-4: Float32 accumulation over at
/// most a few hundred products of unit-variance values.
@Suite struct ConvGoldenTests {
    struct Case: Decodable, CustomTestStringConvertible, Sendable {
        let name: String
        let op: String
        let stride: [Int]
        let dilation: [Int]
        let groups: Int
        let pad: [Int]?
        let padding: [Int]?
        let output_padding: [Int]?
        let x, w, b, grad_y, y, grad_x, grad_w, grad_b: GoldenTensor
        var testDescription: String { name }
    }
    struct File: Decodable { let cases: [Case] }

    static let cases: [Case] = (try? Golden.load(File.self, named: "conv_golden.json", bundle: .module).cases) ?? []

    @Test func goldenFileLoads() { #expect(Self.cases.count == 11) }

    @Test(arguments: cases)
    func matchesPyTorch(_ c: Case) {
        let x = c.x.tensor.requiringGradient(), w = c.w.tensor.requiringGradient(), b = c.b.tensor.requiringGradient()
        let y: Tensor
        switch c.op {
        case "conv1d":
            let p = c.pad!
            y = x.conv1d(w, bias: b, stride: c.stride[0], padding: .asymmetric(low: [p[0]], high: [p[1]]),
                         dilation: c.dilation[0], groups: c.groups)
        case "conv2d":
            let p = c.pad!   // [top, bottom, left, right]
            y = x.conv2d(w, bias: b, stride: c.stride, padding: .asymmetric(low: [p[0], p[2]], high: [p[1], p[3]]),
                         dilation: c.dilation, groups: c.groups)
        case "conv_transpose1d":
            y = x.convTranspose1d(w, bias: b, stride: c.stride[0], padding: c.padding![0],
                                  outputPadding: c.output_padding![0], dilation: c.dilation[0], groups: c.groups)
        case "conv_transpose2d":
            y = x.convTranspose2d(w, bias: b, stride: c.stride, padding: c.padding!, outputPadding: c.output_padding!,
                                  dilation: c.dilation, groups: c.groups)
        default:
            Issue.record("unknown op \(c.op)")
            return
        }
        #expect(y.shape == c.y.shape)
        #expect(Golden.worstRatio(y, c.y.tensor, rtol: 1e-4, atol: 1e-4) <= 1, "forward")
        let g = gradients(of: y, wrt: [x, w, b], seed: c.grad_y.tensor)
        #expect(Golden.worstRatio(g[0], c.grad_x.tensor, rtol: 1e-4, atol: 1e-4) <= 1, "grad x")
        #expect(Golden.worstRatio(g[1], c.grad_w.tensor, rtol: 1e-4, atol: 1e-4) <= 1, "grad w")
        #expect(Golden.worstRatio(g[2], c.grad_b.tensor, rtol: 1e-4, atol: 1e-4) <= 1, "grad b")
    }
}

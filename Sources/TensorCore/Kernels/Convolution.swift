import CKernels

/// Convolution kernels, forward and both gradients, for 1-D and 2-D with stride, padding,
/// dilation and groups (1-D runs as 2-D with a height of one).
///
/// Stride-1 1-D convolutions (WaveNet, WaveGlow, every dilated stack) run as K accumulating
/// GEMMs over shifted views of the input, one per kernel tap, restricted to the output range
/// where the tap reads inside the input: zero padding is never materialised and there is no
/// im2col buffer. Everything else goes through im2col + GEMM (col2im for the input gradient).
enum Convolution {
    /// Sizes of one call, in the canonical 2-D form.
    struct Dims {
        var batch = 0, cin = 0, cout = 0, groups = 1
        var h = 1, w = 0, kh = 1, kw = 0, oh = 1, ow = 0
        var sh = 1, sw = 1, dh = 1, dw = 1, ph = 0, pw = 0
        var cinG: Int { cin / groups }
        var coutG: Int { cout / groups }
        var taps: Int { kh * kw }
        var isShiftedGEMM: Bool { h == 1 && kh == 1 && sw == 1 && oh == 1 && ph == 0 }
        var isPointwise: Bool { taps == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && oh == h && ow == w }

        init(batch: Int, cin: Int, cout: Int, input: [Int], kernel: [Int], geometry g: ConvGeometry) {
            self.batch = batch; self.cin = cin; self.cout = cout; groups = g.groups
            let out = g.outputSize(input: input, kernel: kernel)
            if input.count == 1 {
                w = input[0]; kw = kernel[0]; ow = out[0]
                sw = g.stride[0]; dw = g.dilation[0]; pw = g.padLow[0]
            } else {
                h = input[0]; w = input[1]; kh = kernel[0]; kw = kernel[1]; oh = out[0]; ow = out[1]
                sh = g.stride[0]; sw = g.stride[1]; dh = g.dilation[0]; dw = g.dilation[1]
                ph = g.padLow[0]; pw = g.padLow[1]
            }
        }

        /// The output range [t0, t1) where tap k reads inside the input (1-D, stride 1).
        func validRange(tap k: Int) -> Range<Int> {
            let t0 = Swift.max(0, pw - k * dw)
            let t1 = Swift.min(ow, w + pw - k * dw)
            return t0 < t1 ? t0..<t1 : 0..<0
        }
    }

    static func forward(_ x: Tensor, _ w: Tensor, _ g: ConvGeometry, bias: Tensor? = nil) -> Tensor {
        let xc = x.contiguousValue(), wc = w.contiguousValue()
        let d = Dims(batch: x.shape[0], cin: x.shape[1], cout: w.shape[0], input: Array(x.shape.dropFirst(2)),
                     kernel: Array(w.shape.dropFirst(2)), geometry: g)
        let outSpatial = x.rank == 3 ? [d.ow] : [d.oh, d.ow]
        let out = Storage(count: d.batch * d.cout * d.oh * d.ow)
        let px = xc.storage.base + xc.offset, pwt = wc.storage.base + wc.offset
        let (ohw, hw, kk) = (d.oh * d.ow, d.h * d.w, d.taps)

        // The output starts as the bias (or zero) and the products accumulate onto it, so a
        // bias costs no pass of its own.
        let start: Float = bias == nil ? 0 : 1
        if let bias {
            let values = bias.scalars
            Parallel.forChunks(d.batch * d.cout, grain: Swift.max(1, (1 << 15) / Swift.max(ohw, 1))) { rows in
                for row in rows { Kernels.fill(out.base + row * ohw, count: ohw, value: values[row % d.cout]) }
            }
        }
        if d.isShiftedGEMM && !d.isPointwise {
            let packed = packTaps(pwt, d)
            if bias == nil { Kernels.fill(out.base, count: out.count, value: 0) }
            forEachShift(d) { b, k, grp, r, shift in
                BLAS.gemm(m: d.coutG, n: r.count, k: d.cinG,
                          .init(base: packed.base + (k * d.cout + grp * d.coutG) * d.cinG, ld: d.cinG, transposed: false),
                          .init(base: px + (b * d.cin + grp * d.cinG) * d.w + shift, ld: d.w, transposed: false),
                          beta: 1, out.base + (b * d.cout + grp * d.coutG) * d.ow + r.lowerBound, ldc: d.ow)
            }
        } else {
            let cols = d.isPointwise ? nil : Storage(count: d.cin * kk * ohw)
            for b in 0..<d.batch {
                let colBase = columns(px + b * d.cin * hw, d, into: cols)
                for grp in 0..<d.groups {
                    BLAS.gemm(m: d.coutG, n: ohw, k: d.cinG * kk,
                              .init(base: pwt + grp * d.coutG * d.cinG * kk, ld: d.cinG * kk, transposed: false),
                              .init(base: colBase + grp * d.cinG * kk * ohw, ld: ohw, transposed: false),
                              beta: start, out.base + (b * d.cout + grp * d.coutG) * ohw, ldc: ohw)
                }
            }
        }
        return Tensor(shape: [d.batch, d.cout] + outSpatial, storage: out)
    }

    static func inputGradient(_ gy: Tensor, _ w: Tensor, _ g: ConvGeometry, inputSize: [Int]) -> Tensor {
        let gc = gy.contiguousValue(), wc = w.contiguousValue()
        let d = Dims(batch: gy.shape[0], cin: w.shape[1] * g.groups, cout: w.shape[0], input: inputSize,
                     kernel: Array(w.shape.dropFirst(2)), geometry: g)
        precondition(Array(gy.shape.dropFirst(2)) == (gy.rank == 3 ? [d.ow] : [d.oh, d.ow]) && gy.shape[1] == d.cout,
                     "conv input gradient: gradient \(gy.shape) does not match weight \(w.shape) and input size \(inputSize)")
        let out = Storage(count: d.batch * d.cin * d.h * d.w)
        let pg = gc.storage.base + gc.offset, pwt = wc.storage.base + wc.offset
        let (ohw, hw, kk) = (d.oh * d.ow, d.h * d.w, d.taps)

        if d.isShiftedGEMM && !d.isPointwise {
            let packed = packTaps(pwt, d)
            Kernels.fill(out.base, count: out.count, value: 0)
            forEachShift(d) { b, k, grp, r, shift in
                BLAS.gemm(m: d.cinG, n: r.count, k: d.coutG,
                          .init(base: packed.base + (k * d.cout + grp * d.coutG) * d.cinG, ld: d.cinG, transposed: true),
                          .init(base: pg + (b * d.cout + grp * d.coutG) * d.ow + r.lowerBound, ld: d.ow, transposed: false),
                          beta: 1, out.base + (b * d.cin + grp * d.cinG) * d.w + shift, ldc: d.w)
            }
        } else {
            let cols = d.isPointwise ? nil : Storage(count: d.cin * kk * ohw)
            for b in 0..<d.batch {
                let xb = out.base + b * d.cin * hw
                let colBase = cols?.base ?? xb
                for grp in 0..<d.groups {
                    BLAS.gemm(m: d.cinG * kk, n: ohw, k: d.coutG,
                              .init(base: pwt + grp * d.coutG * d.cinG * kk, ld: d.cinG * kk, transposed: true),
                              .init(base: pg + (b * d.cout + grp * d.coutG) * ohw, ld: ohw, transposed: false),
                              beta: 0, colBase + grp * d.cinG * kk * ohw, ldc: ohw)
                }
                if let cols {
                    Kernels.fill(xb, count: d.cin * hw, value: 0)
                    wk_col2im(d.cin, d.h, d.w, d.kh, d.kw, d.sh, d.sw, d.ph, d.pw, d.dh, d.dw, d.oh, d.ow, cols.base, xb)
                }
            }
        }
        return Tensor(shape: [d.batch, d.cin] + inputSize, storage: out)
    }

    static func weightGradient(_ gy: Tensor, _ x: Tensor, _ g: ConvGeometry, kernelSize: [Int]) -> Tensor {
        let gc = gy.contiguousValue(), xc = x.contiguousValue()
        let d = Dims(batch: x.shape[0], cin: x.shape[1], cout: gy.shape[1], input: Array(x.shape.dropFirst(2)),
                     kernel: kernelSize, geometry: g)
        let out = Storage(count: d.cout * d.cinG * d.taps, repeating: 0)
        let pg = gc.storage.base + gc.offset, px = xc.storage.base + xc.offset
        let (ohw, hw, kk) = (d.oh * d.ow, d.h * d.w, d.taps)

        if d.isShiftedGEMM && !d.isPointwise {
            let packed = Storage(count: d.kw * d.cout * d.cinG, repeating: 0)
            forEachShift(d) { b, k, grp, r, shift in
                BLAS.gemm(m: d.coutG, n: d.cinG, k: r.count,
                          .init(base: pg + (b * d.cout + grp * d.coutG) * d.ow + r.lowerBound, ld: d.ow, transposed: false),
                          .init(base: px + (b * d.cin + grp * d.cinG) * d.w + shift, ld: d.w, transposed: true),
                          beta: 1, packed.base + (k * d.cout + grp * d.coutG) * d.cinG, ldc: d.cinG)
            }
            // [K, C_out, C_in/g] → [C_out, C_in/g, K]
            let rows = d.cout * d.cinG
            for i in 0..<rows { for k in 0..<d.kw { out.base[i * d.kw + k] = packed.base[k * rows + i] } }
        } else {
            let cols = d.isPointwise ? nil : Storage(count: d.cin * kk * ohw)
            for b in 0..<d.batch {
                let colBase = columns(px + b * d.cin * hw, d, into: cols)
                for grp in 0..<d.groups {
                    BLAS.gemm(m: d.coutG, n: d.cinG * kk, k: ohw,
                              .init(base: pg + (b * d.cout + grp * d.coutG) * ohw, ld: ohw, transposed: false),
                              .init(base: colBase + grp * d.cinG * kk * ohw, ld: ohw, transposed: true),
                              beta: b == 0 ? 0 : 1, out.base + grp * d.coutG * d.cinG * kk, ldc: d.cinG * kk)
                }
            }
        }
        return Tensor(shape: [d.cout, d.cinG] + kernelSize, storage: out)
    }

    /// Weight [C_out, C_in/g, K] rearranged tap-major as [K, C_out, C_in/g], one GEMM operand per tap.
    private static func packTaps(_ w: UnsafeMutablePointer<Float>, _ d: Dims) -> Storage {
        let rows = d.cout * d.cinG
        let packed = Storage(count: d.kw * rows)
        for k in 0..<d.kw { wk_copy_strided(rows, w + k, d.kw, packed.base + k * rows) }
        return packed
    }

    /// Calls `body(b, k, group, r, shift)` for every batch item, tap and group of a
    /// shifted-GEMM convolution: output columns `r` of tap k read input columns from `shift`.
    private static func forEachShift(_ d: Dims, _ body: (Int, Int, Int, Range<Int>, Int) -> Void) {
        for b in 0..<d.batch {
            for k in 0..<d.kw {
                let r = d.validRange(tap: k)
                if r.isEmpty { continue }
                for grp in 0..<d.groups { body(b, k, grp, r, r.lowerBound + k * d.dw - d.pw) }
            }
        }
    }

    /// The GEMM operand for one batch item: its im2col columns written into `cols`, or the
    /// input itself for a pointwise convolution (`cols` nil).
    private static func columns(_ xb: UnsafeMutablePointer<Float>, _ d: Dims, into cols: Storage?) -> UnsafeMutablePointer<Float> {
        guard let cols else { return xb }
        wk_im2col(d.cin, d.h, d.w, d.kh, d.kw, d.sh, d.sw, d.ph, d.pw, d.dh, d.dw, d.oh, d.ow, xb, cols.base)
        return cols.base
    }
}

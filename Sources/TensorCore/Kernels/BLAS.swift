import COpenBLAS
import Foundation

/// The one wrapper over CBLAS. Matrices are row-major; a matrix operand is a base pointer,
/// its leading dimension and whether BLAS should read it transposed.
public enum BLAS {
    struct Matrix {
        let base: UnsafePointer<Float>
        let ld: Int
        let transposed: Bool
    }

    /// C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C.
    static func gemm(m: Int, n: Int, k: Int, alpha: Float = 1, _ a: Matrix, _ b: Matrix,
                     beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0 && n > 0 else { return }
        if k == 0 {
            // BLAS would leave C untouched; the product of empty matrices is zero.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : c[i * ldc + j] * beta } }
            return
        }
        cblas_sgemm(CblasRowMajor, a.transposed ? CblasTrans : CblasNoTrans,
                    b.transposed ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a.base, Int32(a.ld), b.base, Int32(b.ld),
                    beta, c, Int32(ldc))
    }

    /// The CPU core whose kernels OpenBLAS runs (its own detection, or OPENBLAS_CORETYPE).
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// A warning when OPENBLAS_CORETYPE makes OpenBLAS run kernels older than the CPU's: set to
    /// a core without AVX-512 on a CPU with it, matrix products run at about half their speed
    /// (OpenBLAS reads the variable once, when it loads). Nil when the variable is unset or names a core as new as the CPU.
    public static var forcedCoreWarning: String? {
        guard let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], !forced.isEmpty,
              let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              cpuinfo.contains(" avx512f") else { return nil }
        let avx512Cores = ["skylakex", "cooperlake", "sapphirerapids", "zen4", "zen5"]
        let core = coreName.lowercased()
        guard !avx512Cores.contains(where: { core.contains($0) }) else { return nil }
        return "OPENBLAS_CORETYPE=\(forced) makes OpenBLAS run its \(coreName) kernels on this AVX-512 CPU: matrix products run at about half speed. Unset it unless you set it on purpose."
    }

    /// How BLAS can read a [rows, cols] matrix with the given strides without copying, if at all.
    static func layout(rows: Int, cols: Int, rowStride rs: Int, colStride cs: Int) -> (transposed: Bool, ld: Int)? {
        if (cols == 1 || cs == 1) && (rows == 1 || rs >= max(cols, 1)) {
            return (false, rows == 1 ? max(cols, 1) : rs)
        }
        if (rows == 1 || rs == 1) && (cols == 1 || cs >= max(rows, 1)) {
            return (true, cols == 1 ? max(rows, 1) : cs)
        }
        return nil
    }
}

import Foundation
import CKernels
import COpenBLAS

/// A failure of a dense linear-algebra kernel.
public enum LinalgError: Error, Equatable, CustomStringConvertible {
    /// Cholesky found the leading minor of this order (1-based) not positive definite.
    case notPositiveDefinite(minor: Int)
    /// LAPACK rejected argument number `argument` (a programming error).
    case illegalArgument(argument: Int)

    public var description: String {
        switch self {
        case .notPositiveDefinite(let minor):
            return "matrix is not positive definite (leading minor of order \(minor)); raise the regularization"
        case .illegalArgument(let argument):
            return "LAPACK rejected argument \(argument)"
        }
    }
}

/// Thin, typed wrappers over the BLAS and LAPACKE calls the trainers use.
/// Every matrix is a contiguous row-major buffer; the layout is stated at each call.
public enum Linalg {
    /// OpenBLAS runs its own thread pool; inside our parallel loops it must
    /// run single-threaded, or the two pools fight over the same cores.
    public static func setBLASThreads(_ count: Int) {
        openblas_set_num_threads(Int32(count))
    }

    /// The OpenBLAS build and the kernel it picked for this CPU.
    public static var blasConfiguration: String {
        String(cString: openblas_get_config())
    }

    /// The OpenBLAS kernels a process should ask for (`OPENBLAS_CORETYPE`), or nil to keep
    /// what OpenBLAS picked. OpenBLAS falls back to its generic Prescott (SSE3) kernels on
    /// a processor it does not recognise — a virtual machine's "Intel Xeon Processor" with
    /// AVX-512 — where its SkylakeX kernels run sgemm five times faster
    /// (`experiments/openblas_core.sh`: 60 against 300 GFLOP/s). Only that fallback is
    /// overridden, and only by kernels the processor supports.
    public static var betterBLASCore: String? {
        guard String(cString: openblas_get_corename()).lowercased() == "prescott" else { return nil }
        if recsys_cpu_has_avx512() != 0 { return "SkylakeX" }
        if recsys_kernels_use_avx2() != 0 { return "Haswell" }
        return nil
    }

    /// OpenBLAS chose its kernels when it was loaded, before `main`: when it fell back to
    /// generic ones on a processor that can do better (`betterBLASCore`), the process
    /// starts again at once with `OPENBLAS_CORETYPE` set. A variable the machine already
    /// sets is left as it is. Call first thing in an executable's `main`; returns when
    /// nothing is to be done or the exec failed (the kernels OpenBLAS picked stay).
    public static func restartWithBetterBLASKernels() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, let core = betterBLASCore else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
    }

    /// C ← α·A·B + β·C with A m×k, B k×n, C m×n, all row-major.
    public static func gemm(m: Int, n: Int, k: Int, alpha: Double = 1, a: UnsafePointer<Double>, b: UnsafePointer<Double>,
                            beta: Double = 0, c: UnsafeMutablePointer<Double>) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(k), b, Int32(n), beta, c, Int32(n))
    }

    /// Solves A·x = b for symmetric positive definite A (n×n, row-major; only
    /// its upper triangle is read) by Cholesky: `potrf` factors A = UᵀU in place,
    /// `potrs` solves with the factor. `a` is overwritten by U, `b` by x.
    ///
    /// A row-major upper triangle is, byte for byte, the column-major lower
    /// triangle of the same symmetric matrix, so LAPACK is called column-major
    /// with 'L': LAPACKE's row-major entry points would copy and transpose the
    /// matrix on every call, which for the many small solves of ALS costs more
    /// than the factorization.
    /// - Throws: `LinalgError.notPositiveDefinite(minor:)` when A is not SPD.
    public static func choleskySolve(n: Int, a: UnsafeMutablePointer<Double>, b: UnsafeMutablePointer<Double>) throws {
        let lower = Int8(UInt8(ascii: "L"))
        try check(LAPACKE_dpotrf(LAPACK_COL_MAJOR, lower, Int32(n), a, Int32(n)))
        try check(LAPACKE_dpotrs(LAPACK_COL_MAJOR, lower, Int32(n), 1, a, Int32(n), b, Int32(n)))
    }

    // The trainers' kernels run in single precision: half the bytes to gather
    // and twice the SIMD width of double.

    /// C ← GᵀG + β·C, the upper triangle only, for G n×k row-major and C k×k row-major (float).
    public static func syrkTransposed(n: Int, k: Int, g: UnsafePointer<Float>, beta: Float = 0, c: UnsafeMutablePointer<Float>) {
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(k), Int32(n), 1, g, Int32(k), beta, c, Int32(k))
    }

    /// y ← Gᵀ·x + β·y for G n×k row-major (float).
    public static func gemvTransposed(n: Int, k: Int, g: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                      beta: Float = 0, y: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(n), Int32(k), 1, g, Int32(k), x, 1, beta, y, 1)
    }

    /// C ← α·A·Bᵀ + β·C with A m×k, B n×k, C m×n, all row-major (float): the
    /// scores of m customer rows against n movie rows.
    public static func gemmTransposedB(m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                       beta: Float = 0, c: UnsafeMutablePointer<Float>) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(k), b, Int32(k), beta, c, Int32(n))
    }

    /// y ← G·x for G n×k row-major (float): one customer's scores against every movie.
    public static func gemv(n: Int, k: Int, g: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), 1, g, Int32(k), x, 1, 0, y, 1)
    }

    /// `choleskySolve` in single precision (same layout trick, same errors).
    public static func choleskySolve(n: Int, a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>) throws {
        let lower = Int8(UInt8(ascii: "L"))
        try check(LAPACKE_spotrf(LAPACK_COL_MAJOR, lower, Int32(n), a, Int32(n)))
        try check(LAPACKE_spotrs(LAPACK_COL_MAJOR, lower, Int32(n), 1, a, Int32(n), b, Int32(n)))
    }

    private static func check(_ info: Int32) throws {
        if info > 0 { throw LinalgError.notPositiveDefinite(minor: Int(info)) }
        if info < 0 { throw LinalgError.illegalArgument(argument: Int(-info)) }
    }
}

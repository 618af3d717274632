import COpenBLAS

/// An iterative LAPACK routine stopped without converging (`gesdd`'s info > 0:
/// the bidiagonal divide-and-conquer failed). In practice the input held NaN or ±∞.
///
/// A case of `LinalgError` would be the natural home; this type stands in until
/// that enum grows one.
public struct LinalgConvergenceError: Error, Equatable, CustomStringConvertible {
    /// The LAPACK routine, e.g. "dgesdd".
    public var routine: String
    /// LAPACK's positive info: how many superdiagonals did not converge.
    public var info: Int

    public var description: String {
        "\(routine) did not converge (info \(info)); check the input for NaN or ±∞"
    }
}

/// The dense kernels of the randomized SVD: double-precision products with a
/// transposed operand, thin QR and the small SVD. Same conventions as the rest
/// of `Linalg`: contiguous row-major buffers, the layout stated at each call,
/// every LAPACK info checked by one helper.
extension Linalg {
    /// OpenBLAS's current thread count (to restore it after a phase that changed it).
    public static var blasThreads: Int { Int(openblas_get_num_threads()) }

    /// C ← α·Aᵀ·B + β·C with A k×m, B k×n, C m×n, all row-major (double).
    public static func gemmTransposedA(m: Int, n: Int, k: Int, alpha: Double = 1, a: UnsafePointer<Double>,
                                       b: UnsafePointer<Double>, beta: Double = 0, c: UnsafeMutablePointer<Double>) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(m), b, Int32(n), beta, c, Int32(n))
    }

    /// C ← α·A·Bᵀ + β·C with A m×k, B n×k, C m×n, all row-major (double).
    public static func gemmTransposedB(m: Int, n: Int, k: Int, alpha: Double = 1, a: UnsafePointer<Double>,
                                       b: UnsafePointer<Double>, beta: Double = 0, c: UnsafeMutablePointer<Double>) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(k), b, Int32(k), beta, c, Int32(n))
    }

    /// Thin QR, A = Q·R, of A m×n row-major with m ≥ n (double): `geqrf`
    /// computes R and the Householder reflectors, `orgqr` accumulates the
    /// first n columns of Q. On return `a` holds Q (m×n, orthonormal columns)
    /// and `r`, when given, R (n×n row-major, zero below the diagonal).
    ///
    /// LAPACK runs column-major on a copy transposed here in cache-sized
    /// blocks, once in and once out: LAPACKE's row-major entry points would
    /// transpose element by element around each of the two routines, which
    /// for a 480k × 60 block costs more than the factorization itself
    /// (measured: 2.9–3.8 s against 1.6–2.3 s).
    /// - Throws: `LinalgError.illegalArgument` for a bad shape (m < n or n < 1).
    public static func qr(rows m: Int, columns n: Int, a: UnsafeMutablePointer<Double>,
                          r: UnsafeMutablePointer<Double>? = nil) throws {
        guard n >= 1 else { throw LinalgError.illegalArgument(argument: 3) }
        guard m >= n else { throw LinalgError.illegalArgument(argument: 2) }
        var tau = [Double](repeating: 0, count: n)
        var columnMajor = [Double](repeating: 0, count: m * n)
        try columnMajor.withUnsafeMutableBufferPointer { buffer in
            let work = buffer.baseAddress!
            transpose(rows: m, columns: n, from: a, to: work)
            try check(LAPACKE_dgeqrf(LAPACK_COL_MAJOR, Int32(m), Int32(n), work, Int32(m), &tau), routine: "dgeqrf")
            if let r {
                for i in 0..<n {
                    for j in 0..<n { r[i * n + j] = j >= i ? work[i + j * m] : 0 }
                }
            }
            try check(LAPACKE_dorgqr(LAPACK_COL_MAJOR, Int32(m), Int32(n), Int32(n), work, Int32(m), &tau), routine: "dorgqr")
            transpose(rows: n, columns: m, from: work, to: a)
        }
    }

    /// Orthonormal columns for A m×n row-major (m ≥ n, double), A = Q·R, by
    /// CholeskyQR2 (Fukaya, Nakatsukasa, Yanagisawa & Yamamoto 2014): twice
    /// G = AᵀA (`dsyrk`), R = chol(G) (`dpotrf`), A ← A·R⁻¹ (`dtrsm`). All of
    /// it is level-3 BLAS on the tall block, where Householder QR spends half
    /// its flops in level-2 panels; the second pass brings ‖QᵀQ − I‖ down to
    /// rounding for any block whose condition number is below about 10⁸.
    /// A worse-conditioned block (the Cholesky factorization fails, or the
    /// result is not orthonormal to 10⁻¹⁰) is factored by Householder (`qr`)
    /// instead. On return `a` holds Q and `r`, when given, R (n×n row-major,
    /// upper triangular, positive diagonal).
    /// - Throws: `LinalgError.illegalArgument` for a bad shape (m < n or n < 1).
    public static func orthonormalize(rows m: Int, columns n: Int, a: UnsafeMutablePointer<Double>,
                                      r: UnsafeMutablePointer<Double>? = nil) throws {
        guard n >= 1 else { throw LinalgError.illegalArgument(argument: 3) }
        guard m >= n else { throw LinalgError.illegalArgument(argument: 2) }
        // The block as given, for the fallback: a failed pass may have left it scaled by a near-singular R.
        let original = UnsafeMutableBufferPointer<Double>.allocate(capacity: m * n)
        defer { original.deallocate() }
        original.baseAddress!.update(from: a, count: m * n)
        var total = [Double](repeating: 0, count: n * n)
        var step = [Double](repeating: 0, count: n * n)
        var product = [Double](repeating: 0, count: n * n)
        func pass() -> Bool {
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(m), 1, a, Int32(n), 0, &step, Int32(n))
            guard LAPACKE_dpotrf(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "U")), Int32(n), &step, Int32(n)) == 0 else { return false }
            for i in 0..<n { for j in 0..<i { step[i * n + j] = 0 } }
            cblas_dtrsm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, Int32(m), Int32(n), 1, step, Int32(n), a, Int32(n))
            return true
        }
        var ok = pass()
        if ok {
            total = step
            ok = pass()
            if ok {
                // R = R₂·R₁
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, step, Int32(n), total, Int32(n), 0, &product, Int32(n))
                total = product
                // QᵀQ − I, checked: the fallback must catch a block too ill-conditioned for two passes.
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(m), 1, a, Int32(n), 0, &step, Int32(n))
                for i in 0..<n where ok {
                    // Written so that a NaN fails it too.
                    for j in i..<n where !(abs(step[i * n + j] - (i == j ? 1 : 0)) <= 1e-10) { ok = false; break }
                }
            }
        }
        if !ok {
            a.update(from: original.baseAddress!, count: m * n)
            return try qr(rows: m, columns: n, a: a, r: r)
        }
        if let r { r.update(from: total, count: n * n) }
    }

    /// B ← Aᵀ for A rows×columns row-major (B columns×rows row-major), in
    /// blocks of 64 rows so that both sides stay in cache.
    static func transpose(rows: Int, columns: Int, from a: UnsafePointer<Double>, to b: UnsafeMutablePointer<Double>) {
        let block = 64
        for i0 in stride(from: 0, to: rows, by: block) {
            let i1 = min(rows, i0 + block)
            for j0 in stride(from: 0, to: columns, by: block) {
                let j1 = min(columns, j0 + block)
                for j in j0..<j1 {
                    for i in i0..<i1 { b[j * rows + i] = a[i * columns + j] }
                }
            }
        }
    }

    /// Thin singular value decomposition A = U·diag(s)·Vᵀ of A m×n row-major
    /// (double) by divide and conquer (`gesdd`, jobz 'S'), with p = min(m, n):
    /// `s` gets the p singular values in descending order, `u` U (m×p row-major),
    /// `vt` Vᵀ (p×n row-major). `a` is destroyed.
    /// - Throws: `LinalgConvergenceError` when the iteration fails (NaN input),
    ///   `LinalgError.illegalArgument` for a bad argument.
    public static func singularValueDecomposition(rows m: Int, columns n: Int, a: UnsafeMutablePointer<Double>,
                                                  s: UnsafeMutablePointer<Double>, u: UnsafeMutablePointer<Double>,
                                                  vt: UnsafeMutablePointer<Double>) throws {
        let p = min(m, n)
        try check(LAPACKE_dgesdd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "S")), Int32(m), Int32(n), a, Int32(n),
                                 s, u, Int32(p), vt, Int32(n)), routine: "dgesdd")
    }

    /// The singular values alone (`gesdd`, jobz 'N'), descending; `a` (m×n row-major) is destroyed.
    public static func singularValues(rows m: Int, columns n: Int, a: UnsafeMutablePointer<Double>) throws -> [Double] {
        var s = [Double](repeating: 0, count: min(m, n))
        // U and Vᵀ are not referenced for 'N', but LAPACKE's row-major check
        // still wants their leading dimensions to fit a full row.
        var u = [Double](repeating: 0, count: 1), vt = [Double](repeating: 0, count: 1)
        try check(LAPACKE_dgesdd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int32(m), Int32(n), a, Int32(n),
                                 &s, &u, Int32(max(1, m)), &vt, Int32(max(1, n))), routine: "dgesdd")
        return s
    }

    /// The one check of the dense routines' info: negative is an illegal
    /// argument; positive, for the routines here, a convergence failure.
    private static func check(_ info: Int32, routine: String) throws {
        if info < 0 { throw LinalgError.illegalArgument(argument: Int(-info)) }
        if info > 0 { throw LinalgConvergenceError(routine: routine, info: Int(info)) }
    }
}

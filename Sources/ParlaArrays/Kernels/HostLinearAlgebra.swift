import ParlaDevices

/// BLAS and LAPACK operations on host memory, column-major as the libraries take them: OpenBLAS when
/// it loads at run time, else Parla's own kernels (the packed GEMM; ``ReferenceLinearAlgebra`` for the
/// rest). The CPU and virtual GPUs run NDArray's linear algebra through these.
enum HostLinearAlgebra {
    /// `C ← alpha · op(A) · op(B) + beta · C` (see ``DeviceKernels/gemm(transposeA:transposeB:m:n:k:alpha:a:b:beta:c:)``).
    static func gemm<T: NDFloatingElement>(
        transposeA: Bool,
        transposeB: Bool,
        m: Int,
        n: Int,
        k: Int,
        alpha: T,
        a: UnsafePointer<T>,
        lda: Int,
        b: UnsafePointer<T>,
        ldb: Int,
        beta: T,
        c: UnsafeMutablePointer<T>,
        ldc: Int
    ) {
        guard m > 0 && n > 0 else { return }
        guard k > 0 && alpha != 0 else {
            ReferenceLinearAlgebra.scale(c, rows: m, columns: n, ld: ldc, by: beta)
            return
        }
        // The column-major m×n C is the row-major n×m Cᵀ = op(B)ᵀ · op(A)ᵀ, which the row-major
        // product computes, reading op(B)ᵀ and op(A)ᵀ through their strides.
        func product(into target: UnsafeMutablePointer<T>, ld: Int) {
            T._gemm(
                _GEMMOperands(
                    m: n,
                    n: m,
                    k: k,
                    a: b,
                    aRow: transposeB ? 1 : ldb,
                    aColumn: transposeB ? ldb : 1,
                    b: a,
                    bRow: transposeA ? 1 : lda,
                    bColumn: transposeA ? lda : 1,
                    c: target,
                    ldc: ld
                )
            )
        }
        if alpha == 1 && beta == 0 {
            product(into: c, ld: ldc)
            return
        }
        let temporary = UnsafeMutablePointer<T>.allocate(capacity: m * n)
        defer { temporary.deallocate() }
        product(into: temporary, ld: m)
        for j in 0..<n {
            let column = c + j * ldc
            let computed = temporary + j * m
            if beta == 0 {
                for i in 0..<m { column[i] = alpha * computed[i] }
            } else {
                for i in 0..<m { column[i] = alpha * computed[i] + beta * column[i] }
            }
        }
    }

    /// `C ← alpha · op(A) · op(A)ᵀ + beta · C` on one triangle (BLAS `?syrk`).
    static func syrk<T: NDFloatingElement>(
        triangle: MatrixTriangle,
        transpose: Bool,
        n: Int,
        k: Int,
        alpha: T,
        a: UnsafePointer<T>,
        lda: Int,
        beta: T,
        c: UnsafeMutablePointer<T>,
        ldc: Int
    ) {
        guard n > 0 else { return }
        if let lapack = HostLAPACK.shared {
            let uplo = triangle == .lower ? HostLAPACK.lower : HostLAPACK.upper
            let trans = transpose ? HostLAPACK.transpose : HostLAPACK.noTranspose
            if let a = a as? UnsafePointer<Double>, let c = c as? UnsafeMutablePointer<Double> {
                lapack.dsyrk(
                    HostLAPACK.columnMajor,
                    uplo,
                    trans,
                    Int32(n),
                    Int32(k),
                    Double(alpha),
                    a,
                    Int32(lda),
                    Double(beta),
                    c,
                    Int32(ldc)
                )
                return
            }
            if let a = a as? UnsafePointer<Float>, let c = c as? UnsafeMutablePointer<Float> {
                lapack.ssyrk(
                    HostLAPACK.columnMajor,
                    uplo,
                    trans,
                    Int32(n),
                    Int32(k),
                    Float(alpha),
                    a,
                    Int32(lda),
                    Float(beta),
                    c,
                    Int32(ldc)
                )
                return
            }
        }
        blockedSYRK(
            triangle: triangle,
            transpose: transpose,
            n: n,
            k: k,
            alpha: alpha,
            a: a,
            lda: lda,
            beta: beta,
            c: c,
            ldc: ldc
        )
    }

    /// Solves a triangular system in place (BLAS `?trsm`).
    static func trsm<T: NDFloatingElement>(
        side: MatrixSide,
        triangle: MatrixTriangle,
        transposeA: Bool,
        unitDiagonal: Bool,
        m: Int,
        n: Int,
        alpha: T,
        a: UnsafePointer<T>,
        lda: Int,
        b: UnsafeMutablePointer<T>,
        ldb: Int
    ) {
        guard m > 0 && n > 0 else { return }
        if let lapack = HostLAPACK.shared {
            let sideFlag = side == .left ? HostLAPACK.left : HostLAPACK.right
            let uplo = triangle == .lower ? HostLAPACK.lower : HostLAPACK.upper
            let trans = transposeA ? HostLAPACK.transpose : HostLAPACK.noTranspose
            let diagonal = unitDiagonal ? HostLAPACK.unit : HostLAPACK.nonUnit
            if let a = a as? UnsafePointer<Double>, let b = b as? UnsafeMutablePointer<Double> {
                lapack.dtrsm(
                    HostLAPACK.columnMajor,
                    sideFlag,
                    uplo,
                    trans,
                    diagonal,
                    Int32(m),
                    Int32(n),
                    Double(alpha),
                    a,
                    Int32(lda),
                    b,
                    Int32(ldb)
                )
                return
            }
            if let a = a as? UnsafePointer<Float>, let b = b as? UnsafeMutablePointer<Float> {
                lapack.strsm(
                    HostLAPACK.columnMajor,
                    sideFlag,
                    uplo,
                    trans,
                    diagonal,
                    Int32(m),
                    Int32(n),
                    Float(alpha),
                    a,
                    Int32(lda),
                    b,
                    Int32(ldb)
                )
                return
            }
        }
        blockedTRSM(
            side: side,
            triangle: triangle,
            transposeA: transposeA,
            unitDiagonal: unitDiagonal,
            m: m,
            n: n,
            alpha: alpha,
            a: a,
            lda: lda,
            b: b,
            ldb: ldb
        )
    }

    /// Cholesky-factorizes in place; returns LAPACK's `info` (LAPACK `?potrf`).
    static func potrf<T: NDFloatingElement>(
        triangle: MatrixTriangle,
        n: Int,
        a: UnsafeMutablePointer<T>,
        lda: Int
    ) -> Int {
        guard n > 0 else { return 0 }
        if let lapack = HostLAPACK.shared {
            var uplo = CChar(UInt8(ascii: triangle == .lower ? "L" : "U"))
            var (order, leading, info) = (Int32(n), Int32(lda), Int32(0))
            if let a = a as? UnsafeMutablePointer<Double> {
                lapack.dpotrf(&uplo, &order, a, &leading, &info, 1)
                return Int(info)
            }
            if let a = a as? UnsafeMutablePointer<Float> {
                lapack.spotrf(&uplo, &order, a, &leading, &info, 1)
                return Int(info)
            }
        }
        return blockedPOTRF(triangle: triangle, n: n, a: a, lda: lda)
    }
}

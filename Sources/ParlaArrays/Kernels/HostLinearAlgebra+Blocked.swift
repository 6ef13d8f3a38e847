import ParlaDevices

/// Parla's own triangular solve, rank-k update and Cholesky factorization for the host when no BLAS
/// library loads: blocked, so that most of their work is the packed GEMM's (``HostLinearAlgebra/gemm``),
/// with ``ReferenceLinearAlgebra`` only on the small diagonal blocks. Column-major, as the libraries.
extension HostLinearAlgebra {
    /// The order of the diagonal blocks the plain loops handle.
    static let panel = 64

    /// `op(A)` from row `row` and column `column` on, as a GEMM operand: its pointer, leading dimension
    /// and transposition flag.
    @inline(__always)
    static func submatrix<T>(
        _ a: UnsafePointer<T>,
        lda: Int,
        transposed: Bool,
        row: Int,
        column: Int
    ) -> UnsafePointer<T> {
        transposed ? a + column + row * lda : a + row + column * lda
    }

    /// ``trsm(side:triangle:transposeA:unitDiagonal:m:n:alpha:a:lda:b:ldb:)`` in panels.
    static func blockedTRSM<T: NDFloatingElement>(
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
        ReferenceLinearAlgebra.scale(b, rows: m, columns: n, ld: ldb, by: alpha)
        // As the reference BLAS: with alpha 0, B is zero and A is not read.
        if alpha == 0 { return }
        // Whether op(A) is lower triangular; op(A)(r, c) is A(r, c), or A(c, r) when transposed.
        let lower = (triangle == .lower) != transposeA
        let order = side == .left ? m : n
        let starts = Array(stride(from: 0, to: order, by: panel))
        // Forward (op(A) lower on the left, upper on the right) or backward.
        let forward = (side == .left) == lower
        for start in forward ? starts : starts.reversed() {
            let size = Swift.min(panel, order - start)
            let diagonal = submatrix(a, lda: lda, transposed: transposeA, row: start, column: start)
            if side == .left {
                // X[start..] = op(A)[start, start]⁻¹ X[start..]; then the rows not solved yet lose
                // op(A)[rest, start] · X[start..].
                ReferenceLinearAlgebra.trsm(
                    side: .left,
                    triangle: triangle,
                    transposeA: transposeA,
                    unitDiagonal: unitDiagonal,
                    m: size,
                    n: n,
                    alpha: 1,
                    a: transposeA ? a + start + start * lda : diagonal,
                    lda: lda,
                    b: b + start,
                    ldb: ldb
                )
                let rest = forward ? (start + size)..<m : 0..<start
                guard !rest.isEmpty else { continue }
                gemm(
                    transposeA: transposeA,
                    transposeB: false,
                    m: rest.count,
                    n: n,
                    k: size,
                    alpha: -1,
                    a: submatrix(a, lda: lda, transposed: transposeA, row: rest.lowerBound, column: start),
                    lda: lda,
                    b: UnsafePointer(b + start),
                    ldb: ldb,
                    beta: 1,
                    c: b + rest.lowerBound,
                    ldc: ldb
                )
            } else {
                // X[.., start] = X[.., start] op(A)[start, start]⁻¹; then the columns not solved yet
                // lose X[.., start] · op(A)[start, rest].
                ReferenceLinearAlgebra.trsm(
                    side: .right,
                    triangle: triangle,
                    transposeA: transposeA,
                    unitDiagonal: unitDiagonal,
                    m: m,
                    n: size,
                    alpha: 1,
                    a: transposeA ? a + start + start * lda : diagonal,
                    lda: lda,
                    b: b + start * ldb,
                    ldb: ldb
                )
                let rest = forward ? (start + size)..<n : 0..<start
                guard !rest.isEmpty else { continue }
                gemm(
                    transposeA: false,
                    transposeB: transposeA,
                    m: m,
                    n: rest.count,
                    k: size,
                    alpha: -1,
                    a: UnsafePointer(b + start * ldb),
                    lda: ldb,
                    b: submatrix(a, lda: lda, transposed: transposeA, row: start, column: rest.lowerBound),
                    ldb: lda,
                    beta: 1,
                    c: b + rest.lowerBound * ldb,
                    ldc: ldb
                )
            }
        }
    }

    /// ``syrk(triangle:transpose:n:k:alpha:a:lda:beta:c:ldc:)`` through the GEMM: the whole product
    /// into a scratch matrix, then the triangle.
    static func blockedSYRK<T: NDFloatingElement>(
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
        let product = UnsafeMutablePointer<T>.allocate(capacity: n * n)
        defer { product.deallocate() }
        // op(A) · op(A)ᵀ, op(A) n×k.
        gemm(
            transposeA: transpose,
            transposeB: !transpose,
            m: n,
            n: n,
            k: k,
            alpha: alpha,
            a: a,
            lda: lda,
            b: a,
            ldb: lda,
            beta: 0,
            c: product,
            ldc: n
        )
        for j in 0..<n {
            for i in triangle == .lower ? j..<n : 0..<(j + 1) {
                let old = beta == 0 ? 0 : beta * c[i + j * ldc]
                c[i + j * ldc] = product[i + j * n] + old
            }
        }
    }

    /// ``potrf(triangle:n:a:lda:)`` right-looking in panels: each diagonal block factorized by the
    /// plain loops, the panel under (or beside) it solved, the trailing matrix updated.
    static func blockedPOTRF<T: NDFloatingElement>(
        triangle: MatrixTriangle,
        n: Int,
        a: UnsafeMutablePointer<T>,
        lda: Int
    ) -> Int {
        // The upper case is the lower one of the transpose: U(r, c) = L(c, r), op = transposed.
        let upper = triangle == .upper
        for start in stride(from: 0, to: n, by: panel) {
            let size = Swift.min(panel, n - start)
            let diagonal = a + start + start * lda
            let info = ReferenceLinearAlgebra.potrf(triangle: triangle, n: size, a: diagonal, lda: lda)
            if info != 0 { return start + info }
            let rest = n - start - size
            guard rest > 0 else { continue }
            // The panel: L[rest, start] = A[rest, start] · L[start, start]⁻ᵀ (lower), or
            // U[start, rest] = U[start, start]⁻ᵀ · A[start, rest] (upper).
            let panelPointer = upper ? a + start + (start + size) * lda : a + (start + size) + start * lda
            blockedTRSM(
                side: upper ? .left : .right,
                triangle: triangle,
                transposeA: true,
                unitDiagonal: false,
                m: upper ? size : rest,
                n: upper ? rest : size,
                alpha: 1,
                a: UnsafePointer(diagonal),
                lda: lda,
                b: panelPointer,
                ldb: lda
            )
            // The trailing matrix loses the panel's product with itself (its own triangle only).
            blockedSYRK(
                triangle: triangle,
                transpose: upper,
                n: rest,
                k: size,
                alpha: -1,
                a: UnsafePointer(panelPointer),
                lda: lda,
                beta: 1,
                c: a + (start + size) + (start + size) * lda,
                ldc: lda
            )
        }
        return 0
    }
}

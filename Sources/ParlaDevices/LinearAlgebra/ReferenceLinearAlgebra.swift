/// Column-major BLAS and LAPACK operations written out plainly: what the host runs when no BLAS
/// library loads (GEMM excepted: NDArray has a faster one), and what the simulated cuBLAS and cuSOLVER
/// compute. Each follows the reference BLAS's definition, including that `beta == 0` does not read
/// `C` and that `alpha == 0` does not read the other operands.
///
/// Element `(i, j)` of a matrix with leading dimension `ld` is at `i + j * ld`.
package enum ReferenceLinearAlgebra {
    /// `C ← alpha · op(A) · op(B) + beta · C`, `C` m×n, `op(A)` m×k, `op(B)` k×n. BLAS: `?gemm`.
    @inlinable
    package static func gemm<T: BinaryFloatingPoint>(
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
        for j in 0..<n {
            let column = c + j * ldc
            scale(column, rows: m, columns: 1, ld: ldc, by: beta)
            guard alpha != 0 else { continue }
            for l in 0..<k {
                let factor = alpha * (transposeB ? b[j + l * ldb] : b[l + j * ldb])
                if factor == 0 { continue }
                if transposeA {
                    for i in 0..<m { column[i] += factor * a[l + i * lda] }
                } else {
                    let aColumn = a + l * lda
                    for i in 0..<m { column[i] += factor * aColumn[i] }
                }
            }
        }
    }

    /// `C ← alpha · op(A) · op(A)ᵀ + beta · C` on the `triangle` of the n×n `C`; `op(A)` is n×k (`A`
    /// itself, or `Aᵀ` when `transpose`). BLAS: `?syrk`.
    @inlinable
    package static func syrk<T: BinaryFloatingPoint>(
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
        // op(A)(i, l)
        func element(_ i: Int, _ l: Int) -> T { transpose ? a[l + i * lda] : a[i + l * lda] }
        for j in 0..<n {
            let rows = triangle == .lower ? j..<n : 0..<(j + 1)
            for i in rows {
                var sum: T = 0
                if alpha != 0 { for l in 0..<k { sum += element(i, l) * element(j, l) } }
                let old = beta == 0 ? 0 : beta * c[i + j * ldc]
                c[i + j * ldc] = alpha * sum + old
            }
        }
    }

    /// Solves `op(A) · X = alpha · B` (`side == .left`, `A` m×m) or `X · op(A) = alpha · B` (`.right`,
    /// `A` n×n) for the m×n `X`, which overwrites `B`; `A` is triangular in `triangle`, with ones on the
    /// diagonal assumed (not read) when `unitDiagonal`. BLAS: `?trsm`.
    @inlinable
    package static func trsm<T: BinaryFloatingPoint>(
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
        if alpha == 0 {
            // As the reference BLAS: B becomes zero, A is not read.
            scale(b, rows: m, columns: n, ld: ldb, by: 0)
            return
        }
        // op(A)(i, l)
        func element(_ i: Int, _ l: Int) -> T { transposeA ? a[l + i * lda] : a[i + l * lda] }
        // Whether op(A) is lower triangular.
        let lower = (triangle == .lower) != transposeA
        if side == .left {
            // Each column of B: op(A) x = alpha b.
            for j in 0..<n {
                let x = b + j * ldb
                scale(x, rows: m, columns: 1, ld: ldb, by: alpha)
                let order = lower ? Array(0..<m) : Array((0..<m).reversed())
                for i in order {
                    var value = x[i]
                    let known = lower ? 0..<i : (i + 1)..<m
                    for l in known { value -= element(i, l) * x[l] }
                    x[i] = unitDiagonal ? value : value / element(i, i)
                }
            }
        } else {
            // Each row of B: x op(A) = alpha b, that is op(A)ᵀ xᵀ = alpha bᵀ, solved from the end
            // where op(A) is lower triangular.
            for row in 0..<m {
                for j in 0..<n { b[row + j * ldb] *= alpha }
                let order = lower ? Array((0..<n).reversed()) : Array(0..<n)
                for j in order {
                    var value = b[row + j * ldb]
                    let known = lower ? (j + 1)..<n : 0..<j
                    for l in known { value -= b[row + l * ldb] * element(l, j) }
                    b[row + j * ldb] = unitDiagonal ? value : value / element(j, j)
                }
            }
        }
    }

    /// Factorizes the n×n symmetric positive definite `A` in place: `A = L · Lᵀ` with `L` in the lower
    /// triangle, or `A = Uᵀ · U` with `U` in the upper one; the other triangle is not touched. Returns
    /// LAPACK's `info`: 0, or `i > 0` when the leading minor of order `i` is not positive definite
    /// (the factorization stops there). LAPACK: `?potrf`.
    @inlinable
    package static func potrf<T: BinaryFloatingPoint>(
        triangle: MatrixTriangle,
        n: Int,
        a: UnsafeMutablePointer<T>,
        lda: Int
    ) -> Int {
        // In the lower case L(i, j) is a[i + j * lda]; in the upper case U(j, i) is, with the same loops.
        func at(_ i: Int, _ j: Int) -> UnsafeMutablePointer<T> {
            triangle == .lower ? a + i + j * lda : a + j + i * lda
        }
        for j in 0..<n {
            var diagonal = at(j, j).pointee
            for l in 0..<j { diagonal -= at(j, l).pointee * at(j, l).pointee }
            guard diagonal > 0 else { return j + 1 }
            let root = diagonal.squareRoot()
            at(j, j).pointee = root
            for i in (j + 1)..<Swift.max(n, j + 1) {
                var value = at(i, j).pointee
                for l in 0..<j { value -= at(i, l).pointee * at(j, l).pointee }
                at(i, j).pointee = value / root
            }
        }
        return 0
    }

    /// `C *= factor` on a rows×columns block with leading dimension `ld`, writing zeros (not reading
    /// `C`) when `factor` is 0, as BLAS's `beta == 0` and `alpha == 0` do.
    @inlinable
    package static func scale<T: BinaryFloatingPoint>(
        _ c: UnsafeMutablePointer<T>,
        rows: Int,
        columns: Int,
        ld: Int,
        by factor: T
    ) {
        if factor == 1 { return }
        for j in 0..<columns {
            let column = c + j * ld
            if factor == 0 {
                column.update(repeating: 0, count: rows)
            } else {
                for i in 0..<rows { column[i] *= factor }
            }
        }
    }
}

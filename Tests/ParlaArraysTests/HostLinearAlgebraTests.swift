import Testing

@testable import ParlaArrays
@testable import ParlaDevices

/// The host's own blocked triangular solve, rank-k update and Cholesky factorization (what runs
/// without a BLAS library) agree with the plain loops, on matrices larger than their panels.
@Suite("host linear algebra in panels")
struct HostLinearAlgebraTests {
    /// A column-major n×n matrix with a dominant diagonal (well conditioned), junk far off it.
    static func matrix(_ rows: Int, _ columns: Int, seed: Int, diagonal: Double = 0) -> [Double] {
        var values = [Double](repeating: 0, count: rows * columns)
        for j in 0..<columns {
            for i in 0..<rows {
                values[i + j * rows] = Double((i * 13 + j * 7 + seed) % 17) / 8 - 1 + (i == j ? diagonal : 0)
            }
        }
        return values
    }

    static func expectClose(_ a: [Double], _ b: [Double], _ what: String) {
        let worst = zip(a, b).map { Swift.abs($0 - $1) / Swift.max(1, Swift.abs($1)) }.max() ?? 0
        #expect(worst < 1e-9, "\(what): differs by \(worst)")
    }

    @Test(
        "the blocked triangular solve matches the plain one",
        arguments: MatrixSide.allCases,
        MatrixTriangle.allCases
    )
    func triangularSolve(side: MatrixSide, triangle: MatrixTriangle) {
        let (m, n) = (150, 131)
        let order = side == .left ? m : n
        let a = Self.matrix(order, order, seed: 1, diagonal: 40)
        for (transpose, unit) in [(false, false), (true, false), (false, true), (true, true)] {
            var blocked = Self.matrix(m, n, seed: 2)
            var plain = blocked
            a.withUnsafeBufferPointer { a in
                blocked.withUnsafeMutableBufferPointer { b in
                    HostLinearAlgebra.blockedTRSM(
                        side: side,
                        triangle: triangle,
                        transposeA: transpose,
                        unitDiagonal: unit,
                        m: m,
                        n: n,
                        alpha: 1.5,
                        a: a.baseAddress!,
                        lda: order,
                        b: b.baseAddress!,
                        ldb: m
                    )
                }
                plain.withUnsafeMutableBufferPointer { b in
                    ReferenceLinearAlgebra.trsm(
                        side: side,
                        triangle: triangle,
                        transposeA: transpose,
                        unitDiagonal: unit,
                        m: m,
                        n: n,
                        alpha: 1.5,
                        a: a.baseAddress!,
                        lda: order,
                        b: b.baseAddress!,
                        ldb: m
                    )
                }
            }
            Self.expectClose(blocked, plain, "TRSM \(side) \(triangle) transpose \(transpose) unit \(unit)")
        }
    }

    @Test("the rank-k update through the GEMM matches the plain one", arguments: MatrixTriangle.allCases)
    func rankKUpdate(triangle: MatrixTriangle) {
        let (n, k) = (137, 70)
        for transpose in [false, true] {
            let a = Self.matrix(transpose ? k : n, transpose ? n : k, seed: 3)
            var blocked = Self.matrix(n, n, seed: 4)
            var plain = blocked
            let lda = transpose ? k : n
            a.withUnsafeBufferPointer { a in
                blocked.withUnsafeMutableBufferPointer { c in
                    HostLinearAlgebra.blockedSYRK(
                        triangle: triangle,
                        transpose: transpose,
                        n: n,
                        k: k,
                        alpha: -0.5,
                        a: a.baseAddress!,
                        lda: lda,
                        beta: 2,
                        c: c.baseAddress!,
                        ldc: n
                    )
                }
                plain.withUnsafeMutableBufferPointer { c in
                    ReferenceLinearAlgebra.syrk(
                        triangle: triangle,
                        transpose: transpose,
                        n: n,
                        k: k,
                        alpha: -0.5,
                        a: a.baseAddress!,
                        lda: lda,
                        beta: 2,
                        c: c.baseAddress!,
                        ldc: n
                    )
                }
            }
            Self.expectClose(blocked, plain, "SYRK \(triangle) transpose \(transpose)")
        }
    }

    @Test("the blocked Cholesky factorization matches the plain one", arguments: MatrixTriangle.allCases)
    func cholesky(triangle: MatrixTriangle) {
        let n = 203
        let m = Self.matrix(n, n, seed: 5)
        // M·Mᵀ + n·I: symmetric positive definite.
        var spd = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            for i in 0..<n {
                var sum = i == j ? Double(n) : 0
                for l in 0..<n { sum += m[i + l * n] * m[j + l * n] }
                spd[i + j * n] = sum
            }
        }
        var blocked = spd
        var plain = spd
        let blockedInfo = blocked.withUnsafeMutableBufferPointer {
            HostLinearAlgebra.blockedPOTRF(triangle: triangle, n: n, a: $0.baseAddress!, lda: n)
        }
        let plainInfo = plain.withUnsafeMutableBufferPointer {
            ReferenceLinearAlgebra.potrf(triangle: triangle, n: n, a: $0.baseAddress!, lda: n)
        }
        #expect(blockedInfo == 0 && plainInfo == 0)
        Self.expectClose(blocked, plain, "POTRF \(triangle)")
        // Not positive definite from order 100 on: both stop there.
        var broken = spd
        broken[99 + 99 * n] = -1
        let info = broken.withUnsafeMutableBufferPointer {
            HostLinearAlgebra.blockedPOTRF(triangle: triangle, n: n, a: $0.baseAddress!, lda: n)
        }
        #expect(info == 100)
    }
}

import ParlaArrays
import ParlaDevices

/// NDArray's in-place linear algebra on a PArray region, on the current device's copy: inside a task,
/// the task's device, where the task declared the region in `output` or `inOut`; outside tasks, the
/// CPU. The copy is written in place, as a PArray assignment is.
extension PArray where Element: NDFloatingElement {
    /// `region ← alpha · op(a) · op(b) + beta · region` (BLAS `?gemm`; see
    /// `NDArray.multiplyAdd(_:_:alpha:beta:transposeA:transposeB:)`). Parla (Python) equivalent:
    /// `C[:] = C - A @ B.T` on the task's CuPy arrays.
    public func multiplyAdd(
        _ a: NDArray<Element>,
        _ b: NDArray<Element>,
        alpha: Element = 1,
        beta: Element = 1,
        transposeA: Bool = false,
        transposeB: Bool = false
    ) {
        let (a, b) = (self.onCurrentDevice(a), self.onCurrentDevice(b))
        self.modifyInPlace("writes (multiplyAdd)") { buffer, components in
            buffer.updateRegion(components) {
                $0.writeMultiplyAdd(a, b, alpha: alpha, beta: beta, transposeA: transposeA, transposeB: transposeB)
            }
        }
    }

    /// `region ← alpha · op(a) · op(a)ᵀ + beta · region` on one triangle (BLAS `?syrk`; see
    /// `NDArray.rankKUpdate(_:alpha:beta:transpose:triangle:)`).
    public func rankKUpdate(
        _ a: NDArray<Element>,
        alpha: Element = 1,
        beta: Element = 1,
        transpose: Bool = false,
        triangle: MatrixTriangle = .lower
    ) {
        let a = self.onCurrentDevice(a)
        self.modifyInPlace("writes (rankKUpdate)") { buffer, components in
            buffer.updateRegion(components) {
                $0.writeRankKUpdate(a, alpha: alpha, beta: beta, transpose: transpose, triangle: triangle)
            }
        }
    }

    /// Solves a triangular system in place, the region being the right-hand side (BLAS `?trsm`; see
    /// `NDArray.solveTriangular(_:side:triangle:transposeA:unitDiagonal:alpha:)`).
    public func solveTriangular(
        _ a: NDArray<Element>,
        side: MatrixSide = .left,
        triangle: MatrixTriangle = .lower,
        transposeA: Bool = false,
        unitDiagonal: Bool = false,
        alpha: Element = 1
    ) {
        let a = self.onCurrentDevice(a)
        self.modifyInPlace("writes (solveTriangular)") { buffer, components in
            buffer.updateRegion(components) {
                $0.writeTriangularSolution(
                    a,
                    side: side,
                    triangle: triangle,
                    transposeA: transposeA,
                    unitDiagonal: unitDiagonal,
                    alpha: alpha
                )
            }
        }
    }

    /// Cholesky-factorizes the region in place (LAPACK `?potrf`; see
    /// `NDArray.choleskyFactorize(triangle:)`). Inside a task on a GPU, a matrix that is not positive
    /// definite fails the task once the device has run the factorization.
    ///
    /// - Throws: `LinearAlgebraError.notPositiveDefinite` when the outcome is
    ///   known at once (on the host, or outside tasks).
    public func choleskyFactorize(triangle: MatrixTriangle = .lower) throws(LinearAlgebraError) {
        var failure: LinearAlgebraError? = nil
        self.modifyInPlace("writes (choleskyFactorize)") { buffer, components in
            buffer.updateRegion(components) { failure = $0.writeCholeskyFactor(triangle: triangle) }
        }
        if let failure { throw failure }
    }

    /// `array`, on the device this region is written on (moved there when the program passed an array
    /// of another device).
    private func onCurrentDevice(_ array: NDArray<Element>) -> NDArray<Element> {
        array.to(Device.taskDevice ?? .cpu)
    }
}

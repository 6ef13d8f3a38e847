import ParlaDevices

/// BLAS and LAPACK on NDArray: in-place updates of a matrix, run by cuBLAS and cuSOLVER on CUDA GPUs
/// and by OpenBLAS (or Parla's own kernels) on the host. Row-major arrays are handed to the
/// column-major libraries as the matrices of their transposes, with the operation rewritten by the
/// transposition identities, so that no operand is copied (unless it has no stride of 1).
extension NDArray where Element: NDFloatingElement {
    /// `self ← alpha · op(a) · op(b) + beta · self`, in place, where `op(x)` is `x` or, with its
    /// transpose flag, `xᵀ`; with `beta == 0` the old contents are not read. BLAS: `?gemm`; cuBLAS:
    /// `cublasDgemm`. Parla (Python) equivalent: `c[:] = alpha * a @ b + beta * c` with CuPy.
    ///
    /// - Precondition: the three arrays are 2-D, on one device, and their shapes agree: `self` is m×n,
    ///   `op(a)` m×k and `op(b)` k×n.
    public mutating func multiplyAdd(
        _ a: NDArray,
        _ b: NDArray,
        alpha: Element = 1,
        beta: Element = 1,
        transposeA: Bool = false,
        transposeB: Bool = false
    ) {
        self.updateRegion([]) {
            $0.writeMultiplyAdd(a, b, alpha: alpha, beta: beta, transposeA: transposeA, transposeB: transposeB)
        }
    }

    /// `self ← alpha · op(a) · op(a)ᵀ + beta · self` on `triangle` of the square `self` (the other
    /// triangle is not touched), where `op(a)` is `a` or, when `transpose`, `aᵀ`. BLAS: `?syrk`;
    /// cuBLAS: `cublasDsyrk`.
    ///
    /// - Precondition: both arrays are 2-D and on one device; `self` is n×n and `op(a)` n×k.
    public mutating func rankKUpdate(
        _ a: NDArray,
        alpha: Element = 1,
        beta: Element = 1,
        transpose: Bool = false,
        triangle: MatrixTriangle = .lower
    ) {
        self.updateRegion([]) {
            $0.writeRankKUpdate(a, alpha: alpha, beta: beta, transpose: transpose, triangle: triangle)
        }
    }

    /// Solves a triangular system in place: `self ← X` where `op(a) · X = alpha · self` (side
    /// `.left`) or `X · op(a) = alpha · self` (`.right`); `a` is triangular in `triangle` (the other is
    /// not read), with ones taken on its diagonal when `unitDiagonal`. BLAS: `?trsm`; cuBLAS:
    /// `cublasDtrsm`; SciPy: `scipy.linalg.solve_triangular`.
    ///
    /// - Precondition: both arrays are 2-D and on one device; `self` is m×n and `a` is m×m (left) or
    ///   n×n (right).
    public mutating func solveTriangular(
        _ a: NDArray,
        side: MatrixSide = .left,
        triangle: MatrixTriangle = .lower,
        transposeA: Bool = false,
        unitDiagonal: Bool = false,
        alpha: Element = 1
    ) {
        self.updateRegion([]) {
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

    /// Factorizes the symmetric positive definite matrix in place: `self = L · Lᵀ` with `L` written
    /// into the lower triangle (or `Uᵀ · U` into the upper one); the other triangle is not touched.
    /// LAPACK: `?potrf`; cuSOLVER: `cusolverDnDpotrf`; NumPy: `np.linalg.cholesky` (which returns `L`).
    ///
    /// On the host the outcome is known at once. On a GPU inside a task, the call returns once the
    /// factorization is queued, and a matrix that is not positive definite fails the task with this
    /// error when the device has run it; outside tasks the call waits for the device.
    ///
    /// - Throws: ``LinearAlgebraError/notPositiveDefinite(order:minor:device:)``.
    /// - Precondition: the array is square and 2-D.
    public mutating func choleskyFactorize(triangle: MatrixTriangle = .lower) throws(LinearAlgebraError) {
        var failure: LinearAlgebraError? = nil
        self.updateRegion([]) { failure = $0.writeCholeskyFactor(triangle: triangle) }
        if let failure { throw failure }
    }
}

// MARK: The operations on a target whose storage may be written

/// Each writes into the array's storage as it is (no copy-on-write): the caller made the storage its
/// own (``NDArray/updateRegion(_:_:)``) and passes a view of it.
extension NDArray where Element: NDFloatingElement {
    /// Stops unless `array` is a matrix on this array's device.
    private func checkMatrix(_ array: NDArray, _ role: String, _ operation: String) {
        parlaPrecondition(
            array.ndim == 2,
            "\(operation): \(role) must be a 2-D matrix, but has shape \(array.shape)"
        )
        _checkSameDevice(self.device, array.device)
    }

    /// The transposed shape when `flag` is set.
    private static func shape(of array: NDArray, transposed flag: Bool) -> (Int, Int) {
        flag ? (array.shape[1], array.shape[0]) : (array.shape[0], array.shape[1])
    }

    package mutating func writeMultiplyAdd(
        _ a: NDArray,
        _ b: NDArray,
        alpha: Element,
        beta: Element,
        transposeA: Bool,
        transposeB: Bool
    ) {
        let operation = "multiplyAdd (GEMM)"
        self.checkMatrix(self, "the result", operation)
        self.checkMatrix(a, "a", operation)
        self.checkMatrix(b, "b", operation)
        let (m, n) = (self.shape[0], self.shape[1])
        let (am, k) = Self.shape(of: a, transposed: transposeA)
        let (bk, bn) = Self.shape(of: b, transposed: transposeB)
        parlaPrecondition(
            am == m && bn == n && bk == k,
            "\(operation): shapes do not agree: the result is \(m)×\(n), op(a) is \(am)×\(k) and op(b) is \(bk)×\(bn)"
        )
        let (aArray, aMatrix) = a._columnMajorInput()
        let (bArray, bMatrix) = b._columnMajorInput()
        self._writingColumnMajor { c, cMatrix in
            // C = op(A) op(B) with C = P_C, or Cᵀ = op(B)ᵀ op(A)ᵀ with C = P_Cᵀ; op(X) of X = P_X or P_Xᵀ
            // is P_X transposed or not (the flags compose by exclusive or).
            let aFlip = transposeA != aMatrix.isTransposed
            let bFlip = transposeB != bMatrix.isTransposed
            let swapped = cMatrix.isTransposed
            let (first, firstMatrix, firstFlag) = swapped ? (bArray, bMatrix, !bFlip) : (aArray, aMatrix, aFlip)
            let (second, secondMatrix, secondFlag) = swapped ? (aArray, aMatrix, !aFlip) : (bArray, bMatrix, bFlip)
            let (rows, columns) = swapped ? (n, m) : (m, n)
            if let kernels = c._deviceKernels {
                c._onDevice("GEMM") { () throws(DeviceError) in
                    try kernels.gemm(
                        transposeA: firstFlag,
                        transposeB: secondFlag,
                        m: rows,
                        n: columns,
                        k: k,
                        alpha: Double(alpha),
                        a: firstMatrix.operand(of: first),
                        b: secondMatrix.operand(of: second),
                        beta: Double(beta),
                        c: cMatrix.operand(of: c)
                    )
                }
                return
            }
            guard !c._skipsHostWork else { return }
            HostLinearAlgebra.gemm(
                transposeA: firstFlag,
                transposeB: secondFlag,
                m: rows,
                n: columns,
                k: k,
                alpha: alpha,
                a: first._storage.base + firstMatrix.offset,
                lda: firstMatrix.leadingDimension,
                b: second._storage.base + secondMatrix.offset,
                ldb: secondMatrix.leadingDimension,
                beta: beta,
                c: c._storage.base + cMatrix.offset,
                ldc: cMatrix.leadingDimension
            )
            withExtendedLifetime((first, second)) {}
        }
    }

    package mutating func writeRankKUpdate(
        _ a: NDArray,
        alpha: Element,
        beta: Element,
        transpose: Bool,
        triangle: MatrixTriangle
    ) {
        let operation = "rankKUpdate (SYRK)"
        self.checkMatrix(self, "the result", operation)
        self.checkMatrix(a, "a", operation)
        let n = self.shape[0]
        let (an, k) = Self.shape(of: a, transposed: transpose)
        parlaPrecondition(
            self.shape[1] == n && an == n,
            "\(operation): shapes do not agree: the result is \(self.shape[0])×\(self.shape[1]) (it must be square) and op(a) is \(an)×\(k)"
        )
        let (aArray, aMatrix) = a._columnMajorInput()
        self._writingColumnMajor { c, cMatrix in
            // op(A) = P_A or P_Aᵀ; C's stored triangle is the other one in P_C when C = P_Cᵀ.
            let flag = transpose != aMatrix.isTransposed
            let stored = cMatrix.isTransposed ? triangle.flipped : triangle
            if let kernels = c._deviceKernels {
                c._onDevice("SYRK") { () throws(DeviceError) in
                    try kernels.syrk(
                        triangle: stored,
                        transpose: flag,
                        n: n,
                        k: k,
                        alpha: Double(alpha),
                        a: aMatrix.operand(of: aArray),
                        beta: Double(beta),
                        c: cMatrix.operand(of: c)
                    )
                }
                return
            }
            guard !c._skipsHostWork else { return }
            HostLinearAlgebra.syrk(
                triangle: stored,
                transpose: flag,
                n: n,
                k: k,
                alpha: alpha,
                a: aArray._storage.base + aMatrix.offset,
                lda: aMatrix.leadingDimension,
                beta: beta,
                c: c._storage.base + cMatrix.offset,
                ldc: cMatrix.leadingDimension
            )
            withExtendedLifetime(aArray) {}
        }
    }

    package mutating func writeTriangularSolution(
        _ a: NDArray,
        side: MatrixSide,
        triangle: MatrixTriangle,
        transposeA: Bool,
        unitDiagonal: Bool,
        alpha: Element
    ) {
        let operation = "solveTriangular (TRSM)"
        self.checkMatrix(self, "the right-hand side", operation)
        self.checkMatrix(a, "a", operation)
        let (m, n) = (self.shape[0], self.shape[1])
        let order = side == .left ? m : n
        parlaPrecondition(
            a.shape == [order, order],
            "\(operation): a must be \(order)×\(order) to stand on the \(side) of a \(m)×\(n) right-hand side, but is \(a.shape[0])×\(a.shape[1])"
        )
        let (aArray, aMatrix) = a._columnMajorInput()
        self._writingColumnMajor { b, bMatrix in
            // A = P_A or P_Aᵀ: its triangle in P_A flips with it. With B = P_Bᵀ the equation is
            // transposed: the side flips, and op(A)ᵀ is P_A transposed or not the other way.
            let stored = aMatrix.isTransposed ? triangle.flipped : triangle
            let flag = (transposeA != aMatrix.isTransposed) != bMatrix.isTransposed
            let effectiveSide = bMatrix.isTransposed ? side.flipped : side
            let (rows, columns) = bMatrix.isTransposed ? (n, m) : (m, n)
            if let kernels = b._deviceKernels {
                b._onDevice("TRSM") { () throws(DeviceError) in
                    try kernels.trsm(
                        side: effectiveSide,
                        triangle: stored,
                        transposeA: flag,
                        unitDiagonal: unitDiagonal,
                        m: rows,
                        n: columns,
                        alpha: Double(alpha),
                        a: aMatrix.operand(of: aArray),
                        b: bMatrix.operand(of: b)
                    )
                }
                return
            }
            guard !b._skipsHostWork else { return }
            HostLinearAlgebra.trsm(
                side: effectiveSide,
                triangle: stored,
                transposeA: flag,
                unitDiagonal: unitDiagonal,
                m: rows,
                n: columns,
                alpha: alpha,
                a: aArray._storage.base + aMatrix.offset,
                lda: aMatrix.leadingDimension,
                b: b._storage.base + bMatrix.offset,
                ldb: bMatrix.leadingDimension
            )
            withExtendedLifetime(aArray) {}
        }
    }

    /// Factorizes in place; returns the failure when it is known now (on the host, or on a GPU
    /// outside tasks); inside a task on a GPU, a failure found later fails the task.
    package mutating func writeCholeskyFactor(triangle: MatrixTriangle) -> LinearAlgebraError? {
        let operation = "choleskyFactorize (POTRF)"
        self.checkMatrix(self, "the matrix", operation)
        let n = self.shape[0]
        parlaPrecondition(
            self.shape[1] == n,
            "\(operation): the matrix must be square, but is \(self.shape[0])×\(self.shape[1])"
        )
        let device = self.device
        var failure: LinearAlgebraError? = nil
        self._writingColumnMajor { a, aMatrix in
            // A is symmetric, so A = P_A either way; the factor's triangle flips with the layout.
            let stored = aMatrix.isTransposed ? triangle.flipped : triangle
            let outcome: @Sendable (Int) -> LinearAlgebraError? = { info in
                info == 0 ? nil : .notPositiveDefinite(order: n, minor: info, device: device)
            }
            if let kernels = a._deviceKernels {
                a._onDevice("Cholesky factorization (POTRF)") { () throws(DeviceError) in
                    let status = try kernels.potrf(triangle: stored, n: n, a: aMatrix.operand(of: a))
                    if let task = RunningTask.sink {
                        task.checkAfterDeviceWork { () -> (any Error)? in
                            do throws(DeviceError) { return outcome(try status.wait()) } catch { return error }
                        }
                    } else {
                        failure = outcome(try status.wait())
                    }
                }
                return
            }
            guard !a._skipsHostWork else { return }
            failure = outcome(
                HostLinearAlgebra.potrf(
                    triangle: stored,
                    n: n,
                    a: a._storage.base + aMatrix.offset,
                    lda: aMatrix.leadingDimension
                )
            )
        }
        return failure
    }

    /// Whether host work is to be skipped: inside a task whose device work has already failed (its
    /// arrays may hold no data).
    var _skipsHostWork: Bool { RunningTask.sink?.hasRecordedDeviceFailure ?? false }
}

import CCUDADriver

/// The simulated cuBLAS (see `SimulatedCUDA+Libraries.swift` for its rules).
extension SimulatedCUDA {
    static let cublasEntryPoints = CUBLASEntryPoints(
        create: { createLibraryHandle($0, notInitialized: LibraryStatus.cublasNotInitialized) },
        destroy: { destroyLibraryHandle($0) },
        setStream: { handle, stream in
            libraryCall { () throws(LibraryRefusal) in
                try libraryHandle(handle, invalid: LibraryStatus.cublasNotInitialized).stream.withLock {
                    $0 = UInt(bitPattern: stream)
                }
            }
        },
        sgemm: { simulatedGEMM($0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) },
        dgemm: { simulatedGEMM($0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) },
        ssyrk: { simulatedSYRK($0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) },
        dsyrk: { simulatedSYRK($0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) },
        strsm: { simulatedTRSM($0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) },
        dtrsm: { simulatedTRSM($0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) },
        path: "simulated cuBLAS"
    )

    /// A cuBLAS operation or triangle flag: 0 or 1.
    private static func flag(_ value: Int32) throws(LibraryRefusal) -> Bool {
        guard value == 0 || value == 1 else { throw LibraryRefusal(status: LibraryStatus.cublasInvalidValue) }
        return value == 1
    }

    private static func blasMatrices<T: Sendable>(
        _ handle: OpaquePointer?,
        _ matrices: [(UnsafeMutablePointer<T>?, rows: Int, columns: Int, leadingDimension: Int)]
    ) throws(LibraryRefusal) -> (Stream, [LibraryMatrix<T>]) {
        try resolve(
            try libraryHandle(handle, invalid: LibraryStatus.cublasNotInitialized),
            matrices: matrices,
            invalidValue: LibraryStatus.cublasInvalidValue,
            executionFailed: LibraryStatus.cublasExecutionFailed
        )
    }

    static func simulatedGEMM<T: BinaryFloatingPoint & Sendable>(
        _ handle: OpaquePointer?,
        _ transa: Int32,
        _ transb: Int32,
        _ m: Int32,
        _ n: Int32,
        _ k: Int32,
        _ alpha: UnsafePointer<T>?,
        _ a: UnsafePointer<T>?,
        _ lda: Int32,
        _ b: UnsafePointer<T>?,
        _ ldb: Int32,
        _ beta: UnsafePointer<T>?,
        _ c: UnsafeMutablePointer<T>?,
        _ ldc: Int32
    ) -> Int32 {
        libraryCall { () throws(LibraryRefusal) in
            let (transposeA, transposeB) = (try flag(transa), try flag(transb))
            let (m, n, k) = (Int(m), Int(n), Int(k))
            guard m >= 0, n >= 0, k >= 0, let alpha, let beta else {
                throw LibraryRefusal(status: LibraryStatus.cublasInvalidValue)
            }
            let (alphaValue, betaValue) = (alpha.pointee, beta.pointee)
            let (queue, matrices) = try blasMatrices(
                handle,
                [
                    (UnsafeMutablePointer(mutating: a), transposeA ? k : m, transposeA ? m : k, Int(lda)),
                    (UnsafeMutablePointer(mutating: b), transposeB ? n : k, transposeB ? k : n, Int(ldb)),
                    (c, m, n, Int(ldc)),
                ]
            )
            queue.enqueue {
                ReferenceLinearAlgebra.gemm(
                    transposeA: transposeA,
                    transposeB: transposeB,
                    m: m,
                    n: n,
                    k: k,
                    alpha: alphaValue,
                    a: matrices[0].pointer,
                    lda: matrices[0].leadingDimension,
                    b: matrices[1].pointer,
                    ldb: matrices[1].leadingDimension,
                    beta: betaValue,
                    c: matrices[2].pointer,
                    ldc: matrices[2].leadingDimension
                )
            }
        }
    }

    static func simulatedSYRK<T: BinaryFloatingPoint & Sendable>(
        _ handle: OpaquePointer?,
        _ uplo: Int32,
        _ trans: Int32,
        _ n: Int32,
        _ k: Int32,
        _ alpha: UnsafePointer<T>?,
        _ a: UnsafePointer<T>?,
        _ lda: Int32,
        _ beta: UnsafePointer<T>?,
        _ c: UnsafeMutablePointer<T>?,
        _ ldc: Int32
    ) -> Int32 {
        libraryCall { () throws(LibraryRefusal) in
            let upper = try flag(uplo)
            let transpose = try flag(trans)
            let (n, k) = (Int(n), Int(k))
            guard n >= 0, k >= 0, let alpha, let beta else {
                throw LibraryRefusal(status: LibraryStatus.cublasInvalidValue)
            }
            let (alphaValue, betaValue) = (alpha.pointee, beta.pointee)
            let (queue, matrices) = try blasMatrices(
                handle,
                [
                    (UnsafeMutablePointer(mutating: a), transpose ? k : n, transpose ? n : k, Int(lda)),
                    (c, n, n, Int(ldc)),
                ]
            )
            queue.enqueue {
                ReferenceLinearAlgebra.syrk(
                    triangle: upper ? .upper : .lower,
                    transpose: transpose,
                    n: n,
                    k: k,
                    alpha: alphaValue,
                    a: matrices[0].pointer,
                    lda: matrices[0].leadingDimension,
                    beta: betaValue,
                    c: matrices[1].pointer,
                    ldc: matrices[1].leadingDimension
                )
            }
        }
    }

    static func simulatedTRSM<T: BinaryFloatingPoint & Sendable>(
        _ handle: OpaquePointer?,
        _ side: Int32,
        _ uplo: Int32,
        _ trans: Int32,
        _ diag: Int32,
        _ m: Int32,
        _ n: Int32,
        _ alpha: UnsafePointer<T>?,
        _ a: UnsafePointer<T>?,
        _ lda: Int32,
        _ b: UnsafeMutablePointer<T>?,
        _ ldb: Int32
    ) -> Int32 {
        libraryCall { () throws(LibraryRefusal) in
            let (right, upper) = (try flag(side), try flag(uplo))
            let (transpose, unit) = (try flag(trans), try flag(diag))
            let (m, n) = (Int(m), Int(n))
            guard m >= 0, n >= 0, let alpha else { throw LibraryRefusal(status: LibraryStatus.cublasInvalidValue) }
            let alphaValue = alpha.pointee
            let order = right ? n : m
            let (queue, matrices) = try blasMatrices(
                handle,
                [(UnsafeMutablePointer(mutating: a), order, order, Int(lda)), (b, m, n, Int(ldb))]
            )
            queue.enqueue {
                ReferenceLinearAlgebra.trsm(
                    side: right ? .right : .left,
                    triangle: upper ? .upper : .lower,
                    transposeA: transpose,
                    unitDiagonal: unit,
                    m: m,
                    n: n,
                    alpha: alphaValue,
                    a: matrices[0].pointer,
                    lda: matrices[0].leadingDimension,
                    b: matrices[1].pointer,
                    ldb: matrices[1].leadingDimension
                )
            }
        }
    }
}

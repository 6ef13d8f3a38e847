import CCUDADriver

/// The simulated cuSOLVER (see `SimulatedCUDA+Libraries.swift` for its rules).
extension SimulatedCUDA {
    static let cusolverEntryPoints = CUSOLVEREntryPoints(
        create: { createLibraryHandle($0, notInitialized: LibraryStatus.cusolverNotInitialized) },
        destroy: { destroyLibraryHandle($0) },
        setStream: { handle, stream in
            libraryCall { () throws(LibraryRefusal) in
                try libraryHandle(handle, invalid: LibraryStatus.cusolverNotInitialized).stream.withLock {
                    $0 = UInt(bitPattern: stream)
                }
            }
        },
        spotrfBufferSize: { simulatedPotrfBufferSize($0, $1, $2, $3, $4, $5) },
        dpotrfBufferSize: { simulatedPotrfBufferSize($0, $1, $2, $3, $4, $5) },
        spotrf: { simulatedPotrf($0, $1, $2, $3, $4, $5, $6, $7) },
        dpotrf: { simulatedPotrf($0, $1, $2, $3, $4, $5, $6, $7) },
        path: "simulated cuSOLVER"
    )

    /// The workspace the simulated factorization asks for, in elements (it uses none, but checks that
    /// the program passes what it was told).
    static func potrfWorkspace(_ n: Int) -> Int { Swift.max(1, n) }

    static func simulatedPotrfBufferSize<T: Sendable>(
        _ handle: OpaquePointer?,
        _ uplo: Int32,
        _ n: Int32,
        _ a: UnsafeMutablePointer<T>?,
        _ lda: Int32,
        _ size: UnsafeMutablePointer<Int32>?
    ) -> Int32 {
        libraryCall { () throws(LibraryRefusal) in
            _ = try libraryHandle(handle, invalid: LibraryStatus.cusolverNotInitialized)
            guard uplo == 0 || uplo == 1, n >= 0, lda >= Swift.max(1, n), let size else {
                throw LibraryRefusal(status: LibraryStatus.cusolverInvalidValue)
            }
            size.pointee = Int32(potrfWorkspace(Int(n)))
        }
    }

    static func simulatedPotrf<T: BinaryFloatingPoint & Sendable>(
        _ handle: OpaquePointer?,
        _ uplo: Int32,
        _ n: Int32,
        _ a: UnsafeMutablePointer<T>?,
        _ lda: Int32,
        _ workspace: UnsafeMutablePointer<T>?,
        _ workspaceElements: Int32,
        _ info: UnsafeMutablePointer<Int32>?
    ) -> Int32 {
        libraryCall { () throws(LibraryRefusal) in
            let n = Int(n)
            guard uplo == 0 || uplo == 1, n >= 0, Int(workspaceElements) >= potrfWorkspace(n) else {
                throw LibraryRefusal(status: LibraryStatus.cusolverInvalidValue)
            }
            let owner = try libraryHandle(handle, invalid: LibraryStatus.cusolverNotInitialized)
            let (queue, matrices) = try resolve(
                owner,
                matrices: [(a, n, n, Int(lda)), (workspace, Int(workspaceElements), 1, Int(workspaceElements))],
                invalidValue: LibraryStatus.cusolverInvalidValue,
                executionFailed: LibraryStatus.cusolverExecutionFailed
            )
            let (_, status) = try resolve(
                owner,
                matrices: [(info, 1, 1, 1)],
                invalidValue: LibraryStatus.cusolverInvalidValue,
                executionFailed: LibraryStatus.cusolverExecutionFailed
            )
            let triangle: MatrixTriangle = uplo == 1 ? .upper : .lower
            queue.enqueue {
                let result = ReferenceLinearAlgebra.potrf(
                    triangle: triangle,
                    n: n,
                    a: matrices[0].pointer,
                    lda: matrices[0].leadingDimension
                )
                status[0].pointer.pointee = Int32(result)
            }
        }
    }
}

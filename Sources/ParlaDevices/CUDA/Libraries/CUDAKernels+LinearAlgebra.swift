import CCUDADriver

/// NDArray's linear algebra on a CUDA GPU: cuBLAS and cuSOLVER calls queued on the compute stream.
extension CUDAKernels {
    public var hasBLAS: Bool { (try? self.gpu.cublas()) != nil }

    public func gemm(
        transposeA: Bool,
        transposeB: Bool,
        m: Int,
        n: Int,
        k: Int,
        alpha: Double,
        a: MatrixOperand,
        b: MatrixOperand,
        beta: Double,
        c: MatrixOperand
    ) throws(DeviceError) {
        let (blas, handle) = try self.gpu.cublas()
        try self.gpu.makeCurrent()
        let (opA, opB) = (Self.operation(transposeA), Self.operation(transposeB))
        let (m32, n32, k32) = (Self.int32(m), Self.int32(n), Self.int32(k))
        let (lda, ldb, ldc) = (
            Self.int32(a.leadingDimension), Self.int32(b.leadingDimension), Self.int32(c.leadingDimension)
        )
        switch c.dtype {
        case .float64:
            var (alpha, beta) = (alpha, beta)
            try self.gpu.checkCUBLAS(
                blas.dgemm(
                    handle,
                    opA,
                    opB,
                    m32,
                    n32,
                    k32,
                    &alpha,
                    a.constPointer(),
                    lda,
                    b.constPointer(),
                    ldb,
                    &beta,
                    c.pointer(),
                    ldc
                ),
                "cublasDgemm(\(m)×\(n)×\(k))"
            )
        case .float32:
            var (alpha, beta) = (Float(alpha), Float(beta))
            try self.gpu.checkCUBLAS(
                blas.sgemm(
                    handle,
                    opA,
                    opB,
                    m32,
                    n32,
                    k32,
                    &alpha,
                    a.constPointer(),
                    lda,
                    b.constPointer(),
                    ldb,
                    &beta,
                    c.pointer(),
                    ldc
                ),
                "cublasSgemm(\(m)×\(n)×\(k))"
            )
        default:
            parlaPreconditionFailure("GEMM on \(self.gpu.device) takes Float or Double matrices, not \(c.dtype)")
        }
        self.gpu.noteQueuedOnComputeStream()
    }

    public func syrk(
        triangle: MatrixTriangle,
        transpose: Bool,
        n: Int,
        k: Int,
        alpha: Double,
        a: MatrixOperand,
        beta: Double,
        c: MatrixOperand
    ) throws(DeviceError) {
        let (blas, handle) = try self.gpu.cublas()
        try self.gpu.makeCurrent()
        let (uplo, op) = (Self.fill(triangle), Self.operation(transpose))
        let (n32, k32) = (Self.int32(n), Self.int32(k))
        let (lda, ldc) = (Self.int32(a.leadingDimension), Self.int32(c.leadingDimension))
        switch c.dtype {
        case .float64:
            var (alpha, beta) = (alpha, beta)
            try self.gpu.checkCUBLAS(
                blas.dsyrk(handle, uplo, op, n32, k32, &alpha, a.constPointer(), lda, &beta, c.pointer(), ldc),
                "cublasDsyrk(\(n)×\(k))"
            )
        case .float32:
            var (alpha, beta) = (Float(alpha), Float(beta))
            try self.gpu.checkCUBLAS(
                blas.ssyrk(handle, uplo, op, n32, k32, &alpha, a.constPointer(), lda, &beta, c.pointer(), ldc),
                "cublasSsyrk(\(n)×\(k))"
            )
        default:
            parlaPreconditionFailure("SYRK on \(self.gpu.device) takes Float or Double matrices, not \(c.dtype)")
        }
        self.gpu.noteQueuedOnComputeStream()
    }

    public func trsm(
        side: MatrixSide,
        triangle: MatrixTriangle,
        transposeA: Bool,
        unitDiagonal: Bool,
        m: Int,
        n: Int,
        alpha: Double,
        a: MatrixOperand,
        b: MatrixOperand
    ) throws(DeviceError) {
        let (blas, handle) = try self.gpu.cublas()
        try self.gpu.makeCurrent()
        let sideMode = side == .left ? CUBLASEntryPoints.Constant.left : CUBLASEntryPoints.Constant.right
        let diagonal = unitDiagonal ? CUBLASEntryPoints.Constant.unit : CUBLASEntryPoints.Constant.nonUnit
        let (uplo, op) = (Self.fill(triangle), Self.operation(transposeA))
        let (m32, n32) = (Self.int32(m), Self.int32(n))
        let (lda, ldb) = (Self.int32(a.leadingDimension), Self.int32(b.leadingDimension))
        switch b.dtype {
        case .float64:
            var alpha = alpha
            try self.gpu.checkCUBLAS(
                blas.dtrsm(
                    handle,
                    sideMode,
                    uplo,
                    op,
                    diagonal,
                    m32,
                    n32,
                    &alpha,
                    a.constPointer(),
                    lda,
                    b.pointer(),
                    ldb
                ),
                "cublasDtrsm(\(m)×\(n))"
            )
        case .float32:
            var alpha = Float(alpha)
            try self.gpu.checkCUBLAS(
                blas.strsm(
                    handle,
                    sideMode,
                    uplo,
                    op,
                    diagonal,
                    m32,
                    n32,
                    &alpha,
                    a.constPointer(),
                    lda,
                    b.pointer(),
                    ldb
                ),
                "cublasStrsm(\(m)×\(n))"
            )
        default:
            parlaPreconditionFailure("TRSM on \(self.gpu.device) takes Float or Double matrices, not \(b.dtype)")
        }
        self.gpu.noteQueuedOnComputeStream()
    }

    public func potrf(triangle: MatrixTriangle, n: Int, a: MatrixOperand) throws(DeviceError) -> FactorizationStatus {
        let (solver, handle) = try self.gpu.cusolver()
        try self.gpu.makeCurrent()
        let uplo = Self.fill(triangle)
        let (n32, lda) = (Self.int32(n), Self.int32(a.leadingDimension))
        // LAPACK's `info`, written by the device into a block of its own.
        let info = try self.gpu.allocateMakingRoom(byteCount: MemoryLayout<Int32>.size)
        let infoPointer = UnsafeMutablePointer<Int32>(bitPattern: UInt(info.address))
        var elements: Int32 = 0
        switch a.dtype {
        case .float64:
            let matrix: UnsafeMutablePointer<Double>? = a.pointer()
            try self.gpu.checkCUSOLVER(
                solver.dpotrfBufferSize(handle, uplo, n32, matrix, lda, &elements),
                "cusolverDnDpotrf_bufferSize(\(n))"
            )
            try self.gpu.withWorkspace(byteCount: Int(elements) * 8) { (workspace) throws(DeviceError) in
                let work = UnsafeMutablePointer<Double>(bitPattern: UInt(workspace.address))
                try self.gpu.checkCUSOLVER(
                    solver.dpotrf(handle, uplo, n32, matrix, lda, work, elements, infoPointer),
                    "cusolverDnDpotrf(\(n))"
                )
            }
        case .float32:
            let matrix: UnsafeMutablePointer<Float>? = a.pointer()
            try self.gpu.checkCUSOLVER(
                solver.spotrfBufferSize(handle, uplo, n32, matrix, lda, &elements),
                "cusolverDnSpotrf_bufferSize(\(n))"
            )
            try self.gpu.withWorkspace(byteCount: Int(elements) * 4) { (workspace) throws(DeviceError) in
                let work = UnsafeMutablePointer<Float>(bitPattern: UInt(workspace.address))
                try self.gpu.checkCUSOLVER(
                    solver.spotrf(handle, uplo, n32, matrix, lda, work, elements, infoPointer),
                    "cusolverDnSpotrf(\(n))"
                )
            }
        default:
            parlaPreconditionFailure(
                "Cholesky factorization on \(self.gpu.device) takes Float or Double matrices, not \(a.dtype)"
            )
        }
        self.gpu.noteQueuedOnComputeStream()
        return try self.gpu.statusAfterQueuedWork(at: info)
    }

    /// cuBLAS's `cublasOperation_t` for a transposition flag.
    private static func operation(_ transpose: Bool) -> Int32 {
        transpose ? CUBLASEntryPoints.Constant.transpose : CUBLASEntryPoints.Constant.noTranspose
    }

    /// cuBLAS's `cublasFillMode_t` for a triangle.
    private static func fill(_ triangle: MatrixTriangle) -> Int32 {
        triangle == .lower ? CUBLASEntryPoints.Constant.lower : CUBLASEntryPoints.Constant.upper
    }

    /// A size or leading dimension as the libraries' `int`.
    private static func int32(_ value: Int) -> Int32 {
        parlaPrecondition(
            value >= 0 && value <= Int(Int32.max),
            "a matrix extent of \(value) is beyond cuBLAS's 32-bit sizes"
        )
        return Int32(value)
    }
}

extension MatrixOperand {
    /// The device address of element `(0, 0)` as a typed pointer the libraries take (never
    /// dereferenced by the host).
    func pointer<T>() -> UnsafeMutablePointer<T>? {
        UnsafeMutablePointer(bitPattern: UInt(self.allocation.address) + UInt(self.offset * self.dtype.byteSize))
    }

    /// ``pointer()`` for a matrix the call only reads.
    func constPointer<T>() -> UnsafePointer<T>? { UnsafePointer(self.pointer()) }
}

extension CUDAGPU {
    /// Reads a 32-bit integer from this GPU's memory once the work queued on the compute stream so far
    /// has finished (a small synchronous copy on the copy-out stream).
    func readInt32(_ allocation: DeviceAllocation) throws(DeviceError) -> Int {
        try self.order(.deviceToHost, after: .compute)
        var value: Int32 = 0
        try withUnsafeMutableBytes(of: &value) { (bytes) throws(DeviceError) in
            try self.makeCurrent()
            try self.driver.copyDeviceToHost(
                bytes.baseAddress!,
                from: allocation.address,
                bytes: 4,
                on: self.stream(.deviceToHost),
                device: self.device,
                ", a status word"
            )
            try self.driver.synchronizeStream(self.stream(.deviceToHost), device: self.device)
        }
        return Int(value)
    }
}

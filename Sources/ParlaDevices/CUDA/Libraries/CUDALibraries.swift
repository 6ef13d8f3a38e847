import CCUDADriver

/// cuBLAS and cuSOLVER, loaded once per process on first use: from the CUDA installation for real
/// GPUs, or the simulated driver's tables for simulated ones. A GPU without them still runs Parla's own
/// kernels; only the linear algebra that needs them fails, saying what is missing.
enum CUDALibraries {
    private static let realCUBLAS: Result<CUBLASEntryPoints, DeviceError> = {
        do throws(DeviceError) { return .success(try CUBLASEntryPoints.load()) } catch { return .failure(error) }
    }()

    private static let realCUSOLVER: Result<CUSOLVEREntryPoints, DeviceError> = {
        do throws(DeviceError) { return .success(try CUSOLVEREntryPoints.load()) } catch { return .failure(error) }
    }()

    /// cuBLAS for the GPUs of `driver`.
    static func cublas(for driver: CUDADriver) throws(DeviceError) -> CUBLASEntryPoints {
        if driver.isSimulated { return SimulatedCUDA.cublasEntryPoints }
        return try realCUBLAS.get()
    }

    /// cuSOLVER for the GPUs of `driver`.
    static func cusolver(for driver: CUDADriver) throws(DeviceError) -> CUSOLVEREntryPoints {
        if driver.isSimulated { return SimulatedCUDA.cusolverEntryPoints }
        return try realCUSOLVER.get()
    }
}

/// One GPU's library handles, made on first use with the GPU's context current and bound to its
/// compute stream, and the workspace cuSOLVER's factorizations share (in stream order).
struct CUDALibraryHandles: @unchecked Sendable {
    // @unchecked Sendable: opaque library handles, used only under the GPU's `libraryHandles` lock
    // or, once made, by the libraries' thread-safe calls on the stream they are bound to.
    var cublas: (entryPoints: CUBLASEntryPoints, handle: OpaquePointer)?
    var cusolver: (entryPoints: CUSOLVEREntryPoints, handle: OpaquePointer)?
    /// cuSOLVER's workspace: kernels on the compute stream use it one after the other, so one block
    /// serves every factorization; it grows when one needs more.
    var workspace: DeviceAllocation?
}

extension CUDAGPU {
    /// Throws ``DeviceError/cudaCall(device:call:code:message:)`` unless a cuBLAS call succeeded.
    func checkCUBLAS(_ status: Int32, _ call: @autoclosure () -> String) throws(DeviceError) {
        guard status != 0 else { return }
        throw .cudaCall(
            device: self.device,
            call: call(),
            code: Int(status),
            message: CUBLASEntryPoints.statusName(status)
        )
    }

    /// Throws ``DeviceError/cudaCall(device:call:code:message:)`` unless a cuSOLVER call succeeded.
    func checkCUSOLVER(_ status: Int32, _ call: @autoclosure () -> String) throws(DeviceError) {
        guard status != 0 else { return }
        throw .cudaCall(
            device: self.device,
            call: call(),
            code: Int(status),
            message: CUSOLVEREntryPoints.statusName(status)
        )
    }

    /// cuBLAS and this GPU's handle, bound to the compute stream (made on first use).
    func cublas() throws(DeviceError) -> (entryPoints: CUBLASEntryPoints, handle: OpaquePointer) {
        try self.libraryHandles.withLock { (handles) throws(DeviceError) in
            if let made = handles.cublas { return made }
            let entryPoints = try CUDALibraries.cublas(for: self.driver)
            try self.makeCurrent()
            var handle: OpaquePointer? = nil
            try self.checkCUBLAS(entryPoints.create(&handle), "cublasCreate")
            guard let handle else {
                throw .cudaCall(device: self.device, call: "cublasCreate", code: -1, message: "no handle")
            }
            try self.checkCUBLAS(entryPoints.setStream(handle, self.stream(.compute)), "cublasSetStream")
            handles.cublas = (entryPoints, handle)
            return (entryPoints, handle)
        }
    }

    /// cuSOLVER and this GPU's handle, bound to the compute stream (made on first use).
    func cusolver() throws(DeviceError) -> (entryPoints: CUSOLVEREntryPoints, handle: OpaquePointer) {
        try self.libraryHandles.withLock { (handles) throws(DeviceError) in
            if let made = handles.cusolver { return made }
            let entryPoints = try CUDALibraries.cusolver(for: self.driver)
            try self.makeCurrent()
            var handle: OpaquePointer? = nil
            try self.checkCUSOLVER(entryPoints.create(&handle), "cusolverDnCreate")
            guard let handle else {
                throw .cudaCall(device: self.device, call: "cusolverDnCreate", code: -1, message: "no handle")
            }
            try self.checkCUSOLVER(entryPoints.setStream(handle, self.stream(.compute)), "cusolverDnSetStream")
            handles.cusolver = (entryPoints, handle)
            return (entryPoints, handle)
        }
    }

    /// A workspace of at least `byteCount` bytes for work queued on the compute stream (under the
    /// handles' lock while the work is queued, so that it is not replaced meanwhile). A larger one is
    /// allocated outside the lock (making room may wait for other tasks, which need the lock).
    func withWorkspace<R>(
        byteCount: Int,
        _ body: (DeviceAllocation) throws(DeviceError) -> R
    ) throws(DeviceError) -> R {
        while true {
            let result = try self.libraryHandles.withLock { (handles) throws(DeviceError) -> R? in
                guard let workspace = handles.workspace, workspace.byteCount >= byteCount else { return nil }
                return try body(workspace)
            }
            if let result { return result }
            // The old block goes back to the pool; the stream orders its last use before any reuse.
            self.libraryHandles.withLock { $0.workspace = nil }
            let fresh = try self.allocateMakingRoom(byteCount: Swift.max(byteCount, 1 << 20))
            self.libraryHandles.withLock { handles in
                if (handles.workspace?.byteCount ?? 0) < byteCount { handles.workspace = fresh }
            }
        }
    }
}

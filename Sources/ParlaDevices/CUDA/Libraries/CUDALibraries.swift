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

/// One compute lane's library handles (see `CUDAGPU+Lanes.swift`; lane 0 is the GPU's compute stream),
/// made on first use with the GPU's context current and bound to the lane's stream, and the workspace
/// cuSOLVER's factorizations on that stream share (in stream order).
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

    /// cuBLAS and this GPU's handle, bound to the compute stream, or to the calling task's lane (made
    /// on first use).
    func cublas(lane: Int? = nil) throws(DeviceError) -> (entryPoints: CUBLASEntryPoints, handle: OpaquePointer) {
        let lane = lane ?? self.currentLane
        return try self.libraryHandles.withLock { (handlesByLane) throws(DeviceError) in
            if let made = handlesByLane[lane]?.cublas { return made }
            let entryPoints = try CUDALibraries.cublas(for: self.driver)
            try self.makeCurrent()
            var handle: OpaquePointer? = nil
            try self.checkCUBLAS(entryPoints.create(&handle), "cublasCreate")
            guard let handle else {
                throw .cudaCall(device: self.device, call: "cublasCreate", code: -1, message: "no handle")
            }
            try self.checkCUBLAS(entryPoints.setStream(handle, self.stream(ofLane: lane)), "cublasSetStream")
            handlesByLane[lane, default: CUDALibraryHandles()].cublas = (entryPoints, handle)
            return (entryPoints, handle)
        }
    }

    /// cuSOLVER and this GPU's handle, bound to the compute stream, or to the calling task's lane (made
    /// on first use).
    func cusolver(lane: Int? = nil) throws(DeviceError) -> (entryPoints: CUSOLVEREntryPoints, handle: OpaquePointer) {
        let lane = lane ?? self.currentLane
        return try self.libraryHandles.withLock { (handlesByLane) throws(DeviceError) in
            if let made = handlesByLane[lane]?.cusolver { return made }
            let entryPoints = try CUDALibraries.cusolver(for: self.driver)
            try self.makeCurrent()
            var handle: OpaquePointer? = nil
            try self.checkCUSOLVER(entryPoints.create(&handle), "cusolverDnCreate")
            guard let handle else {
                throw .cudaCall(device: self.device, call: "cusolverDnCreate", code: -1, message: "no handle")
            }
            try self.checkCUSOLVER(entryPoints.setStream(handle, self.stream(ofLane: lane)), "cusolverDnSetStream")
            handlesByLane[lane, default: CUDALibraryHandles()].cusolver = (entryPoints, handle)
            return (entryPoints, handle)
        }
    }

    /// A workspace of at least `byteCount` bytes for work queued on the compute stream, or the calling
    /// task's lane (under the handles' lock while the work is queued, so that it is not replaced
    /// meanwhile). A larger one is allocated outside the lock (making room may wait for other tasks,
    /// which need the lock).
    func withWorkspace<R>(
        byteCount: Int,
        _ body: (DeviceAllocation) throws(DeviceError) -> R
    ) throws(DeviceError) -> R {
        let lane = self.currentLane
        while true {
            let result = try self.libraryHandles.withLock { (handlesByLane) throws(DeviceError) -> R? in
                guard let workspace = handlesByLane[lane]?.workspace, workspace.byteCount >= byteCount else {
                    return nil
                }
                return try body(workspace)
            }
            if let result { return result }
            // The old block goes back to the pool (outside the lock: its free records a fence); the
            // stream orders its last use before any reuse.
            let old = self.libraryHandles.withLock { handlesByLane in
                defer { handlesByLane[lane]?.workspace = nil }
                return handlesByLane[lane]?.workspace
            }
            _ = consume old
            let fresh = try self.allocateMakingRoom(byteCount: Swift.max(byteCount, 1 << 20))
            self.libraryHandles.withLock { handlesByLane in
                if (handlesByLane[lane]?.workspace?.byteCount ?? 0) < byteCount {
                    handlesByLane[lane, default: CUDALibraryHandles()].workspace = fresh
                }
            }
        }
    }
}

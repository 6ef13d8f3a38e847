import CCUDADriver

/// The one layer every CUDA driver call passes through: each method makes one call through the entry
/// points (the real driver's, or the simulated one's) and turns a failure into a
/// ``DeviceError/cudaCall(device:call:code:message:)`` naming the call, the device and the error.
final class CUDADriver: Sendable {
    /// The functions called.
    private let entryPoints: CUDADriverEntryPoints

    /// The functions, for tests that make a call the typed methods would not.
    var entryPointsForTesting: CUDADriverEntryPoints { self.entryPoints }
    /// The driver's version (13000 for CUDA 13.0).
    let version: Int32
    /// Whether this is the simulated driver (``SimulatedCUDA``).
    let isSimulated: Bool

    /// Initializes the driver behind `entryPoints` (`cuInit`).
    init(entryPoints: CUDADriverEntryPoints, isSimulated: Bool) throws(DeviceError) {
        self.entryPoints = entryPoints
        self.isSimulated = isSimulated
        let initResult = CUDAResult(rawValue: entryPoints.cuInit(0))
        if !initResult.isSuccess {
            throw .cudaUnavailable(reason: "cuInit failed with \(initResult)")
        }
        var version: Int32 = 0
        _ = entryPoints.cuDriverGetVersion(&version)
        self.version = version
    }

    /// The driver's text for a result code.
    func errorText(_ code: CUresult) -> String {
        var text: UnsafePointer<CChar>? = nil
        if self.entryPoints.cuGetErrorString(code, &text) == CUDAResult.success.rawValue, let text {
            return String(cString: text)
        }
        return "unknown error"
    }

    /// Throws ``DeviceError/cudaCall(device:call:code:message:)`` unless `result` is success.
    @inline(__always)
    func check(_ result: CUresult, _ call: @autoclosure () -> String, device: Device?) throws(DeviceError) {
        if result != CUDAResult.success.rawValue {
            throw .cudaCall(device: device, call: call(), code: Int(result), message: self.errorText(result))
        }
    }

    // MARK: Devices

    /// The number of devices the driver reports.
    func deviceCount() throws(DeviceError) -> Int {
        var count: Int32 = 0
        try self.check(self.entryPoints.cuDeviceGetCount(&count), "cuDeviceGetCount", device: nil)
        return Int(count)
    }

    /// The handle of the device with `ordinal`.
    func device(ordinal: Int) throws(DeviceError) -> CUdevice {
        var handle: CUdevice = 0
        try self.check(self.entryPoints.cuDeviceGet(&handle, Int32(ordinal)), "cuDeviceGet(\(ordinal))", device: nil)
        return handle
    }

    /// The device's product name.
    func name(of device: CUdevice) throws(DeviceError) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        try self.check(self.entryPoints.cuDeviceGetName(&buffer, 255, device), "cuDeviceGetName", device: nil)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A device attribute (`CU_DEVICE_ATTRIBUTE_*`).
    func attribute(_ attribute: Int32, of device: CUdevice) throws(DeviceError) -> Int {
        var value: Int32 = 0
        try self.check(
            self.entryPoints.cuDeviceGetAttribute(&value, attribute, device),
            "cuDeviceGetAttribute(\(attribute))",
            device: nil
        )
        return Int(value)
    }

    /// The device's memory in bytes.
    func totalMemory(of device: CUdevice) throws(DeviceError) -> Int {
        var bytes = 0
        try self.check(self.entryPoints.cuDeviceTotalMem(&bytes, device), "cuDeviceTotalMem", device: nil)
        return bytes
    }

    /// Whether `device` can access `peer`'s memory directly.
    func canAccessPeer(_ device: CUdevice, _ peer: CUdevice) -> Bool {
        var canAccess: Int32 = 0
        return self.entryPoints.cuDeviceCanAccessPeer(&canAccess, device, peer) == CUDAResult.success.rawValue
            && canAccess != 0
    }

    /// Retains the device's primary context.
    func retainPrimaryContext(of handle: CUdevice, for device: Device) throws(DeviceError) -> CUcontext {
        var context: CUcontext? = nil
        try self.check(
            self.entryPoints.cuDevicePrimaryCtxRetain(&context, handle),
            "cuDevicePrimaryCtxRetain",
            device: device
        )
        return context!
    }

    // MARK: Contexts

    /// Makes `context` current on the calling thread.
    @inline(__always)
    func setCurrent(_ context: CUcontext, device: Device) throws(DeviceError) {
        try self.check(self.entryPoints.cuCtxSetCurrent(context), "cuCtxSetCurrent", device: device)
    }

    /// Lets the current context access `peer`'s memory; returns whether access is enabled (also when it
    /// already was).
    func enablePeerAccess(to peer: CUcontext) -> Bool {
        let result = CUDAResult(rawValue: self.entryPoints.cuCtxEnablePeerAccess(peer, 0))
        return result == .success || result == .peerAccessAlreadyEnabled
    }

    /// Waits for all work of the current context.
    func synchronizeContext(device: Device) throws(DeviceError) {
        try self.check(self.entryPoints.cuCtxSynchronize(), "cuCtxSynchronize", device: device)
    }

    /// Free and total bytes of the current context's device (zeros when unknown).
    func memoryInfo() -> (free: Int, total: Int) {
        var free = 0
        var total = 0
        _ = self.entryPoints.cuMemGetInfo(&free, &total)
        return (free, total)
    }

    // MARK: Memory

    /// Allocates device memory in the current context; `nil` when the device is out of memory.
    func allocate(_ bytes: Int, device: Device) throws(DeviceError) -> CUdeviceptr? {
        var address: CUdeviceptr = 0
        let result = self.entryPoints.cuMemAlloc(&address, bytes)
        if result == CUDAResult.outOfMemory.rawValue { return nil }
        try self.check(result, "cuMemAlloc(\(bytes) bytes)", device: device)
        return address
    }

    /// Frees device memory (errors are ignored: the memory is gone either way).
    func free(_ address: CUdeviceptr) {
        _ = self.entryPoints.cuMemFree(address)
    }

    /// Allocates page-locked host memory (the current context must be set).
    func allocateHost(_ bytes: Int, device: Device) throws(DeviceError) -> UnsafeMutableRawPointer {
        var pointer: UnsafeMutableRawPointer? = nil
        try self.check(
            self.entryPoints.cuMemAllocHost(&pointer, bytes),
            "cuMemAllocHost(\(bytes) bytes)",
            device: device
        )
        return pointer!
    }

    /// Frees memory from ``allocateHost(_:device:)``.
    func freeHost(_ pointer: UnsafeMutableRawPointer) {
        _ = self.entryPoints.cuMemFreeHost(pointer)
    }

    // MARK: Streams and events

    /// A non-blocking stream in the current context.
    func createStream(device: Device) throws(DeviceError) -> CUstream {
        var stream: CUstream? = nil
        try self.check(
            self.entryPoints.cuStreamCreate(&stream, UInt32(PARLA_CU_STREAM_NON_BLOCKING)),
            "cuStreamCreate",
            device: device
        )
        return stream!
    }

    /// Waits for everything queued on `stream`.
    func synchronizeStream(_ stream: CUstream, device: Device) throws(DeviceError) {
        try self.check(self.entryPoints.cuStreamSynchronize(stream), "cuStreamSynchronize", device: device)
    }

    /// An event without timing, in the current context; with `blockingSync`, a thread synchronizing on
    /// it sleeps until it completes instead of polling the device.
    func createEvent(device: Device, blockingSync: Bool = false) throws(DeviceError) -> CUevent {
        var event: CUevent? = nil
        let flags = Int(PARLA_CU_EVENT_DISABLE_TIMING) | (blockingSync ? Int(PARLA_CU_EVENT_BLOCKING_SYNC) : 0)
        try self.check(
            self.entryPoints.cuEventCreate(&event, UInt32(flags)),
            "cuEventCreate",
            device: device
        )
        return event!
    }

    /// Destroys an event (its pending record still completes).
    func destroy(_ event: CUevent) {
        _ = self.entryPoints.cuEventDestroy(event)
    }

    /// Records `event` after the work queued so far on `stream` (both of the current context).
    func record(_ event: CUevent, on stream: CUstream, device: Device) throws(DeviceError) {
        try self.check(self.entryPoints.cuEventRecord(event, stream), "cuEventRecord", device: device)
    }

    /// Makes later work on `stream` wait for `event` (which may belong to another context).
    func makeStream(_ stream: CUstream, wait event: CUevent, device: Device) throws(DeviceError) {
        try self.check(self.entryPoints.cuStreamWaitEvent(stream, event, 0), "cuStreamWaitEvent", device: device)
    }

    /// Waits for `event`.
    func synchronizeEvent(_ event: CUevent, device: Device) throws(DeviceError) {
        try self.check(self.entryPoints.cuEventSynchronize(event), "cuEventSynchronize", device: device)
    }

    /// Whether `event` has completed; throws when the work it follows failed.
    func isComplete(_ event: CUevent, device: Device) throws(DeviceError) -> Bool {
        let result = self.entryPoints.cuEventQuery(event)
        if result == CUDAResult.notReady.rawValue { return false }
        try self.check(result, "cuEventQuery", device: device)
        return true
    }

    // MARK: Copies

    /// Queues a copy from host memory into device memory of the current context.
    func copyHostToDevice(
        _ destination: CUdeviceptr,
        from source: UnsafeRawPointer,
        bytes: Int,
        on stream: CUstream,
        device: Device,
        _ what: @autoclosure () -> String
    ) throws(DeviceError) {
        try self.check(
            self.entryPoints.cuMemcpyHtoDAsync(destination, source, bytes, stream),
            "cuMemcpyHtoDAsync(\(bytes) bytes\(what()))",
            device: device
        )
    }

    /// Queues a copy from device memory of the current context into host memory.
    func copyDeviceToHost(
        _ destination: UnsafeMutableRawPointer,
        from source: CUdeviceptr,
        bytes: Int,
        on stream: CUstream,
        device: Device,
        _ what: @autoclosure () -> String
    ) throws(DeviceError) {
        try self.check(
            self.entryPoints.cuMemcpyDtoHAsync(destination, source, bytes, stream),
            "cuMemcpyDtoHAsync(\(bytes) bytes\(what()))",
            device: device
        )
    }

    /// Queues a copy within the current context's device memory.
    func copyDeviceToDevice(
        _ destination: CUdeviceptr,
        from source: CUdeviceptr,
        bytes: Int,
        on stream: CUstream,
        device: Device
    ) throws(DeviceError) {
        try self.check(
            self.entryPoints.cuMemcpyDtoDAsync(destination, source, bytes, stream),
            "cuMemcpyDtoDAsync(\(bytes) bytes)",
            device: device
        )
    }

    /// Queues a copy between two devices' memories over their peer link.
    func copyPeer(
        _ destination: CUdeviceptr,
        in destinationContext: CUcontext,
        from source: CUdeviceptr,
        in sourceContext: CUcontext,
        bytes: Int,
        on stream: CUstream,
        _ what: @autoclosure () -> String,
        device: Device
    ) throws(DeviceError) {
        try self.check(
            self.entryPoints.cuMemcpyPeerAsync(destination, destinationContext, source, sourceContext, bytes, stream),
            "cuMemcpyPeerAsync(\(what()), \(bytes) bytes)",
            device: device
        )
    }

    // MARK: Modules and launches

    /// Loads a compiled module image into the current context.
    func loadModule(_ image: [CChar], name: String, device: Device) throws(DeviceError) -> CUmodule {
        var module: CUmodule? = nil
        try self.check(
            image.withUnsafeBytes { self.entryPoints.cuModuleLoadData(&module, $0.baseAddress) },
            "cuModuleLoadData(\(name))",
            device: device
        )
        return module!
    }

    /// The kernel `symbol` of `module`.
    func function(
        _ symbol: String,
        in module: CUmodule,
        name: String,
        device: Device
    ) throws(DeviceError)
        -> CUfunction
    {
        var function: CUfunction? = nil
        try self.check(
            self.entryPoints.cuModuleGetFunction(&function, module, symbol),
            "cuModuleGetFunction(\(name))",
            device: device
        )
        return function!
    }

    /// Queues a kernel launch on `stream` (of the current context); `parameters` point at each
    /// argument's bytes, which the driver copies before returning.
    func launch(
        _ function: CUfunction,
        grid: (UInt32, UInt32, UInt32),
        block: (UInt32, UInt32, UInt32),
        on stream: CUstream,
        parameters: UnsafeMutablePointer<UnsafeMutableRawPointer?>,
        name: String,
        device: Device
    ) throws(DeviceError) {
        try self.check(
            self.entryPoints.cuLaunchKernel(
                function,
                grid.0,
                grid.1,
                grid.2,
                block.0,
                block.1,
                block.2,
                0,
                stream,
                parameters,
                nil
            ),
            "cuLaunchKernel(\(name))",
            device: device
        )
    }
}

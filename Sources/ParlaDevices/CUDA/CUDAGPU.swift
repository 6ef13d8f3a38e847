import CCUDADriver
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A CUDA event, destroyed when the last reference to it goes away.
final class CUDAEvent: @unchecked Sendable {
    // @unchecked Sendable: the handle is immutable; the driver's event functions are thread-safe.
    let handle: CUevent
    let gpu: CUDAGPU

    init(gpu: CUDAGPU, timing: Bool = false) throws(DeviceError) {
        var event: CUevent? = nil
        try gpu.driver.check(
            gpu.driver.cuEventCreate(&event, UInt32(timing ? PARLA_CU_EVENT_DEFAULT : PARLA_CU_EVENT_DISABLE_TIMING)),
            "cuEventCreate",
            device: gpu.device
        )
        self.handle = event!
        self.gpu = gpu
    }

    deinit { _ = self.gpu.driver.cuEventDestroy(self.handle) }

    /// A ``DeviceEvent`` that completes when this event does.
    var deviceEvent: DeviceEvent {
        DeviceEvent(
            wait: { () throws(DeviceError) in
                try self.gpu.driver.check(
                    self.gpu.driver.cuEventSynchronize(self.handle),
                    "cuEventSynchronize",
                    device: self.gpu.device
                )
            },
            query: { self.gpu.driver.cuEventQuery(self.handle) != PARLA_CUDA_ERROR_NOT_READY }
        )
    }
}

/// A real CUDA GPU: its primary context, a compute stream, copy streams, pinned staging buffers, and
/// kernels compiled at run time by NVRTC.
public final class CUDAGPU: DeviceBackend, @unchecked Sendable {
    // @unchecked Sendable: the handles are immutable after `init`; mutable state (peers, staging,
    // the kernel cache, the byte count) sits behind `Mutex`/`Atomic`; the CUDA driver is thread-safe.

    public let device: Device
    public let name: String
    public let memoryCapacity: Int?
    public let isHostAddressable = false

    /// The CUDA device ordinal.
    public let ordinal: Int
    /// The compute capability as major * 10 + minor (90 for an H100).
    public let computeCapability: Int
    /// The number of streaming multiprocessors.
    public let multiprocessorCount: Int

    let driver: CUDADriver
    let nvrtc: NVRTC
    let context: CUcontext
    let computeStream: CUstream
    let hostToDeviceStream: CUstream
    let deviceToHostStream: CUstream
    let peerStream: CUstream

    /// Operations queued on the compute stream so far (kernel launches, copies), each counted after it
    /// is queued.
    private let computeQueued = Atomic<UInt64>(0)
    /// How many of those are known to have finished (raised when a completion event has been waited
    /// for): a task that finds nothing queued since has nothing to wait for.
    private let computeFinished = Atomic<UInt64>(0)

    /// Counts an operation just queued on the compute stream.
    @inline(__always)
    func noteQueuedOnComputeStream() { self.computeQueued.add(1, ordering: .releasing) }

    private let inUse = Atomic<Int>(0)
    private let pool = Mutex(DeviceMemoryPool())
    private let peers = Mutex<[Int: (gpu: CUDAGPU, direct: Bool)]>([:])

    /// Two pinned buffers through which pageable host memory and peerless GPU-to-GPU copies are staged.
    private let staging: Mutex<[UInt]>  // addresses of the pinned blocks
    static let stagingBufferSize = 8 << 20

    /// The kernels generated and compiled for this GPU.
    public private(set) lazy var cudaKernels = CUDAKernels(gpu: self)

    init(ordinal: Int, driver: CUDADriver, nvrtc: NVRTC) throws(DeviceError) {
        self.ordinal = ordinal
        self.device = .gpu(ordinal)
        self.driver = driver
        self.nvrtc = nvrtc
        var handle: CUdevice = 0
        try driver.check(driver.cuDeviceGet(&handle, Int32(ordinal)), "cuDeviceGet(\(ordinal))")
        var nameBuffer = [CChar](repeating: 0, count: 256)
        try driver.check(driver.cuDeviceGetName(&nameBuffer, 255, handle), "cuDeviceGetName")
        self.name = String(decoding: nameBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var major: Int32 = 0
        var minor: Int32 = 0
        var sms: Int32 = 0
        try driver.check(
            driver.cuDeviceGetAttribute(&major, Int32(PARLA_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR), handle),
            "cuDeviceGetAttribute"
        )
        try driver.check(
            driver.cuDeviceGetAttribute(&minor, Int32(PARLA_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR), handle),
            "cuDeviceGetAttribute"
        )
        try driver.check(
            driver.cuDeviceGetAttribute(&sms, Int32(PARLA_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT), handle),
            "cuDeviceGetAttribute"
        )
        self.computeCapability = Int(major) * 10 + Int(minor)
        self.multiprocessorCount = Int(sms)
        var total = 0
        try driver.check(driver.cuDeviceTotalMem(&total, handle), "cuDeviceTotalMem")
        self.memoryCapacity = total
        var context: CUcontext? = nil
        try driver.check(
            driver.cuDevicePrimaryCtxRetain(&context, handle),
            "cuDevicePrimaryCtxRetain",
            device: .gpu(ordinal)
        )
        self.context = context!
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent", device: .gpu(ordinal))
        func makeStream() throws(DeviceError) -> CUstream {
            var stream: CUstream? = nil
            try driver.check(
                driver.cuStreamCreate(&stream, UInt32(PARLA_CU_STREAM_NON_BLOCKING)),
                "cuStreamCreate",
                device: .gpu(ordinal)
            )
            return stream!
        }
        self.computeStream = try makeStream()
        self.hostToDeviceStream = try makeStream()
        self.deviceToHostStream = try makeStream()
        self.peerStream = try makeStream()
        var buffers: [UInt] = []
        for _ in 0..<2 {
            var pointer: UnsafeMutableRawPointer? = nil
            try driver.check(
                driver.cuMemAllocHost(&pointer, Self.stagingBufferSize),
                "cuMemAllocHost",
                device: .gpu(ordinal)
            )
            buffers.append(UInt(bitPattern: pointer!))
        }
        self.staging = Mutex(buffers)
    }

    /// Makes this GPU's context current on the calling thread (cheap; every entry point calls it).
    @inline(__always)
    func makeCurrent() throws(DeviceError) {
        try self.driver.check(self.driver.cuCtxSetCurrent(self.context), "cuCtxSetCurrent", device: self.device)
    }

    /// Enables peer access to every other GPU the driver allows it for.
    func connectPeers(_ gpus: [CUDAGPU]) {
        for other in gpus where other !== self {
            var canAccess: Int32 = 0
            _ = self.driver.cuDeviceCanAccessPeer(&canAccess, Int32(self.ordinal), Int32(other.ordinal))
            var direct = false
            if canAccess != 0, (try? self.makeCurrent()) != nil {
                let result = self.driver.cuCtxEnablePeerAccess(other.context, 0)
                direct = result == PARLA_CUDA_SUCCESS || result == PARLA_CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED
            }
            self.peers.withLock { $0[other.ordinal] = (other, direct) }
        }
    }

    /// Whether copies from this GPU to `other` go directly over the peer link.
    public func hasPeerAccess(to other: Device) -> Bool {
        self.peers.withLock { $0[other.index]?.direct ?? false }
    }

    /// Turns direct peer copies off or on for measurements (copies then stage through pinned memory).
    public func setPeerCopiesEnabled(_ enabled: Bool, to other: Device) {
        self.peers.withLock { peers in
            guard var entry = peers[other.index] else { return }
            var canAccess: Int32 = 0
            _ = self.driver.cuDeviceCanAccessPeer(&canAccess, Int32(self.ordinal), Int32(other.index))
            entry.direct = enabled && canAccess != 0
            peers[other.index] = entry
        }
    }

    public var memoryInUse: Int { self.inUse.load(ordering: .relaxed) }

    public var kernels: (any DeviceKernels)? { self.cudaKernels }

    // MARK: Memory

    public func allocate(byteCount: Int) throws(DeviceError) -> DeviceAllocation {
        precondition(byteCount >= 0, "cannot allocate a negative number of bytes (\(byteCount)) on \(self.device)")
        let size = Self.poolSize(for: byteCount)
        if let cached = self.pool.withLock({ $0.take(size) }) {
            self.inUse.add(byteCount, ordering: .relaxed)
            return DeviceAllocation(backend: self, address: cached, byteCount: byteCount, hostPointer: nil)
        }
        try self.makeCurrent()
        var address: CUdeviceptr = 0
        var result = self.driver.cuMemAlloc(&address, size)
        if result == 2 {  // CUDA_ERROR_OUT_OF_MEMORY: give the cached blocks back and try once more
            try self.trimPool()
            result = self.driver.cuMemAlloc(&address, size)
        }
        if result == 2 {
            var free = 0
            var total = 0
            _ = self.driver.cuMemGetInfo(&free, &total)
            throw .outOfMemory(device: self.device, requested: byteCount, free: free)
        }
        try self.driver.check(result, "cuMemAlloc(\(byteCount) bytes)", device: self.device)
        self.inUse.add(byteCount, ordering: .relaxed)
        return DeviceAllocation(backend: self, address: address, byteCount: byteCount, hostPointer: nil)
    }

    public func release(address: UInt64, byteCount: Int, hostPointer: UnsafeMutableRawPointer?) {
        self.inUse.subtract(byteCount, ordering: .relaxed)
        // Freed blocks are kept for reuse instead of going through cuMemFree, which waits for the
        // device. Reuse is safe without waiting: every stream that touches device memory is ordered
        // after the compute stream when work is queued, so later work on a reused block runs after
        // earlier work on it.
        let size = Self.poolSize(for: byteCount)
        let overflow = self.pool.withLock { $0.put(address, size: size) }
        if !overflow.isEmpty {
            _ = try? self.makeCurrent()
            for block in overflow { _ = self.driver.cuMemFree(block) }
        }
    }

    /// The size class of an allocation: small blocks round up to 512 bytes, large ones to 2 MiB.
    static func poolSize(for byteCount: Int) -> Int {
        let bytes = Swift.max(byteCount, 1)
        if bytes < 1 << 20 { return (bytes + 511) / 512 * 512 }
        return (bytes + (2 << 20) - 1) / (2 << 20) * (2 << 20)
    }

    /// Frees every cached block (after the device has finished with them).
    func trimPool() throws(DeviceError) {
        try self.synchronize()
        let blocks = self.pool.withLock { $0.drain() }
        for block in blocks { _ = self.driver.cuMemFree(block) }
    }

    /// Bytes held in freed blocks kept for reuse.
    public var cachedBytes: Int { self.pool.withLock { $0.cachedBytes } }

    /// Page-locked host memory for the pinned pool.
    func allocateHostPinned(byteCount: Int) throws(DeviceError) -> UnsafeMutableRawPointer {
        try self.makeCurrent()
        var pointer: UnsafeMutableRawPointer? = nil
        try self.driver.check(self.driver.cuMemAllocHost(&pointer, byteCount), "cuMemAllocHost(\(byteCount) bytes)")
        return pointer!
    }

    /// Frees memory from ``allocateHostPinned(byteCount:)``.
    func freeHostPinned(_ pointer: UnsafeMutableRawPointer) {
        _ = try? self.makeCurrent()
        _ = self.driver.cuMemFreeHost(pointer)
    }

    // MARK: Ordering between streams

    /// Records an event on `stream`.
    func record(on stream: CUstream) throws(DeviceError) -> CUDAEvent {
        let event = try CUDAEvent(gpu: self)
        try self.driver.check(self.driver.cuEventRecord(event.handle, stream), "cuEventRecord", device: self.device)
        return event
    }

    /// Makes `stream` wait for everything queued so far on `other`.
    func order(_ stream: CUstream, after other: CUstream) throws(DeviceError) {
        let event = try self.record(on: other)
        try self.driver.check(
            self.driver.cuStreamWaitEvent(stream, event.handle, 0),
            "cuStreamWaitEvent",
            device: self.device
        )
    }

    // MARK: Copies

    public func copy(
        from source: DeviceAllocation,
        at sourceOffset: Int,
        to destination: DeviceAllocation,
        at destinationOffset: Int,
        byteCount: Int
    ) throws(DeviceError) -> DeviceEvent {
        try self.makeCurrent()
        if byteCount == 0 { return .completed }
        let sourceOnGPU = source.backend as? CUDAGPU
        let destinationOnGPU = destination.backend as? CUDAGPU
        switch (sourceOnGPU, destinationOnGPU) {
        case (nil, .some(let target)):
            precondition(target === self, "a host-to-GPU copy is carried out by the destination GPU")
            return try self.copyIn(
                from: source,
                at: sourceOffset,
                to: destination.address + UInt64(destinationOffset),
                byteCount: byteCount
            )
        case (.some(let origin), nil):
            precondition(origin === self, "a GPU-to-host copy is carried out by the source GPU")
            return try self.copyOut(
                from: source.address + UInt64(sourceOffset),
                to: destination,
                at: destinationOffset,
                byteCount: byteCount
            )
        case (.some(let origin), .some(let target)):
            return try target.copyBetweenGPUs(
                from: origin,
                source.address + UInt64(sourceOffset),
                to: destination.address + UInt64(destinationOffset),
                byteCount: byteCount
            )
        case (nil, nil):
            preconditionFailure("\(self.device) cannot copy between two host blocks")
        }
    }

    /// Host → this GPU: directly from pinned memory, else staged through the pinned buffers.
    private func copyIn(
        from source: DeviceAllocation,
        at offset: Int,
        to address: CUdeviceptr,
        byteCount: Int
    ) throws(DeviceError) -> DeviceEvent {
        guard let host = source.hostPointer else { preconditionFailure("host memory without a host pointer") }
        try self.order(self.hostToDeviceStream, after: self.computeStream)
        let pinned = (source.backend as? HostBackend)?.isPinned(source) ?? false
        if pinned {
            try self.driver.check(
                self.driver.cuMemcpyHtoDAsync(address, host + offset, byteCount, self.hostToDeviceStream),
                "cuMemcpyHtoDAsync(\(byteCount) bytes)",
                device: self.device
            )
        } else {
            try self.staging.withLock { (addresses) throws(DeviceError) in
                let buffers = addresses.map { UnsafeMutableRawPointer(bitPattern: $0)! }
                var inFlight: [CUDAEvent?] = [nil, nil]
                var done = 0
                var slot = 0
                while done < byteCount {
                    let chunk = Swift.min(Self.stagingBufferSize, byteCount - done)
                    if let previous = inFlight[slot] {
                        try self.driver.check(
                            self.driver.cuEventSynchronize(previous.handle),
                            "cuEventSynchronize",
                            device: self.device
                        )
                    }
                    memcpy(buffers[slot], host + offset + done, chunk)
                    try self.driver.check(
                        self.driver.cuMemcpyHtoDAsync(
                            address + UInt64(done),
                            buffers[slot],
                            chunk,
                            self.hostToDeviceStream
                        ),
                        "cuMemcpyHtoDAsync(\(chunk) bytes, staged)",
                        device: self.device
                    )
                    inFlight[slot] = try self.record(on: self.hostToDeviceStream)
                    done += chunk
                    slot = 1 - slot
                }
                // The staging buffers are reused by the next copy: finish before letting go of them.
                try self.driver.check(
                    self.driver.cuStreamSynchronize(self.hostToDeviceStream),
                    "cuStreamSynchronize",
                    device: self.device
                )
            }
        }
        let finished = try self.record(on: self.hostToDeviceStream)
        try self.driver.check(
            self.driver.cuStreamWaitEvent(self.computeStream, finished.handle, 0),
            "cuStreamWaitEvent",
            device: self.device
        )
        return withExtendedLifetime(source) { finished.deviceEvent.keeping(source) }
    }

    /// This GPU → host: directly into pinned memory, else staged through the pinned buffers (synchronous).
    private func copyOut(
        from address: CUdeviceptr,
        to destination: DeviceAllocation,
        at offset: Int,
        byteCount: Int
    ) throws(DeviceError) -> DeviceEvent {
        guard let host = destination.hostPointer else { preconditionFailure("host memory without a host pointer") }
        try self.order(self.deviceToHostStream, after: self.computeStream)
        let pinned = (destination.backend as? HostBackend)?.isPinned(destination) ?? false
        if pinned {
            try self.driver.check(
                self.driver.cuMemcpyDtoHAsync(host + offset, address, byteCount, self.deviceToHostStream),
                "cuMemcpyDtoHAsync(\(byteCount) bytes)",
                device: self.device
            )
            let finished = try self.record(on: self.deviceToHostStream)
            // Later kernels may write this block once it is freed and reused: they wait for the read.
            try self.driver.check(
                self.driver.cuStreamWaitEvent(self.computeStream, finished.handle, 0),
                "cuStreamWaitEvent",
                device: self.device
            )
            return finished.deviceEvent.keeping(destination)
        }
        try self.staging.withLock { (addresses) throws(DeviceError) in
            let buffers = addresses.map { UnsafeMutableRawPointer(bitPattern: $0)! }
            var done = 0
            while done < byteCount {
                let chunk = Swift.min(Self.stagingBufferSize, byteCount - done)
                try self.driver.check(
                    self.driver.cuMemcpyDtoHAsync(buffers[0], address + UInt64(done), chunk, self.deviceToHostStream),
                    "cuMemcpyDtoHAsync(\(chunk) bytes, staged)",
                    device: self.device
                )
                try self.driver.check(
                    self.driver.cuStreamSynchronize(self.deviceToHostStream),
                    "cuStreamSynchronize",
                    device: self.device
                )
                memcpy(host + offset + done, buffers[0], chunk)
                done += chunk
            }
        }
        return .completed
    }

    /// `origin` → this GPU (or within this GPU): over the peer link when enabled, else through pinned memory.
    private func copyBetweenGPUs(
        from origin: CUDAGPU,
        _ source: CUdeviceptr,
        to address: CUdeviceptr,
        byteCount: Int
    ) throws(DeviceError) -> DeviceEvent {
        try self.makeCurrent()
        if origin === self {
            try self.driver.check(
                self.driver.cuMemcpyDtoDAsync(address, source, byteCount, self.computeStream),
                "cuMemcpyDtoDAsync(\(byteCount) bytes)",
                device: self.device
            )
            self.noteQueuedOnComputeStream()
            return try self.record(on: self.computeStream).deviceEvent
        }
        // The source's pending kernels must finish before its memory is read.
        let sourceReady = try origin.record(on: origin.computeStream)
        try self.order(self.peerStream, after: self.computeStream)
        try self.driver.check(
            self.driver.cuStreamWaitEvent(self.peerStream, sourceReady.handle, 0),
            "cuStreamWaitEvent",
            device: self.device
        )
        if origin.hasPeerAccess(to: self.device) || self.hasPeerAccess(to: origin.device) {
            try self.driver.check(
                self.driver.cuMemcpyPeerAsync(
                    address,
                    self.context,
                    source,
                    origin.context,
                    byteCount,
                    self.peerStream
                ),
                "cuMemcpyPeerAsync(\(origin.device) -> \(self.device), \(byteCount) bytes)",
                device: self.device
            )
        } else {
            // No peer link: down to the source's pinned staging buffers, then up from them.
            try self.driver.check(
                self.driver.cuStreamSynchronize(self.peerStream),
                "cuStreamSynchronize",
                device: self.device
            )
            try origin.staging.withLock { (addresses) throws(DeviceError) in
                let buffers = addresses.map { UnsafeMutableRawPointer(bitPattern: $0)! }
                var done = 0
                var slot = 0
                var uploaded: [CUDAEvent?] = [nil, nil]
                while done < byteCount {
                    let chunk = Swift.min(Self.stagingBufferSize, byteCount - done)
                    if let previous = uploaded[slot] {
                        try self.driver.check(
                            self.driver.cuEventSynchronize(previous.handle),
                            "cuEventSynchronize",
                            device: self.device
                        )
                    }
                    try origin.makeCurrent()
                    try origin.driver.check(
                        origin.driver.cuMemcpyDtoHAsync(
                            buffers[slot],
                            source + UInt64(done),
                            chunk,
                            origin.deviceToHostStream
                        ),
                        "cuMemcpyDtoHAsync(\(chunk) bytes, GPU-to-GPU staging)",
                        device: origin.device
                    )
                    let downloaded = try origin.record(on: origin.deviceToHostStream)
                    try self.makeCurrent()
                    try self.driver.check(
                        self.driver.cuStreamWaitEvent(self.peerStream, downloaded.handle, 0),
                        "cuStreamWaitEvent",
                        device: self.device
                    )
                    try self.driver.check(
                        self.driver.cuMemcpyHtoDAsync(address + UInt64(done), buffers[slot], chunk, self.peerStream),
                        "cuMemcpyHtoDAsync(\(chunk) bytes, GPU-to-GPU staging)",
                        device: self.device
                    )
                    uploaded[slot] = try self.record(on: self.peerStream)
                    done += chunk
                    slot = 1 - slot
                }
                try self.driver.check(
                    self.driver.cuStreamSynchronize(self.peerStream),
                    "cuStreamSynchronize",
                    device: self.device
                )
            }
        }
        let finished = try self.record(on: self.peerStream)
        try self.driver.check(
            self.driver.cuStreamWaitEvent(self.computeStream, finished.handle, 0),
            "cuStreamWaitEvent",
            device: self.device
        )
        // The source block may be freed and reused by the source GPU's kernels: they wait for the read.
        try origin.makeCurrent()
        try origin.driver.check(
            origin.driver.cuStreamWaitEvent(origin.computeStream, finished.handle, 0),
            "cuStreamWaitEvent",
            device: origin.device
        )
        return finished.deviceEvent
    }

    /// Completes when everything queued on the compute stream so far has finished. When everything
    /// counted as queued is already known to have finished (a task that launched nothing, say), no event
    /// is recorded and the result has completed.
    public func completionOfQueuedWork() throws(DeviceError) -> DeviceEvent {
        // Operations are counted after they are queued (release), so an event recorded after reading
        // the count (acquire) follows every operation the count includes.
        let target = self.computeQueued.load(ordering: .acquiring)
        if self.computeFinished.load(ordering: .acquiring) >= target { return .completed }
        try self.makeCurrent()
        let event = try self.record(on: self.computeStream).deviceEvent
        return DeviceEvent(
            wait: { () throws(DeviceError) in
                try event.wait()
                self.noteComputeFinished(through: target)
            },
            query: { event.isComplete }
        )
    }

    /// Whether everything queued on the compute stream so far has finished (an event is recorded and
    /// queried; nothing waits). Used to check that tasks complete only after their kernels.
    public var computeStreamIsIdle: Bool {
        get throws(DeviceError) {
            try self.makeCurrent()
            let event = try self.record(on: self.computeStream)
            return self.driver.cuEventQuery(event.handle) == PARLA_CUDA_SUCCESS
        }
    }

    /// Records that the first `count` queued operations have finished.
    private func noteComputeFinished(through count: UInt64) {
        var current = self.computeFinished.load(ordering: .relaxed)
        while current < count {
            let (exchanged, original) = self.computeFinished.compareExchange(
                expected: current,
                desired: count,
                ordering: .acquiringAndReleasing
            )
            if exchanged { return }
            current = original
        }
    }

    public func synchronize() throws(DeviceError) {
        try self.makeCurrent()
        try self.driver.check(self.driver.cuCtxSynchronize(), "cuCtxSynchronize", device: self.device)
    }
}

extension DeviceEvent {
    /// The same event, keeping `object` alive until it is dropped (memory a pending copy uses).
    func keeping(_ object: AnyObject & Sendable) -> DeviceEvent {
        DeviceEvent(
            wait: { () throws(DeviceError) in
                try withExtendedLifetime(object) { () throws(DeviceError) in try self.wait() }
            },
            query: { self.isComplete }
        )
    }
}

/// Freed device blocks by size class, kept for reuse (as CuPy's and PyTorch's allocators do).
struct DeviceMemoryPool: ~Copyable {
    /// At most this many bytes are kept; blocks past it are freed.
    static let limit = 4 << 30

    private var blocks: [Int: [UInt64]] = [:]
    private(set) var cachedBytes = 0

    mutating func take(_ size: Int) -> UInt64? {
        guard let block = self.blocks[size]?.popLast() else { return nil }
        self.cachedBytes -= size
        return block
    }

    /// Keeps `address`; returns the blocks to free when the pool is over its limit.
    mutating func put(_ address: UInt64, size: Int) -> [UInt64] {
        if self.cachedBytes + size > Self.limit { return [address] }
        self.blocks[size, default: []].append(address)
        self.cachedBytes += size
        return []
    }

    mutating func drain() -> [UInt64] {
        let all = self.blocks.values.flatMap { $0 }
        self.blocks = [:]
        self.cachedBytes = 0
        return all
    }
}

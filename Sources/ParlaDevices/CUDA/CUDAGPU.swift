import CCUDADriver
import Synchronization

/// A CUDA GPU (real, or simulated in host memory by the simulated CUDA driver): its primary context, a compute stream and copy
/// streams, pinned staging buffers, a caching allocator, peer links to the other GPUs, and the kernels
/// compiled for it.
///
/// Every driver call goes through one layer (`CUDADriver`) with this GPU's context made current first: the driver
/// ties allocations, streams, events and launches to the context current on the calling thread, and an
/// event may only be recorded on a stream of its own context. Streams are named by their role, so
/// that an event is always made and recorded by the GPU that owns the stream.
public final class CUDAGPU: DeviceBackend, @unchecked Sendable {
    // @unchecked Sendable: the driver handles are immutable after `init` and the driver is thread-safe;
    // mutable state (peers, staging buffers, the kernel cache, the memory pool, counters) sits behind
    // `Mutex` or `Atomic`.

    public let device: Device
    public let name: String
    /// The device's memory, or less under the cap of `PARLA_DEVICE_MEMORY`.
    public let memoryCapacity: Int?

    /// Whether `PARLA_DEVICE_MEMORY` caps the memory used below the device's own: allocations that
    /// would take more than ``memoryCapacity`` in use fail as out of memory.
    let isCapped: Bool
    public let isHostAddressable = false
    /// Kernels and copies run on CUDA streams, after the calls that queue them return.
    public let completesAsynchronously = true

    /// The CUDA device ordinal (the driver's numbering; the same as `device.index` on real GPUs).
    public let ordinal: Int
    /// The compute capability as major * 10 + minor (90 for an H100 or H200).
    public let computeCapability: Int
    /// The number of streaming multiprocessors.
    public let multiprocessorCount: Int
    let driver: CUDADriver
    /// The machine's compiled kernel images.
    let kernelImages: CUDAKernelImages
    let handle: CUdevice
    let context: CUcontext

    /// The streams of this GPU, each for one kind of work.
    enum StreamRole: Int, CaseIterable {
        /// Kernels and copies within the GPU, in program order.
        case compute
        /// Copies from the host into this GPU.
        case hostToDevice
        /// Copies from this GPU to the host (and out to staging buffers for another GPU).
        case deviceToHost
        /// Copies from other GPUs into this one.
        case peer
    }
    private let streams: [CUstream]

    /// The stream for `role`.
    @inline(__always)
    func stream(_ role: StreamRole) -> CUstream { self.streams[role.rawValue] }

    /// Operations queued on the compute stream so far (kernel launches, copies), each counted after it
    /// is queued.
    private let computeQueued = Atomic<UInt64>(0)
    /// How many of those are known to have finished (raised when a completion event has been waited
    /// for): a task that finds nothing queued since has nothing to wait for.
    private let computeFinished = Atomic<UInt64>(0)

    let inUse = Atomic<Int>(0)
    let pool = Mutex(DeviceMemoryPool())
    /// Per other GPU (by index): whether copies from it go directly over the peer link.
    let peers = Mutex<[Int: (gpu: CUDAGPU, direct: Bool)]>([:])
    /// The two pinned buffers through which pageable host memory and peerless GPU-to-GPU copies are staged.
    let staging: Mutex<StagingBuffers>
    /// Kernels loaded into this GPU's context, by kernel name (``CUDAKernelKey/name``).
    let loadedKernels = Mutex<[String: UInt]>([:])
    /// Held while a kernel is compiled and loaded, so that each is compiled once.
    let kernelLoading = Mutex(())
    /// Pinned words that library statuses are copied into (see `CUDAGPU+StatusWords.swift`).
    let statusWords = Mutex(StatusWords())
    /// Events kept for reuse (see `CUDAEvent`).
    let spareEvents = Mutex(SpareEvents())
    /// cuBLAS and cuSOLVER handles and workspace, per compute lane (0: the compute stream; see
    /// `CUDALibraries.swift`).
    let libraryHandles = Mutex([Int: CUDALibraryHandles]())
    /// The compute lanes (see `CUDAGPU+Lanes.swift`).
    let lanes = Mutex(LaneStreams())

    /// Opens the device with CUDA ordinal `ordinal` as Parla's `gpu(index)`.
    init(ordinal: Int, index: Int, driver: CUDADriver, kernelImages: CUDAKernelImages) throws(DeviceError) {
        self.ordinal = ordinal
        self.device = .gpu(index)
        self.driver = driver
        self.kernelImages = kernelImages
        let handle = try driver.device(ordinal: ordinal)
        self.handle = handle
        self.name = try driver.name(of: handle)
        let major = try driver.attribute(Int32(PARLA_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR), of: handle)
        let minor = try driver.attribute(Int32(PARLA_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR), of: handle)
        self.computeCapability = major * 10 + minor
        self.multiprocessorCount = try driver.attribute(
            Int32(PARLA_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
            of: handle
        )
        let total = try driver.totalMemory(of: handle)
        self.memoryCapacity = try DeviceMemoryLimit.applied(to: total)
        self.isCapped = self.memoryCapacity != total
        let device = Device.gpu(index)
        let context = try driver.retainPrimaryContext(of: handle, for: device)
        self.context = context
        try driver.setCurrent(context, device: device)
        var streams: [CUstream] = []
        for _ in StreamRole.allCases { streams.append(try driver.createStream(device: device)) }
        self.streams = streams
        self.staging = Mutex(
            StagingBuffers(
                first: try driver.allocateHost(StagingBuffers.size, device: device),
                second: try driver.allocateHost(StagingBuffers.size, device: device)
            )
        )
    }

    /// Makes this GPU's context current on the calling thread (cheap; every entry point calls it).
    @inline(__always)
    func makeCurrent() throws(DeviceError) {
        try self.driver.setCurrent(self.context, device: self.device)
    }

    /// Enables peer access to every other GPU the driver allows it for.
    func connectPeers(_ gpus: [CUDAGPU]) {
        for other in gpus where other !== self {
            var direct = false
            if self.driver.canAccessPeer(self.handle, other.handle), (try? self.makeCurrent()) != nil {
                direct = self.driver.enablePeerAccess(to: other.context)
            }
            self.peers.withLock { $0[other.device.index] = (other, direct) }
        }
    }

    public var memoryInUse: Int { self.inUse.load(ordering: .relaxed) }

    public var kernels: (any DeviceKernels)? { CUDAKernels(gpu: self) }

    // MARK: Ordering between streams

    /// An event recorded after the work queued so far on this GPU's stream `role` (made and recorded
    /// with this GPU's context current, as the driver requires).
    /// (From a task body on a compute lane, the event on the compute stream follows the lane's work too.)
    func record(on role: StreamRole, blockingSync: Bool = false) throws(DeviceError) -> CUDAEvent {
        try self.makeCurrent()
        if role == .compute, case let lane = self.currentLane, lane > 0 { try self.join(lane) }
        let event = try CUDAEvent(gpu: self, blockingSync: blockingSync)
        try self.driver.record(event.handle, on: self.stream(role), device: self.device)
        return event
    }

    /// Makes later work on this GPU's stream `role` wait for `event` (of any GPU); for the compute
    /// stream, from a task body on a compute lane, the lane's later work too.
    func makeStream(_ role: StreamRole, wait event: CUDAEvent) throws(DeviceError) {
        try self.makeCurrent()
        try self.driver.makeStream(self.stream(role), wait: event.handle, device: self.device)
        if role == .compute, case let lane = self.currentLane, lane > 0 {
            try self.driver.makeStream(self.laneStream(lane), wait: event.handle, device: self.device)
        }
    }

    /// Makes later work on stream `role` wait for everything queued so far on stream `other`.
    func order(_ role: StreamRole, after other: StreamRole) throws(DeviceError) {
        try self.makeStream(role, wait: try self.record(on: other))
    }

    // MARK: Completion of a task's work

    /// Counts an operation just queued on the compute stream.
    @inline(__always)
    func noteQueuedOnComputeStream() { self.computeQueued.add(1, ordering: .releasing) }

    /// Completes when everything queued on the compute stream so far has finished. When everything
    /// counted as queued is already known to have finished (a task that launched nothing, say), no event
    /// is recorded and the result has completed.
    public func completionOfQueuedWork() throws(DeviceError) -> DeviceEvent {
        try self.completionOfQueuedWork(waiterSleeps: false)
    }

    public func completionOfQueuedWork(waiterSleeps: Bool) throws(DeviceError) -> DeviceEvent {
        // Operations are counted after they are queued (release), so an event recorded after reading
        // the count (acquire) follows every operation the count includes.
        let target = self.computeQueued.load(ordering: .acquiring)
        if self.computeFinished.load(ordering: .acquiring) >= target { return .completed }
        let event = try self.record(on: .compute, blockingSync: waiterSleeps).deviceEvent
        return DeviceEvent(
            wait: { () throws(DeviceError) in
                try event.wait()
                self.noteComputeFinished(through: target)
            },
            query: { event.isComplete }
        )
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
        try self.driver.synchronizeContext(device: self.device)
    }
}

/// A CUDA event of one GPU's context, destroyed when the last reference to it goes away.
final class CUDAEvent: @unchecked Sendable {
    // @unchecked Sendable: the handle is immutable and the driver's event functions are thread-safe.
    let handle: CUevent
    let gpu: CUDAGPU
    let blockingSync: Bool

    /// An event in `gpu`'s context (which must be current): one the GPU kept from an earlier use, or a
    /// new one; see `CUDADriver.createEvent` for `blockingSync`.
    init(gpu: CUDAGPU, blockingSync: Bool = false) throws(DeviceError) {
        self.handle = try gpu.spareEvents.withLock { (spares) throws(DeviceError) in
            if let kept = spares.take(blockingSync: blockingSync) { return kept }
            return try gpu.driver.createEvent(device: gpu.device, blockingSync: blockingSync)
        }
        self.gpu = gpu
        self.blockingSync = blockingSync
    }

    // Kept for the next record (making and destroying events are driver calls that contend with the
    // launches of other threads); a record replaces the previous one, and nothing refers to this one
    // any more (every wait for it holds this object).
    deinit {
        let overflow = self.gpu.spareEvents.withLock { $0.keep(self.handle, blockingSync: self.blockingSync) }
        if let overflow { self.gpu.driver.destroy(overflow) }
    }

    /// Waits for the event.
    func wait() throws(DeviceError) {
        try self.gpu.driver.synchronizeEvent(self.handle, device: self.gpu.device)
    }

    /// A ``DeviceEvent`` that completes when this event does.
    var deviceEvent: DeviceEvent {
        DeviceEvent(
            wait: { () throws(DeviceError) in try self.wait() },
            query: { (try? self.gpu.driver.isComplete(self.handle, device: self.gpu.device)) ?? true }
        )
    }
}

/// Events a GPU keeps for reuse, by kind (see `CUDAEvent`).
struct SpareEvents: @unchecked Sendable {
    // @unchecked Sendable: opaque driver handles, used under the GPU's `spareEvents` lock.
    private var polling: [CUevent] = []
    private var sleeping: [CUevent] = []
    /// At most this many of each kind are kept.
    static let limit = 4096

    mutating func take(blockingSync: Bool) -> CUevent? {
        blockingSync ? self.sleeping.popLast() : self.polling.popLast()
    }

    /// Keeps `event`, or returns it when there are enough (to destroy).
    mutating func keep(_ event: CUevent, blockingSync: Bool) -> CUevent? {
        if blockingSync {
            if self.sleeping.count >= Self.limit { return event }
            self.sleeping.append(event)
        } else {
            if self.polling.count >= Self.limit { return event }
            self.polling.append(event)
        }
        return nil
    }
}

/// A GPU's two page-locked staging buffers (see ``CUDAGPU/staged(_:through:enqueue:drain:)``).
struct StagingBuffers: @unchecked Sendable {
    // @unchecked Sendable: plain addresses of pinned blocks owned by the GPU; used only under its lock.
    let first: UnsafeMutableRawPointer
    let second: UnsafeMutableRawPointer

    /// The size of each buffer.
    static let size = 8 << 20

    subscript(slot: Int) -> UnsafeMutableRawPointer { slot == 0 ? self.first : self.second }
}

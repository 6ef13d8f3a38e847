import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A GPU simulated in host memory, for machines without one (CI is one).
///
/// Each virtual GPU has its own allocations, never aliased with the host's or another device's, so a
/// program that reads a stale copy gets stale numbers, exactly as on a real GPU. Copies into and out of
/// it run on its own serial copy queue, asynchronously, optionally slowed to a bandwidth and latency
/// (``VirtualGPU/LinkModel``). An optional capacity makes allocations past it fail.
///
/// Kernels run on the host, on the memory of the virtual GPU, in the calling thread.
public final class VirtualGPU: DeviceBackend {
    /// How long a copy takes on a simulated link: `latency + bytes / bytesPerSecond`.
    public struct LinkModel: Hashable, Sendable {
        /// Sustained bandwidth in bytes per second.
        public var bytesPerSecond: Double
        /// Fixed cost of each copy, in seconds.
        public var latency: Double

        /// A link of `bytesPerSecond` with `latency` seconds per copy.
        public init(bytesPerSecond: Double, latency: Double = 0) {
            self.bytesPerSecond = bytesPerSecond
            self.latency = latency
        }

        /// Roughly PCIe 4.0 x16 with pinned memory: 25 GB/s, 10 µs.
        public static let pcie4 = LinkModel(bytesPerSecond: 25e9, latency: 10e-6)
    }

    public let device: Device
    public let name = "virtual GPU"
    public let memoryCapacity: Int?
    public let isHostAddressable = true

    /// The simulated link, or `nil` for copies at `memcpy` speed.
    public let link: LinkModel?

    private let inUse = Atomic<Int>(0)
    /// The calls a fault plan makes fail (none without a plan).
    private let faults: Mutex<DeviceFaultState>
    private let hasFaults: Bool
    private let cache = Mutex<[Int: [UInt]]>([:])  // freed blocks by size (addresses)
    private let copyQueue: DispatchQueue
    private let pending = DispatchGroup()

    /// A virtual GPU with index `index`, an optional capacity in bytes, an optional link model, and an
    /// optional plan of allocations and copies to make fail (``DeviceFaults``).
    public init(index: Int, capacity: Int? = nil, link: LinkModel? = nil, faults: DeviceFaults? = nil) {
        self.faults = Mutex(DeviceFaultState(plan: faults))
        self.hasFaults = faults != nil
        parlaPrecondition(capacity.map { $0 >= 0 } ?? true, "a virtual GPU's capacity cannot be negative")
        self.device = .gpu(index)
        self.memoryCapacity = capacity
        self.link = link
        self.copyQueue = DispatchQueue(label: "parla.virtual-gpu.\(index).copy")
    }

    public var memoryInUse: Int { self.inUse.load(ordering: .relaxed) }

    /// The diagnostics of a device in host memory, with the simulated link as details.
    public var diagnostics: any DeviceDiagnostics {
        let details = self.link.map { link in
            "link \((link.bytesPerSecond / 1e7).rounded() / 100) GB/s + \((link.latency * 1e8).rounded() / 100) µs per copy"
        }
        return HostMemoryDiagnostics(backend: self, details: details ?? "copies at memcpy speed")
    }

    /// How many calls the fault plan has made fail so far.
    public var faultsInjected: Int { self.hasFaults ? self.faults.withLock { $0.injected } : 0 }

    /// Whether the fault plan makes this call of `operation` fail.
    private func shouldFail(_ operation: DeviceFaults.Operation) -> Bool {
        self.hasFaults && self.faults.withLock { $0.shouldFail(operation) }
    }

    public func allocate(byteCount: Int) throws(DeviceError) -> DeviceAllocation {
        parlaPrecondition(byteCount >= 0, "cannot allocate a negative number of bytes (\(byteCount)) on \(self.device)")
        if self.shouldFail(.allocation) {
            throw .outOfMemory(
                device: self.device,
                requested: byteCount,
                free: Swift.max((self.memoryCapacity ?? Int.max) - self.memoryInUse, 0)
            )
        }
        if let capacity = self.memoryCapacity {
            // Reserve first, then check, so that concurrent allocations never overshoot together.
            let after = self.inUse.add(byteCount, ordering: .relaxed).newValue
            if after > capacity {
                self.inUse.subtract(byteCount, ordering: .relaxed)
                throw .outOfMemory(
                    device: self.device,
                    requested: byteCount,
                    free: Swift.max(capacity - (after - byteCount), 0)
                )
            }
        } else {
            self.inUse.add(byteCount, ordering: .relaxed)
        }
        let pointer =
            self.cache.withLock { $0[byteCount]?.popLast() }.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
            ?? UnsafeMutableRawPointer.allocate(byteCount: Swift.max(byteCount, 1), alignment: 64)
        return DeviceAllocation(
            backend: self,
            address: UInt64(UInt(bitPattern: pointer)),
            byteCount: byteCount,
            hostPointer: pointer
        )
    }

    public func release(address: UInt64, byteCount: Int, hostPointer: UnsafeMutableRawPointer?) {
        self.inUse.subtract(byteCount, ordering: .relaxed)
        guard let hostPointer else { return }
        // Large freed blocks are kept for reuse, as a GPU runtime's caching allocator does (a fresh
        // large block costs page faults on first touch).
        if byteCount >= Self.cachedBlockMinimum {
            let kept = self.cache.withLock { cache -> Bool in
                let total = cache.reduce(0) { $0 + $1.key * $1.value.count }
                guard total + byteCount <= Self.cacheLimit else { return false }
                cache[byteCount, default: []].append(UInt(bitPattern: hostPointer))
                return true
            }
            if kept { return }
        }
        hostPointer.deallocate()
    }

    /// Freed blocks of at least this many bytes are cached for reuse.
    static let cachedBlockMinimum = 1 << 20
    /// At most this many bytes of freed blocks are cached per virtual GPU.
    static let cacheLimit = 1 << 30

    deinit {
        for blocks in self.cache.withLock({ $0.values }) {
            for address in blocks { UnsafeMutableRawPointer(bitPattern: address)?.deallocate() }
        }
    }

    public func copy(
        from source: DeviceAllocation,
        at sourceOffset: Int,
        to destination: DeviceAllocation,
        at destinationOffset: Int,
        byteCount: Int
    ) throws(DeviceError) -> DeviceEvent {
        guard let from = source.hostPointer, let to = destination.hostPointer else {
            parlaPreconditionFailure("a virtual GPU cannot copy from \(source.device) to \(destination.device)")
        }
        let kind: DeviceFaults.Operation =
            source.device.kind == .cpu
            ? .copyToDevice : destination.device.kind == .cpu ? .copyToHost : .copyBetweenDevices
        if self.shouldFail(kind) {
            throw .injectedFault(
                device: self.device,
                operation: "copy of \(byteCount) bytes from \(source.device) to \(destination.device)"
            )
        }
        let group = DispatchGroup()
        group.enter()
        self.pending.enter()
        let link = self.link
        // The allocations travel with the closure, keeping both blocks alive until the copy is done, and
        // are let go before it is reported done: were the block to hold them until it is destroyed, memory
        // freed by the copy's waiters would be counted in use a while longer.
        let endpoints = CopyEndpoints(source, destination)
        let (fromAddress, toAddress) = (UInt(bitPattern: from + sourceOffset), UInt(bitPattern: to + destinationOffset))
        self.copyQueue.async {
            do {
                let clock = ContinuousClock()
                let start = clock.now
                memmove(
                    UnsafeMutableRawPointer(bitPattern: toAddress)!,
                    UnsafeRawPointer(bitPattern: fromAddress)!,
                    byteCount
                )
                if let link {
                    let target = link.latency + Double(byteCount) / link.bytesPerSecond
                    let spent = start.duration(to: clock.now)
                    let spentSeconds = Double(spent.components.seconds) + Double(spent.components.attoseconds) * 1e-18
                    if target > spentSeconds { usleep(UInt32((target - spentSeconds) * 1e6)) }
                }
            }
            endpoints.release()
            group.leave()
            self.pending.leave()
        }
        return DeviceEvent(group: group)
    }

    public func synchronize() throws(DeviceError) {
        self.pending.wait()
    }
}

/// The two allocations of a copy in progress, held until the copy is done.
private final class CopyEndpoints: @unchecked Sendable {
    // @unchecked Sendable: made by the thread that starts the copy and then used only by the copy's
    // block, on the copy queue.
    private var allocations: (DeviceAllocation, DeviceAllocation)?

    init(_ source: DeviceAllocation, _ destination: DeviceAllocation) { self.allocations = (source, destination) }

    func release() { self.allocations = nil }
}

import ParlaDevices

/// The memory behind one or more ``NDArray`` values: a block of elements on one device.
///
/// Several arrays (views) may share one storage. Storage is only written through an array that holds
/// the only reference to it (copy-on-write), which is what keeps ``NDArray`` a value type.
@usableFromInline
final class NDStorage<Element: NDElement>: @unchecked Sendable {
    // @unchecked Sendable: the buffer is mutated only through `NDArray`'s mutating members, and those
    // first make the storage uniquely referenced (`isKnownUniquelyReferenced`, copying if needed). A
    // storage reachable from two values (or two threads) is therefore only ever read.

    /// The device memory; freed with the last storage that uses it.
    @usableFromInline
    let allocation: DeviceAllocation

    /// The first element. Only dereferenced when ``isHostAddressable``; for CUDA memory it carries the
    /// device address and is never read by the host.
    @usableFromInline
    let base: UnsafeMutablePointer<Element>

    /// Number of elements allocated.
    @usableFromInline
    let capacity: Int

    /// Whether the host can read and write the elements directly (the CPU and virtual GPUs).
    @usableFromInline
    let isHostAddressable: Bool

    /// The device whose memory this is.
    @usableFromInline
    var device: Device { self.allocation.device }

    /// Allocates `capacity` uninitialized elements on `backend`'s device.
    @usableFromInline
    convenience init(uninitializedCapacity capacity: Int, on backend: any DeviceBackend) throws(DeviceError) {
        parlaPrecondition(capacity >= 0, "cannot allocate a negative number of elements (\(capacity))")
        self.init(
            capacity: capacity,
            allocation: try backend.allocate(byteCount: capacity * MemoryLayout<Element>.stride)
        )
    }

    /// Storage of `capacity` uninitialized elements in `allocation`.
    private init(capacity: Int, allocation: DeviceAllocation) {
        self.capacity = capacity
        self.allocation = allocation
        self.isHostAddressable = self.allocation.hostPointer != nil
        // `Element` is BitwiseCopyable, so binding raw memory to it and leaving it uninitialized until
        // first written is valid; nothing needs deinitializing before deallocation.
        if let host = self.allocation.hostPointer {
            self.base = host.bindMemory(to: Element.self, capacity: Swift.max(capacity, 1))
        } else {
            self.base = UnsafeMutablePointer(bitPattern: UInt(self.allocation.address))!
        }
    }

    /// Allocates `capacity` uninitialized elements on `backend`'s device; inside a task, when the device
    /// is out of memory, the copies of arrays no running task uses give way (or the task waits for
    /// running ones to give memory back), and the allocation is tried again. (Not for callers that hold
    /// an array's lock: making room takes other arrays'.)
    @usableFromInline
    convenience init(makingRoomFor capacity: Int, on backend: any DeviceBackend) throws(DeviceError) {
        parlaPrecondition(capacity >= 0, "cannot allocate a negative number of elements (\(capacity))")
        let bytes = capacity * MemoryLayout<Element>.stride
        var allocation: DeviceAllocation
        while true {
            do {
                allocation = try backend.allocate(byteCount: bytes)
                break
            } catch {
                guard case .outOfMemory = error, let task = RunningTask.sink,
                    task.makeRoom(on: backend.device, needing: bytes)
                else { throw error }
            }
        }
        self.init(capacity: capacity, allocation: allocation)
    }

    /// Allocates `capacity` uninitialized elements in host memory; stops if the host is out of memory.
    @usableFromInline
    convenience init(uninitializedCapacity capacity: Int) {
        self.init(uninitializedCapacity: capacity, device: .cpu, backend: DeviceRegistry.current.host)
    }

    /// Allocates on `backend`. When it cannot, inside a task the failure is recorded for the task
    /// (which fails when its body returns) and the storage holds no data; outside tasks it stops with
    /// the device's message.
    @usableFromInline
    convenience init(uninitializedCapacity capacity: Int, device: Device, backend: any DeviceBackend) {
        do {
            try self.init(makingRoomFor: capacity, on: backend)
        } catch {
            let what = "allocating \(capacity) elements of \(Element.self) on \(device)"
            guard let task = RunningTask.sink else { fatalError("\(what) failed: \(error)") }
            task.recordDeviceFailure(error, operation: what)
            self.init(
                placeholder: .placeholder(on: backend, byteCount: capacity * MemoryLayout<Element>.stride),
                capacity: capacity
            )
        }
    }

    /// Storage over a placeholder allocation (see `DeviceAllocation.placeholder(on:byteCount:)`).
    init(placeholder allocation: DeviceAllocation, capacity: Int) {
        self.capacity = capacity
        self.allocation = allocation
        self.isHostAddressable = allocation.hostPointer != nil
        if let host = allocation.hostPointer {
            self.base = host.bindMemory(to: Element.self, capacity: Swift.max(capacity, 1))
        } else {
            // Never dereferenced: device work on a placeholder is skipped.
            self.base = UnsafeMutablePointer(bitPattern: 0x1000)!
        }
    }
}

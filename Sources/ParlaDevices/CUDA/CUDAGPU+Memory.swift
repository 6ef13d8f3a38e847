import CCUDADriver
import Synchronization

extension CUDAGPU {
    public func allocate(byteCount: Int) throws(DeviceError) -> DeviceAllocation {
        parlaPrecondition(byteCount >= 0, "cannot allocate a negative number of bytes (\(byteCount)) on \(self.device)")
        if self.isCapped, let capacity = self.memoryCapacity {
            // (A soft cap: concurrent allocations may overshoot it by what they allocate together.)
            let used = self.inUse.load(ordering: .relaxed)
            if used + byteCount > capacity {
                throw .outOfMemory(device: self.device, requested: byteCount, free: Swift.max(capacity - used, 0))
            }
        }
        let size = Self.poolSize(for: byteCount)
        if let (cached, fence) = self.pool.withLock({ $0.take(size) }) {
            // (A task body's lane is not ordered after the compute stream's fence by itself.)
            if case let lane = self.currentLane, lane > 0 {
                do throws(DeviceError) {
                    try self.makeCurrent()
                    try self.driver.makeStream(self.laneStream(lane), wait: fence.handle, device: self.device)
                } catch {
                    self.pool.withLock { _ = $0.put(cached, size: size, fence: fence) }
                    throw error
                }
            }
            self.inUse.add(byteCount, ordering: .relaxed)
            return DeviceAllocation(backend: self, address: cached, byteCount: byteCount, reuseFence: fence)
        }
        try self.makeCurrent()
        var address = try self.driver.allocate(size, device: self.device)
        if address == nil {
            // Out of memory: give the cached blocks back and try once more.
            try self.trimPool()
            address = try self.driver.allocate(size, device: self.device)
        }
        guard let address else {
            throw .outOfMemory(device: self.device, requested: byteCount, free: self.driver.memoryInfo().free)
        }
        self.inUse.add(byteCount, ordering: .relaxed)
        return DeviceAllocation(backend: self, address: address, byteCount: byteCount, hostPointer: nil)
    }

    public func release(address: UInt64, byteCount: Int, hostPointer: UnsafeMutableRawPointer?) {
        self.inUse.subtract(byteCount, ordering: .relaxed)
        // Freed blocks are kept for reuse instead of going through cuMemFree, which waits for the
        // device. Reuse is safe without waiting: the compute stream waits for every copy that reads or
        // writes a block, so an event recorded on it now follows all the work queued on the block; work
        // on the compute stream runs after it anyway, and copies into the reused block on the other
        // streams wait for it (its `reuseFence`).
        let size = Self.poolSize(for: byteCount)
        guard let fence = try? self.record(on: .compute) else {
            // (No fence: the device has failed. The block is not reused.)
            _ = try? self.makeCurrent()
            self.driver.free(address)
            return
        }
        let overflow = self.pool.withLock { $0.put(address, size: size, fence: fence) }
        if !overflow.isEmpty {
            _ = try? self.makeCurrent()
            for block in overflow { self.driver.free(block) }
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
        for block in blocks { self.driver.free(block) }
    }

    /// Bytes held in freed blocks kept for reuse.
    public var cachedBytes: Int { self.pool.withLock { $0.cachedBytes } }

    /// Page-locked host memory for the pinned pool.
    func allocateHostPinned(byteCount: Int) throws(DeviceError) -> UnsafeMutableRawPointer {
        try self.makeCurrent()
        return try self.driver.allocateHost(byteCount, device: self.device)
    }

    /// Frees memory from ``allocateHostPinned(byteCount:)``.
    func freeHostPinned(_ pointer: UnsafeMutableRawPointer) {
        _ = try? self.makeCurrent()
        self.driver.freeHost(pointer)
    }
}

/// Freed device blocks by size class, kept for reuse (as CuPy's and PyTorch's allocators do).
struct DeviceMemoryPool: ~Copyable {
    /// At most this many bytes are kept; blocks past it are freed.
    static let limit = 4 << 30

    /// Freed blocks by size class, each with the event after the work queued on it before it was freed.
    private var blocks: [Int: [(address: UInt64, fence: CUDAEvent)]] = [:]
    private(set) var cachedBytes = 0

    mutating func take(_ size: Int) -> (UInt64, CUDAEvent)? {
        guard let block = self.blocks[size]?.popLast() else { return nil }
        self.cachedBytes -= size
        return (block.address, block.fence)
    }

    /// Keeps `address` (reusable after `fence`); returns the blocks to free when the pool is over its
    /// limit.
    mutating func put(_ address: UInt64, size: Int, fence: CUDAEvent) -> [UInt64] {
        if self.cachedBytes + size > Self.limit { return [address] }
        self.blocks[size, default: []].append((address, fence))
        self.cachedBytes += size
        return []
    }

    mutating func drain() -> [UInt64] {
        let all = self.blocks.values.flatMap { $0.map(\.address) }
        self.blocks = [:]
        self.cachedBytes = 0
        return all
    }
}

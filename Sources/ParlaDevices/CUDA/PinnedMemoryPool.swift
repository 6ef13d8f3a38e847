import Synchronization

/// Page-locked host memory from `cuMemAllocHost`, kept in a cache of freed blocks by size, because
/// pinning memory costs far more than a `malloc`.
final class PinnedMemoryPool: HostMemoryPinning {
    private let gpu: CUDAGPU
    private struct State {
        var free: [Int: [UInt]] = [:]  // rounded size -> cached blocks
        var sizes: [UInt: Int] = [:]  // every pinned block this pool made -> its rounded size
        var cachedBytes = 0
    }
    private let state = Mutex(State())

    /// At most this many bytes of freed pinned blocks are kept for reuse.
    static let cacheLimit = 1 << 30

    init(gpu: CUDAGPU) { self.gpu = gpu }

    /// Sizes round up to a power of two (at most 2x waste) so that blocks are reused often.
    private static func rounded(_ byteCount: Int) -> Int {
        var size = 4096
        while size < byteCount { size <<= 1 }
        return size
    }

    func allocatePinned(byteCount: Int) -> UnsafeMutableRawPointer? {
        let size = Self.rounded(byteCount)
        let reused: UInt? = self.state.withLock { state in
            guard let address = state.free[size]?.popLast() else { return nil }
            state.cachedBytes -= size
            return address
        }
        if let reused { return UnsafeMutableRawPointer(bitPattern: reused) }
        guard let pointer = try? self.gpu.allocateHostPinned(byteCount: size) else { return nil }
        self.state.withLock { $0.sizes[UInt(bitPattern: pointer)] = size }
        return pointer
    }

    func freePinned(_ pointer: UnsafeMutableRawPointer) -> Bool {
        let address = UInt(bitPattern: pointer)
        let evict: Bool? = self.state.withLock { state in
            guard let size = state.sizes[address] else { return nil }
            if state.cachedBytes + size > Self.cacheLimit {
                state.sizes[address] = nil
                return true
            }
            state.free[size, default: []].append(address)
            state.cachedBytes += size
            return false
        }
        guard let evict else { return false }
        if evict { self.gpu.freeHostPinned(pointer) }
        return true
    }

    func isPinned(_ pointer: UnsafeMutableRawPointer) -> Bool {
        self.state.withLock { $0.sizes[UInt(bitPattern: pointer)] != nil }
    }
}

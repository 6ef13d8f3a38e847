import ParlaDevices

/// The memory behind one or more ``NDArray`` values: a contiguous, 64-byte-aligned block of elements.
///
/// Several arrays (views) may share one storage. Storage is only written through an array that holds
/// the only reference to it (copy-on-write), which is what keeps ``NDArray`` a value type.
@usableFromInline
final class NDStorage<Element: NDElement>: @unchecked Sendable {
    // @unchecked Sendable: the buffer is mutated only through `NDArray`'s mutating members, and those
    // first make the storage uniquely referenced (`isKnownUniquelyReferenced`, copying if needed). A
    // storage reachable from two values (or two threads) is therefore only ever read.

    /// The first element.
    @usableFromInline
    let base: UnsafeMutablePointer<Element>

    /// Number of elements allocated.
    @usableFromInline
    let capacity: Int

    /// The device whose memory this is.
    @usableFromInline
    let device: Device

    /// Allocates `capacity` uninitialized elements on the host.
    @usableFromInline
    init(uninitializedCapacity capacity: Int) {
        precondition(capacity >= 0, "cannot allocate a negative number of elements (\(capacity))")
        self.capacity = capacity
        self.device = .cpu
        let bytes = Swift.max(capacity * MemoryLayout<Element>.stride, 1)
        // `Element` is BitwiseCopyable, so binding raw memory to it and leaving it uninitialized until
        // first written is valid; nothing needs deinitializing before deallocation.
        self.base = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            .bindMemory(to: Element.self, capacity: Swift.max(capacity, 1))
    }

    deinit {
        UnsafeMutableRawPointer(self.base).deallocate()
    }
}

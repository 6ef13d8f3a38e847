/// A block of memory on one device, freed when the last reference to it goes away.
///
/// `address` is the device address (on the CPU and on virtual GPUs, the host address of the block).
/// `hostPointer` is non-nil when the host can read and write the block directly.
public final class DeviceAllocation: @unchecked Sendable {
    // @unchecked Sendable: every stored property is immutable; the memory it names is synchronised by
    // its users (copy-on-write arrays and device events), not by this object.

    /// The backend that owns the memory and frees it.
    public let backend: any DeviceBackend

    /// The device address of the first byte.
    public let address: UInt64

    /// The size in bytes.
    public let byteCount: Int

    /// The first byte, when the host can address this memory (CPU and virtual GPUs), else `nil`.
    public let hostPointer: UnsafeMutableRawPointer?

    /// The device holding the memory.
    public var device: Device { self.backend.device }

    /// Wraps memory a backend has allocated; only backends create allocations.
    public init(backend: any DeviceBackend, address: UInt64, byteCount: Int, hostPointer: UnsafeMutableRawPointer?) {
        self.backend = backend
        self.address = address
        self.byteCount = byteCount
        self.hostPointer = hostPointer
    }

    deinit {
        self.backend.release(address: self.address, byteCount: self.byteCount, hostPointer: self.hostPointer)
    }
}

import Synchronization

/// A block of memory on one device, freed when the last reference to it goes away.
///
/// `address` is the device address (on the CPU and on virtual GPUs, the host address of the block).
/// `hostPointer` is non-nil when the host can read and write the block directly.
public final class DeviceAllocation: @unchecked Sendable {
    // @unchecked Sendable: every stored property is immutable but `usedByDeviceWork`, an atomic; the
    // memory it names is synchronised by its users (copy-on-write arrays and device events), not by
    // this object.

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

    /// Whether this stands in for memory the device could not provide inside a failed task (see
    /// ``placeholder(on:byteCount:)``): no device work ever touches it.
    package let isPlaceholder: Bool

    /// For memory a GPU freed and handed out again: what marks the end of the work queued on it before
    /// it was freed (a CUDA event), which copies into it on other streams wait for.
    package let reuseFence: (any AnyObject & Sendable)?

    /// Whether device work (a kernel, a library call, a copy reading it) may have used the memory: a
    /// copy into it then waits for the work queued on its device, while a copy into memory nothing has
    /// used yet waits only for ``reuseFence``.
    private let usedByDeviceWork = Atomic<Bool>(false)

    /// Records that device work is about to use the memory (see ``mayBeInUseByDeviceWork``).
    package func noteDeviceUse() {
        if !self.usedByDeviceWork.load(ordering: .relaxed) { self.usedByDeviceWork.store(true, ordering: .relaxed) }
    }

    /// Whether device work may have used the memory since it was allocated.
    package var mayBeInUseByDeviceWork: Bool { self.usedByDeviceWork.load(ordering: .relaxed) }

    /// Wraps memory a backend has allocated; only backends create allocations.
    public init(backend: any DeviceBackend, address: UInt64, byteCount: Int, hostPointer: UnsafeMutableRawPointer?) {
        self.backend = backend
        self.address = address
        self.byteCount = byteCount
        self.hostPointer = hostPointer
        self.isPlaceholder = false
        self.reuseFence = nil
    }

    /// Wraps device memory reused after `fence` (see ``reuseFence``).
    package init(backend: any DeviceBackend, address: UInt64, byteCount: Int, reuseFence: any AnyObject & Sendable) {
        self.backend = backend
        self.address = address
        self.byteCount = byteCount
        self.hostPointer = nil
        self.isPlaceholder = false
        self.reuseFence = reuseFence
    }

    private init(placeholderOn backend: any DeviceBackend, byteCount: Int) {
        self.backend = backend
        self.byteCount = byteCount
        // Host-addressable devices get host memory, which the host's loops may read; other devices
        // get no memory at all (their kernels and copies are skipped once the task has failed).
        if backend.isHostAddressable {
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(byteCount, 1), alignment: 64)
            self.hostPointer = pointer
            self.address = UInt64(UInt(bitPattern: pointer))
        } else {
            self.hostPointer = nil
            self.address = 0
        }
        self.isPlaceholder = true
        self.reuseFence = nil
    }

    /// An allocation that stands for `byteCount` bytes `backend` could not allocate inside a task that
    /// has failed: the task's body goes on (its operators cannot throw), its device work is skipped, and
    /// the task fails when the body returns.
    package static func placeholder(on backend: any DeviceBackend, byteCount: Int) -> DeviceAllocation {
        DeviceAllocation(placeholderOn: backend, byteCount: byteCount)
    }

    deinit {
        if self.isPlaceholder {
            self.hostPointer?.deallocate()
        } else {
            self.backend.release(address: self.address, byteCount: self.byteCount, hostPointer: self.hostPointer)
        }
    }
}

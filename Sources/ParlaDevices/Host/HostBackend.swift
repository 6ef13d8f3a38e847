import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The CPU: host memory, copies with `memcpy`.
///
/// When CUDA GPUs are in use, a ``HostMemoryPinning`` hook makes large host allocations page-locked
/// ("pinned"), so that copies to and from the GPUs run at full bandwidth and asynchronously.
public final class HostBackend: DeviceBackend {
    /// Allocations at least this large are pinned when a pinning hook is installed.
    public static let pinningThreshold = 64 * 1024

    public let device = Device.cpu
    public let name = "CPU"
    public let memoryCapacity: Int? = nil
    public let isHostAddressable = true

    private let inUse = Atomic<Int>(0)
    private let pinning: (any HostMemoryPinning)?

    /// A host backend; `pinning`, when given, allocates large blocks as page-locked memory.
    public init(pinning: (any HostMemoryPinning)? = nil) {
        self.pinning = pinning
    }

    public var memoryInUse: Int { self.inUse.load(ordering: .relaxed) }

    public func allocate(byteCount: Int) throws(DeviceError) -> DeviceAllocation {
        parlaPrecondition(byteCount >= 0, "cannot allocate a negative number of bytes (\(byteCount)) on cpu")
        let size = Swift.max(byteCount, 1)
        let pointer: UnsafeMutableRawPointer
        if let pinning, size >= Self.pinningThreshold, let pinned = pinning.allocatePinned(byteCount: size) {
            pointer = pinned
        } else {
            pointer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        }
        self.inUse.add(byteCount, ordering: .relaxed)
        return DeviceAllocation(
            backend: self,
            address: UInt64(UInt(bitPattern: pointer)),
            byteCount: byteCount,
            hostPointer: pointer
        )
    }

    public func release(address: UInt64, byteCount: Int, hostPointer: UnsafeMutableRawPointer?) {
        guard let hostPointer else { return }
        self.inUse.subtract(byteCount, ordering: .relaxed)
        if let pinning, Swift.max(byteCount, 1) >= Self.pinningThreshold, pinning.freePinned(hostPointer) {
            return
        }
        hostPointer.deallocate()
    }

    /// Whether a host block is page-locked (pinned).
    public func isPinned(_ allocation: DeviceAllocation) -> Bool {
        guard let pinning, let pointer = allocation.hostPointer else { return false }
        return pinning.isPinned(pointer)
    }

    public func copy(
        from source: DeviceAllocation,
        at sourceOffset: Int,
        to destination: DeviceAllocation,
        at destinationOffset: Int,
        byteCount: Int
    ) throws(DeviceError) -> DeviceEvent {
        guard let from = source.hostPointer, let to = destination.hostPointer else {
            parlaPreconditionFailure("the CPU cannot copy from \(source.device) to \(destination.device) by itself")
        }
        memmove(to + destinationOffset, from + sourceOffset, byteCount)
        return .completed
    }

    public func synchronize() throws(DeviceError) {}
}

/// Page-locked host memory, provided by the CUDA backend to the host backend.
public protocol HostMemoryPinning: Sendable {
    /// Allocates `byteCount` bytes of page-locked memory, or returns `nil` to fall back to normal memory.
    func allocatePinned(byteCount: Int) -> UnsafeMutableRawPointer?
    /// Frees a block from ``allocatePinned(byteCount:)``; returns `false` if the block is not pinned.
    func freePinned(_ pointer: UnsafeMutableRawPointer) -> Bool
    /// Whether the block starting at `pointer` came from ``allocatePinned(byteCount:)``.
    func isPinned(_ pointer: UnsafeMutableRawPointer) -> Bool
}

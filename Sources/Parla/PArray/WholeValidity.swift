import ParlaDevices
import Synchronization

/// Per device, whether a whole `PArray` is valid there and has its buffer: one bit per device (bit
/// `index + 1` for GPUs, bit 0 for the CPU). Written under the array's lock after every change; read
/// without it.
///
/// It is an object of its own so that a task about to read an array can check it without touching the
/// array's reference count, which all the workers running that array's tasks would contend for.
final class WholeValidity: Sendable {
    private let mask = Atomic<UInt64>(0)

    /// The bit of `device` (0 for a GPU index past 62: never marked valid, so always checked fully).
    @inline(__always)
    static func bit(_ device: Device) -> UInt64 {
        let position = device.index + 1
        return position < 64 ? 1 << UInt64(position) : 0
    }

    /// Whether the whole array is valid on `device`.
    @inline(__always)
    func isValid(on device: Device) -> Bool {
        self.mask.load(ordering: .acquiring) & Self.bit(device) != 0
    }

    /// Publishes the devices where the whole array is valid.
    func publish(_ mask: UInt64) {
        self.mask.store(mask, ordering: .releasing)
    }
}

/// A `PArray` (or region) a task declared, with how it accesses it.
struct DeclaredAccess {
    /// The array or region; keeps the array alive while the task may run.
    let access: any _PArrayAccessing
    let mode: AccessMode
    /// The array's validity bits, without reference counting (`access` keeps them alive).
    let wholeValidity: Unmanaged<WholeValidity>

    init(_ access: any _PArrayAccessing, _ mode: AccessMode) {
        self.access = access
        self.mode = mode
        self.wholeValidity = Unmanaged.passUnretained(access.wholeValidity)
    }
}

import ParlaDevices
import Synchronization

/// The devices where a whole `PArray` is valid and has its buffer (a ``DeviceSet``). Written under the
/// array's lock after every change; read without it.
///
/// It is an object of its own so that a task about to read an array can check it without touching the
/// array's reference count, which all the workers running that array's tasks would contend for.
final class WholeValidity: Sendable {
    private let mask = Atomic<UInt64>(0)

    /// Whether the whole array is valid on `device`.
    @inline(__always)
    func isValid(on device: Device) -> Bool {
        self.mask.load(ordering: .acquiring) & DeviceSet.bit(device) != 0
    }

    /// Publishes the devices where the whole array is valid.
    func publish(_ devices: DeviceSet) {
        self.mask.store(devices.mask, ordering: .releasing)
    }
}

/// A `PArray` (or region) a task declared, with how it accesses it.
struct DeclaredAccess {
    /// The array or region; keeps the array alive while the task may run.
    let access: any DeclaredRegion
    let mode: AccessMode
    /// The array's validity bits, without reference counting (`access` keeps them alive).
    let wholeValidity: Unmanaged<WholeValidity>
    /// The position among a multi-device task's devices of the one the region is for (`forDevice(_:)`),
    /// or `nil`: the task's device (for a multi-device task's input, each of them).
    let deviceIndex: Int?

    init(_ access: any DeclaredRegion, _ mode: AccessMode, deviceIndex: Int? = nil) {
        self.access = access
        self.mode = mode
        self.wholeValidity = Unmanaged.passUnretained(access.wholeValidity)
        self.deviceIndex = deviceIndex
    }

    /// A task's declaration of `region` for `mode`.
    init(_ region: PArrayAccessRegion, _ mode: AccessMode) {
        self.init(region.base, mode, deviceIndex: region.deviceIndex)
    }

    /// Whether the access is for `device`, the device at `position` among `record`'s (a
    /// multi-device task's device-specific regions are for their device only).
    func isFor(_ device: Device, of record: TaskRecord) -> Bool {
        guard let deviceIndex else { return true }
        if record.groupDevices.isEmpty { return deviceIndex == 0 && record.device == device }
        return deviceIndex < record.groupDevices.count && record.groupDevices[deviceIndex] == device
    }
}

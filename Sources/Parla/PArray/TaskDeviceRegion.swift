/// A region of a `PArray` declared for one device of a multi-device task: moved to that device (and
/// written there, in `output` or `inOut`) before the body runs. Made by ``PArray/forDevice(_:)``.
///
/// ```swift
/// spawn(placement: gpu * 2, input: [A[0..<n].forDevice(0), A[n..<2 * n].forDevice(1)]) {
///     CurrentTask.current!.forEachDevice { index, device in
///         print(device, A[index * n..<(index + 1) * n].array.sum())
///     }
/// }
/// ```
///
/// Parla (Python) equivalent: `input=[(A, 0), (B, 1)]` (parla-experimental).
public struct TaskDeviceRegion: PArrayAccess {
    /// The region, and the position of its device among the task's.
    public let declaredRegion: PArrayAccessRegion

    /// The position of the region's device among the task's devices.
    public var deviceIndex: Int { self.declaredRegion.deviceIndex ?? 0 }
}

extension PArray {
    /// This region, declared for the task's device at position `index` (`0` is its first): in a
    /// multi-device task, moved to that device only; `.array` there, inside
    /// ``CurrentTask/forEachDevice(_:)``, is its copy on that device.
    ///
    /// Parla (Python) equivalent: `(A, index)` in `input`, `output` or `inout`.
    /// - Precondition: `index >= 0`; at spawn, `index` is less than the task's number of devices.
    public func forDevice(_ index: Int) -> TaskDeviceRegion {
        parlaPrecondition(index >= 0, "forDevice(\(index)) on \(self.storage.label): a device position is 0 or more")
        return TaskDeviceRegion(declaredRegion: PArrayAccessRegion(base: self, deviceIndex: index))
    }
}

import Dispatch
import ParlaDevices

/// Copies into one device's buffer of a `PArray`, in progress outside the array's lock. Registered in
/// the array's state while they run, so that other accesses to that buffer (or writes to the region)
/// wait for them; the protocol's state changes only when they have all completed.
final class PendingMove: Sendable {
    /// The device whose buffer is filled.
    let destination: Device
    /// The region made valid there.
    let box: Box
    /// The access it is for.
    let mode: AccessMode
    /// The array's contents generation it copies (see `PArrayStorage.State.epoch`).
    let epoch: Int
    private let finished = DispatchGroup()

    init(destination: Device, box: Box, mode: AccessMode, epoch: Int) {
        self.destination = destination
        self.box = box
        self.mode = mode
        self.epoch = epoch
        self.finished.enter()
    }

    /// Whether an access of `region` on `device` must wait for this move: it uses the same buffer, or
    /// it writes where this move reads or fills.
    func blocks(_ region: Box, on device: Device, writing: Bool) -> Bool {
        device == self.destination || (writing && self.box.intersection(region) != nil)
    }

    /// Ends the move (after its outcome is in the array's state).
    func finish() { self.finished.leave() }

    /// Blocks until the move has ended.
    func waitUntilFinished() { self.finished.wait() }
}

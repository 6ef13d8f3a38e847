import Dispatch
import ParlaDevices

/// Copies into devices' buffers of a `PArray` (one device's, or several for a shared read), in progress
/// outside the array's lock. Registered in the array's state while they run, so that other accesses to
/// those buffers (or writes to the region) wait for them; the protocol's state changes only when they
/// have all completed.
final class PendingMove: Sendable {
    /// The devices whose buffers are filled.
    let destinations: [Device]
    /// The region made valid there.
    let box: Box
    /// The access it is for.
    let mode: AccessMode
    /// The array's contents generation it copies (see `PArrayStorage.State.epoch`).
    let epoch: Int
    private let finished = DispatchGroup()

    init(destinations: [Device], box: Box, mode: AccessMode, epoch: Int) {
        self.destinations = destinations
        self.box = box
        self.mode = mode
        self.epoch = epoch
        self.finished.enter()
    }

    /// Whether an access of `region` on `device` must wait for this move: it uses a buffer this move
    /// fills, or it writes where this move reads or fills.
    func blocks(_ region: Box, on device: Device, writing: Bool) -> Bool {
        // (A move of contents an `update` has replaced may have another rank: it overlaps nothing.)
        self.destinations.contains(device)
            || (writing && self.box.rank == region.rank && self.box.intersects(region))
    }

    /// Ends the move (after its outcome is in the array's state).
    func finish() { self.finished.leave() }

    /// Blocks until the move has ended.
    func waitUntilFinished() { self.finished.wait() }
}

import ParlaDevices
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An array that holds copies on the run's devices, which the run may evict to make room.
protocol ResidentArray: AnyObject, Sendable {
    /// The bytes of the array's buffer on `device`, and whether that copy holds data no other device
    /// has (evicting it then writes the data back to the host first); `nil` when it has no buffer there.
    func residency(on device: Device) -> (bytes: Int, holdsSoleCopy: Bool)?
    /// When the array is next needed: the spawn order of the earliest-spawned task not started yet that
    /// declared it, or `nil` when no such task will use it.
    func nextUse() -> UInt64?
    /// Drops the copy on `device` (a GPU that no running task uses the copy on) to make room, writing
    /// data only it holds back to the host first. Returns whether the copy was dropped.
    func evictToMakeRoom(on device: Device, run: RunScope) -> Bool
}

/// What device-memory eviction did in a run (``DataMovementLog/currentRunEvictions``).
public struct EvictionCounts: Hashable, Sendable, CustomStringConvertible {
    /// Copies dropped because another device held their data too.
    public var dropped = 0
    /// Copies that held the only valid data of some part of their array: written back to the host,
    /// then dropped.
    public var writtenBack = 0
    /// Bytes of device memory the evictions gave back.
    public var bytesFreed = 0

    /// No evictions.
    public init() {}

    /// The evictions counted since `earlier` (an earlier reading of the same run's counts).
    public func since(_ earlier: EvictionCounts) -> EvictionCounts {
        var counts = EvictionCounts()
        counts.dropped = self.dropped - earlier.dropped
        counts.writtenBack = self.writtenBack - earlier.writtenBack
        counts.bytesFreed = self.bytesFreed - earlier.bytesFreed
        return counts
    }

    /// `3 evictions (2 dropped, 1 written back), 24.0 MB freed`, or `no evictions`.
    public var description: String {
        let count = self.dropped + self.writtenBack
        if count == 0 { return "no evictions" }
        let megabytes = (Double(self.bytesFreed) / 1e5).rounded() / 10
        return
            "\(count) eviction\(count == 1 ? "" : "s") (\(self.dropped) dropped, \(self.writtenBack) written back), \(megabytes) MB freed"
    }
}

/// Device memory: when a task's data does not fit on its device, copies that no running task uses
/// give way, and the move is tried again.
///
/// The victims, in order:
/// 1. copies whose data another device also holds (dropped: nothing moves), before copies holding the
///    only valid data of some part of their array (written back to the host, then dropped);
/// 2. within each kind, the copy whose array the tasks already spawned need furthest in the future
///    (never, first);
/// 3. then the least recently used.
///
/// Copies of arrays that running tasks declared are pinned and never evicted; on a device of bounded
/// memory a task also reserves its working set, and starts beside the running tasks only when their
/// reservations fit together. A task whose move finds no victim gives up its own pins and waits while
/// running tasks (that are not themselves waiting, or suspended on an await) may give memory back; a
/// synchronous body that finds no room waits keeping its pins. A task fails when nothing can give
/// memory back any more: with ``ParlaError/unsatisfiableResources(task:detail:)`` when its own declared
/// data cannot fit on the device at all. Prefetches never evict, and start only when the device has
/// room for their copy (which a ready task's move may then evict).
extension RunScope {
    /// Makes `array`'s buffer on `device` (`allocate`) and records the copy in the run's books, as one
    /// step for tasks looking for room there.
    func allocateResident(
        _ array: any ResidentArray,
        on device: Device,
        _ allocate: () throws(DeviceError) -> Void
    ) throws(DeviceError) {
        try self.residency.allocateResident(array, on: self.position(of: device), allocate)
    }

    /// Bytes free on `device` by its backend's count, or `nil` when its memory is unbounded.
    func freeMemory(on device: Device) -> Int? {
        guard let backend = try? self.registry.backend(for: device), let capacity = backend.memoryCapacity else {
            return nil
        }
        return capacity - backend.memoryInUse
    }

    /// Before `record` runs on `device`: when less memory is free there than the task reserved, copies
    /// give way.
    func makeRoomForReservation(of record: TaskRecord, on device: Device) {
        guard let free = self.freeMemory(on: device), free < record.memory else { return }
        _ = self.evictForRoom(on: device, needing: record.memory, sparing: record)
    }

    /// Evicts copies from `device`, in the order the policy above gives, until `bytes` are free there
    /// by the backend's count (at least one copy); `record`'s own arrays are spared. Returns whether any
    /// copy was dropped (then the allocation is worth trying again).
    func evictForRoom(on device: Device, needing bytes: Int, sparing record: TaskRecord?) -> Bool {
        let slot = self.position(of: device)
        guard self.residency.tracks(slot) else { return false }
        let sparing = Set(record?.accesses.map(\.access.resident).map(ObjectIdentifier.init) ?? [])
        var candidates: [(array: any ResidentArray, bytes: Int, sole: Bool, nextUse: UInt64, lastUse: UInt64)] = []
        for (array, lastUse) in self.residency.idleResidents(on: slot, sparing: sparing) {
            guard let (bufferBytes, sole) = array.residency(on: device) else { continue }
            candidates.append((array, bufferBytes, sole, array.nextUse() ?? UInt64.max, lastUse))
        }
        candidates.sort { a, b in
            if a.sole != b.sole { return !a.sole }
            if a.nextUse != b.nextUse { return a.nextUse > b.nextUse }
            if a.lastUse != b.lastUse { return a.lastUse < b.lastUse }
            return a.bytes > b.bytes
        }
        var evicted = false
        for candidate in candidates {
            if evicted, let free = self.freeMemory(on: device), free >= bytes { break }
            guard self.residency.beginEviction(of: candidate.array, on: slot) else { continue }
            let dropped = candidate.array.evictToMakeRoom(on: device, run: self)
            self.residency.endEviction(of: candidate.array, on: slot, dropped: dropped)
            guard dropped else { continue }
            evicted = true
            self.evictions.withLock { counts in
                if candidate.sole { counts.writtenBack += 1 } else { counts.dropped += 1 }
                counts.bytesFreed += candidate.bytes
            }
        }
        return evicted
    }

    /// Inside `record`'s body, an allocation of `bytes` on `device` failed for lack of memory: copies
    /// give way, or the task waits (keeping its own) while other running tasks may give some back. Returns whether the allocation is worth trying again. (An asynchronous
    /// body does not wait: it would hold a thread of Swift's cooperative pool, which the tasks it waits
    /// for may need.)
    func makeRoomInsideBody(of record: TaskRecord, on device: Device, needing bytes: Int) -> Bool {
        let slot = self.position(of: device)
        guard self.residency.tracks(slot), let capacity = self.ledger.capacity(of: slot), bytes <= capacity else {
            return false
        }
        let releases = self.residency.releaseCount
        if self.evictForRoom(on: device, needing: bytes, sparing: record) { return true }
        if record.isAsync { return false }
        return self.residency.waitForRelease(
            since: releases,
            holdingPinsOf: record.holdsPins ? ObjectIdentifier(record) : nil
        )
    }

    /// Pins the arrays `record` declared on `device` (their copies there are not evicted until it
    /// finishes), waiting for evictions of them in progress first. On a device of bounded memory, the
    /// task also reserves its working set there, plus room for one temporary as large as its largest
    /// array: it starts beside the running tasks only when their reservations and its own fit together
    /// (otherwise it waits for them, unless nothing can give memory back).
    ///
    /// A multi-device task pins on each of its devices, all or none (see `pinDeclaredArrays(ofGroup:)`).
    func pinDeclaredArrays(of record: TaskRecord, on device: Device) {
        if !record.groupDevices.isEmpty { return self.pinDeclaredArrays(ofGroup: record) }
        let slot = self.position(of: device)
        guard self.residency.tracks(slot), !record.accesses.isEmpty, let capacity = self.ledger.capacity(of: slot)
        else { return }
        let (workingSet, reservation) = self.reservation(of: record, on: device)
        // (A task whose own data cannot fit waits for nobody: its moves fail, naming its working set.)
        self.pinWaitingForRoom(force: workingSet > capacity) { force in
            self.residency.pin(record.accesses, on: slot, reserving: reservation, capacity: capacity, force: force)
        }
        record.holdsPins = true
        record.reservedBytes = reservation
    }

    /// Pins `record`'s arrays on each of its devices of bounded memory, all or none (so that it never
    /// holds one device's pins while it waits for another's room), reserving on each the working set
    /// of its regions there plus room for a temporary as large as the largest of them.
    private func pinDeclaredArrays(ofGroup record: TaskRecord) {
        var targets: [(slot: Int, accesses: [DeclaredAccess], bytes: Int, capacity: Int)] = []
        var force = false
        for device in record.groupDevices {
            let slot = self.position(of: device)
            guard self.residency.tracks(slot), let capacity = self.ledger.capacity(of: slot) else { continue }
            let (workingSet, reservation) = self.reservation(of: record, on: device)
            targets.append((slot, self.accesses(of: record, on: device), reservation, capacity))
            force = force || workingSet > capacity
        }
        guard !targets.isEmpty else { return }
        self.pinWaitingForRoom(force: force) { force in self.residency.pin(onEach: targets, force: force) }
        record.holdsPins = true
    }

    /// Tries `pin` (told whether to force it) until it has pinned, waiting for evictions in progress
    /// and for running tasks to give memory back; forced once none can.
    private func pinWaitingForRoom(force: Bool, _ pin: (_ force: Bool) -> DeviceResidency.PinOutcome) {
        var force = force
        while true {
            switch pin(force) {
            case .pinned:
                return
            case .evicting(let eviction):
                eviction.wait()
            case .full(let releases):
                // (When no running task can give memory back, the task starts anyway.)
                force = !self.residency.waitForRelease(since: releases, holdingPinsOf: nil)
            }
        }
    }

    /// The accesses of a multi-device task that are for `device` (those it pins there).
    private func accesses(of record: TaskRecord, on device: Device) -> [DeclaredAccess] {
        record.accesses.filter { $0.isFor(device, of: record) }
    }

    /// What `record` reserves on `device` with its pins: the working set of its regions there, plus room
    /// for a temporary as large as the largest of them (and that working set).
    private func reservation(of record: TaskRecord, on device: Device) -> (workingSet: Int, reserved: Int) {
        var largest = 0
        for entry in record.accesses where entry.isFor(device, of: record) {
            largest = Swift.max(largest, entry.access.bufferBytes)
        }
        let workingSet = self.workingSetBytes(of: record, on: device)
        return (workingSet, workingSet + largest)
    }

    /// Unpins what ``pinDeclaredArrays(of:on:)`` pinned; returns the device's release count before and
    /// after (`nil` when nothing was pinned).
    @discardableResult
    func unpinDeclaredArrays(of record: TaskRecord, on device: Device) -> (before: UInt64, after: UInt64)? {
        guard record.holdsPins else { return nil }
        record.holdsPins = false
        if !record.groupDevices.isEmpty {
            // (From before the first unpin to after the last. The task stops counting as pinning with
            // its last unpin: until then, tasks waiting for room may count on it.)
            let slots = record.groupDevices.map(self.position(of:)).filter {
                self.residency.tracks($0) && self.ledger.capacity(of: $0) != nil
            }
            var counts: (before: UInt64, after: UInt64)? = nil
            for (position, slot) in slots.enumerated() {
                let member = self.devices[slot]
                let unpinned = self.residency.unpin(
                    self.accesses(of: record, on: member),
                    on: slot,
                    reserved: self.reservation(of: record, on: member).reserved,
                    countingTask: position == slots.count - 1
                )
                counts = (counts?.before ?? unpinned.before, unpinned.after)
            }
            return counts
        }
        return self.residency.unpin(
            record.accesses,
            on: self.position(of: device),
            reserved: record.reservedBytes
        )
    }

    /// What a task whose move found no room does next.
    enum RoomForMove {
        /// Copies were evicted: try the move again.
        case retry
        /// The task gave up its pins and waited: the copies it moved in before may have been evicted
        /// meanwhile, so all its moves are made again.
        case restartMoves
        /// Nothing can ever free enough.
        case fail
    }

    /// `record`'s move into `device` failed for lack of room (`bytes` asked for): copies give way, or
    /// the task gives up its pins and waits while other running tasks may give memory back.
    func makeRoomForMove(of record: TaskRecord, on device: Device, needing bytes: Int, releases: UInt64) -> RoomForMove
    {
        let slot = self.position(of: device)
        guard self.residency.tracks(slot) else { return .fail }
        // A task whose own data cannot fit does not wait for anything.
        if let capacity = self.ledger.capacity(of: slot), self.workingSetBytes(of: record, on: device) > capacity {
            return .fail
        }
        if self.evictForRoom(on: device, needing: bytes, sparing: record) { return .retry }
        // Nothing to evict now: the running tasks' copies are pinned. Waiting with this task's own
        // pins held could deadlock with another task waiting for them; they are given up meanwhile
        // (which is not memory given back for this task's own purposes).
        var since = releases
        let unpinned = self.unpinDeclaredArrays(of: record, on: device)
        if let (before, after) = unpinned, before == releases { since = after }
        let released = self.residency.waitForRelease(since: since, holdingPinsOf: nil)
        if unpinned != nil { self.pinDeclaredArrays(of: record, on: device) }
        return released ? .restartMoves : .fail
    }

    /// The bytes of the distinct arrays `record` declared (whole buffers: a device holds an array's
    /// whole buffer), plus the memory it reserves; for a multi-device task and a `device`, of the
    /// regions it declared for that device.
    func workingSetBytes(of record: TaskRecord, on device: Device? = nil) -> Int {
        var seen = Set<ObjectIdentifier>()
        var bytes = record.memory
        for entry in record.accesses {
            if let device, !entry.isFor(device, of: record) { continue }
            if seen.insert(ObjectIdentifier(entry.access.resident)).inserted { bytes += entry.access.bufferBytes }
        }
        return bytes
    }
}

extension TaskRecord {
    /// The task's asynchronous body suspends on (`true`) or resumes from an await of another task or
    /// id: while its pins hold memory, tasks waiting for room must not count on it.
    func noteSuspension(_ suspended: Bool) {
        guard self.holdsPins else { return }
        self.withScope { $0.residency.noteSuspension(suspended) }
    }
}

extension PArrayStorage: ResidentArray {
    func residency(on device: Device) -> (bytes: Int, holdsSoleCopy: Bool)? {
        self.state.withLock { state in
            guard let buffer = state.buffers[device] else { return nil }
            let bytes = buffer.memory.allocation.byteCount
            var planned = state.coherence
            let copies = planned.evict(device, keepOneCopy: true, fallback: device == .cpu ? .gpu(0) : .cpu) ?? []
            return (bytes, !copies.isEmpty)
        }
    }

    func nextUse() -> UInt64? { self.history.withLock { $0.upcoming.next() } }

    func evictToMakeRoom(on device: Device, run: RunScope) -> Bool {
        guard device != .cpu, self.state.withLock({ $0.buffers[device] != nil }) else { return false }
        do {
            // (No task uses the copy: the run's books pinned it otherwise. Tasks writing the array on
            // other devices go on.)
            return try self.evict(
                device,
                keepOneCopy: true,
                fallback: .cpu,
                registry: run.registry,
                run: run,
                waitingForRunningWriters: false
            )
        } catch {
            // The data stays where it is (an eviction changes nothing unless its copies succeed).
            return false
        }
    }
}

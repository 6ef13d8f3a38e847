import ParlaDevices
import Synchronization

/// An array that holds copies on the run's devices, which the run may evict to make room.
protocol ResidentArray: AnyObject, Sendable {
    /// Drops the copy on `device` to make room, keeping its data elsewhere (moved to the host when
    /// only `device` holds some of it), unless a running task writes the array. Returns whether the
    /// copy was dropped.
    func evictToMakeRoom(on device: Device, registry: DeviceRegistry) -> Bool
}

/// A resident array, not kept alive by the run.
struct WeakResidentArray {
    weak var array: (any ResidentArray)?
}

/// Device memory: when a task's data does not fit on its device, the copies that the run's tasks left
/// there (and prefetches made for tasks still waiting) give way, and the move is tried again. A
/// waiting task's prefetched copy then never makes a ready task fail, and neither does a copy left by
/// a finished task.
extension RunScope {
    /// Records that `array` allocated a copy on `device` for this run.
    func noteResident(_ array: any ResidentArray, on device: Device) {
        let slot = self.position(of: device)
        self.residentArrays.withLock { $0[slot][ObjectIdentifier(array)] = WeakResidentArray(array: array) }
    }

    /// Before `record` runs on `device`: when less memory is free there than the task reserved, the
    /// copies of arrays it does not use give way.
    func makeRoomForReservation(of record: TaskRecord, on device: Device) {
        guard let backend = try? self.registry.backend(for: device), let capacity = backend.memoryCapacity,
            capacity - backend.memoryInUse < record.memory
        else { return }
        _ = self.makeRoom(on: device, for: record)
    }

    /// Evicts from `device` the copies of this run's arrays, except those `record` (the task that needs
    /// the room) declared. Returns whether any copy was dropped.
    func makeRoom(on device: Device, for record: TaskRecord) -> Bool {
        let sparing = Set(record.accesses.map(\.access.storageIdentity))
        let slot = self.position(of: device)
        let candidates = self.residentArrays.withLock { residents -> [any ResidentArray] in
            residents[slot] = residents[slot].filter { $0.value.array != nil }
            return residents[slot].compactMap { key, value in sparing.contains(key) ? nil : value.array }
        }
        var evicted = false
        for array in candidates where array.evictToMakeRoom(on: device, registry: self.registry) {
            evicted = true
        }
        return evicted
    }
}

extension PArrayStorage: ResidentArray {
    func evictToMakeRoom(on device: Device, registry: DeviceRegistry) -> Bool {
        let idle = self.state.withLock { $0.buffers[device] != nil } && self.hasNoRunningWriters
        guard idle else { return false }
        do {
            return try self.evict(
                device,
                keepOneCopy: true,
                fallback: device == .cpu ? .gpu(0) : .cpu,
                registry: registry
            )
        } catch {
            // The data stays where it is (an eviction changes nothing unless its copies succeed).
            return false
        }
    }
}

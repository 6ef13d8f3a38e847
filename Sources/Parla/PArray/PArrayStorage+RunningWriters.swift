#if canImport(Glibc)
import Glibc
#endif

/// Tasks that are writing an array right now. A task writes its device's buffer directly, and the
/// coherence protocol already counts that copy as the only valid one from the moment the task's data
/// moved in; an access outside tasks (the program reading `A.array` on the calling thread, or a
/// detached Swift task) or an eviction in the meantime would copy or drop data that is still being
/// written. Those wait until the writers of the region they touch have finished.
extension PArrayStorage {
    /// Records (under the lock, from ``prepare(_:on:mode:registry:run:writer:isObsolete:)``) that
    /// `task` writes `region` from now until ``endWrite(by:failed:)``, remembering which devices held
    /// it before (to put back if it fails). Once per task and region.
    /// `before`, when given, is the region's pieces as they are (a ``CoherenceProtocol/snapshot(of:)``).
    func beginWrite(
        _ region: Box,
        by task: TaskRecord,
        before: [(box: Box, holders: DeviceSet)]? = nil,
        in state: inout State
    ) {
        let identity = ObjectIdentifier(task)
        self.runningWriters.withLock { writers in
            if writers.contains(where: { $0.task == identity && $0.region == region }) { return }
            writers.append(
                RunningWriter(
                    task: identity,
                    region: region,
                    before: before ?? state.coherence.snapshot(of: region),
                    epoch: state.epoch
                )
            )
        }
    }

    /// Records that `task`'s body wrote `box` of its copy on `device` in place (see
    /// ``endWrite(by:failed:)``): the task's writes of regions that `box` meets (a multi-device task
    /// writes each of its regions on its own device).
    func noteWrite(by task: TaskRecord, on device: Device, box: Box) {
        let identity = ObjectIdentifier(task)
        self.runningWriters.withLock { writers in
            for index in writers.indices where writers[index].task == identity && writers[index].region.intersects(box)
            {
                writers[index].wroteInPlace = device
            }
        }
    }

    /// Records that `task` has finished. When it `failed`, the regions it wrote are as they were before
    /// it started: the devices that held them then hold them again (unless `update` replaced the
    /// contents since), so that the array keeps its last completed write.
    func endWrite(by task: TaskRecord, failed: Bool) {
        let identity = ObjectIdentifier(task)
        guard failed else {
            // (Without taking `state`, which the workers moving this array's data hold.)
            self.runningWriters.withLock { $0.removeAll { $0.task == identity } }
            return
        }
        self.state.withLock { state in
            let ended = self.runningWriters.withLock { writers in
                defer { writers.removeAll { $0.task == identity } }
                return writers.filter { $0.task == identity }
            }
            for writer in ended where writer.epoch == state.epoch {
                state.coherence.restore(
                    writer.region,
                    from: writer.before,
                    overwritten: writer.wroteInPlace,
                    present: DeviceSet(Set(state.buffers.keys))
                )
                // A task released when this one's work was queued on its GPU (runahead) started on top
                // of this unfinished write, and took its output for what was there before; with this
                // write failed, what was there before is what this restore left (the copy this one
                // overwrote no longer counted).
                let restored = state.coherence.snapshot(of: writer.region)
                self.runningWriters.withLock { writers in
                    for index in writers.indices
                    where writers[index].epoch == writer.epoch && writers[index].region.intersects(writer.region) {
                        writers[index].before = Self.replacing(
                            writers[index].before,
                            in: writer.region,
                            by: restored,
                            within: writers[index].region
                        )
                    }
                }
            }
            self.publishWholeValidity(state)
        }
    }

    /// The pieces of a writer's region `within`, with the part inside `region` replaced by the pieces
    /// of `replacement` there.
    static func replacing(
        _ pieces: [(box: Box, holders: DeviceSet)],
        in region: Box,
        by replacement: [(box: Box, holders: DeviceSet)],
        within: Box
    ) -> [(box: Box, holders: DeviceSet)] {
        var result: [(box: Box, holders: DeviceSet)] = []
        for (box, holders) in pieces {
            for rest in box.subtracting(region) { result.append((rest, holders)) }
        }
        for (box, holders) in replacement {
            if let inside = box.intersection(within) { result.append((inside, holders)) }
        }
        return result
    }

    /// Whether no task is writing the array now.
    var hasNoRunningWriters: Bool { self.runningWriters.withLock { $0.isEmpty } }

    /// Blocks until no running task writes a part of `region` (`nil`: the whole array), except the
    /// calling task itself (which evicts, say, an array it writes).
    func waitForRunningWriters(overlapping region: Box?) {
        let caller = RunScope.currentTask.map(ObjectIdentifier.init)
        let region = region ?? Box(shape: self.shape)
        var pause: UInt32 = 20
        while self.runningWriters.withLock({ writers in
            writers.contains {
                $0.task != caller && $0.region.rank == region.rank && $0.region.intersects(region)
            }
        }) {
            // Writers are task bodies, which take a while: back off up to 2 ms between looks.
            usleep(pause)
            pause = Swift.min(2 * pause, 2000)
        }
    }
}

/// A task writing an array now (see `PArrayStorage.beginWrite`).
struct RunningWriter {
    var task: ObjectIdentifier
    var region: Box
    /// The pieces of the region before the task's data moved in.
    var before: [(box: Box, holders: DeviceSet)]
    /// The array's contents generation then (`update` raises it).
    var epoch: Int
    /// The device whose copy the task's body wrote in place, if it wrote.
    var wroteInPlace: Device? = nil
}

#if canImport(Glibc)
import Glibc
#endif

/// Tasks that are writing an array right now. A task writes its device's buffer directly, and the
/// coherence protocol already counts that copy as the only valid one from the moment the task's data
/// moved in; an access outside tasks (the program reading `A.array` on the calling thread, or a
/// detached Swift task) or an eviction in the meantime would copy or drop data that is still being
/// written. Those wait until the writers of the region they touch have finished.
extension PArrayStorage {
    /// Records that `task` writes `region` (`nil`: the whole array) from now until
    /// ``endWrite(by:failed:)``, remembering which devices held it before (to put back if it fails).
    func beginWrite(_ region: Box?, by task: TaskRecord) {
        self.state.withLock { state in
            state.runningWriters.append(
                RunningWriter(
                    task: ObjectIdentifier(task),
                    region: region ?? state.wholeBox,
                    before: state.coherence,
                    epoch: state.epoch
                )
            )
        }
    }

    /// Records that `task`'s body wrote its copy on `device` in place (see ``endWrite(by:failed:)``).
    func noteWrite(by task: TaskRecord, on device: Device, in state: inout State) {
        let identity = ObjectIdentifier(task)
        for index in state.runningWriters.indices where state.runningWriters[index].task == identity {
            state.runningWriters[index].wroteInPlace = device
        }
    }

    /// Records that `task` has finished. When it `failed`, the regions it wrote are as they were before
    /// it started: the devices that held them then hold them again (unless `update` replaced the
    /// contents since), so that the array keeps its last completed write.
    func endWrite(by task: TaskRecord, failed: Bool) {
        let identity = ObjectIdentifier(task)
        self.state.withLock { state in
            if failed {
                for writer in state.runningWriters where writer.task == identity && writer.epoch == state.epoch {
                    state.coherence.restore(writer.region, from: writer.before, overwritten: writer.wroteInPlace)
                }
                self.publishWholeValidity(state)
            }
            state.runningWriters.removeAll { $0.task == identity }
        }
    }

    /// Blocks until no running task writes a part of `region` (`nil`: the whole array), except the
    /// calling task itself (which evicts, say, an array it writes).
    func waitForRunningWriters(overlapping region: Box?) {
        let caller = RunScope.currentTask.map(ObjectIdentifier.init)
        var pause: UInt32 = 20
        while self.state.withLock({ state in
            let region = region ?? state.wholeBox
            return state.runningWriters.contains {
                $0.task != caller && $0.region.rank == region.rank && $0.region.intersection(region) != nil
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
    /// The protocol's state before the task's data moved in (its pieces are shared, not copied).
    var before: CoherenceProtocol
    /// The array's contents generation then (`update` raises it).
    var epoch: Int
    /// The device whose copy the task's body wrote in place, if it wrote.
    var wroteInPlace: Device? = nil
}

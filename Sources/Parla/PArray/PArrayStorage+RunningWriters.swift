#if canImport(Glibc)
import Glibc
#endif

/// Tasks that are writing an array right now. A task writes its device's buffer directly, and the
/// coherence protocol already counts that copy as the only valid one from the moment the task's data
/// moved in; an access outside tasks (the program reading `A.array` on the calling thread, or a
/// detached Swift task) or an eviction in the meantime would copy or drop data that is still being
/// written. Those wait until the writers of the region they touch have finished.
extension PArrayStorage {
    /// Records that `task` writes `region` (`nil`: the whole array) from now until ``endWrite(by:)``.
    func beginWrite(_ region: Box?, by task: TaskRecord) {
        self.state.withLock { state in
            state.runningWriters.append((ObjectIdentifier(task), region ?? state.wholeBox))
        }
    }

    /// Records that `task` has finished (its writes are complete, or it failed).
    func endWrite(by task: TaskRecord) {
        let identity = ObjectIdentifier(task)
        self.state.withLock { state in state.runningWriters.removeAll { $0.task == identity } }
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

import ParlaDevices

/// Runahead: a task on a GPU whose work is still queued on the device's stream when its body returns
/// releases its successors at once; it completes later, when that work has (see
/// `RunScope+Runahead.swift`). A successor placed on the same GPU then queues its own work behind it
/// on the stream, with no host round trip; one that runs elsewhere waits for the completion.
///
/// Each released successor remembers its early predecessors. Before it is placed it checks them: a
/// failed one fails it; an unfinished one binds it to that GPU, or, when the task cannot run there,
/// parks it until that predecessor completes. When it completes (in stream order, after them), a
/// predecessor that failed fails it too.
extension TaskRecord {
    /// Releases the successors registered so far, at launch: each remembers this task as an early
    /// predecessor. Successors registered later are released at completion, as usual. Returns the ones
    /// now ready to run (the caller counts and submits them).
    func releaseSuccessorsAtLaunch() -> [TaskRecord] {
        let (first, more) = self.state.withLock { state in
            let taken = (state.firstSuccessor, state.moreSuccessors)
            state.firstSuccessor = nil
            if !state.moreSuccessors.isEmpty { state.moreSuccessors = [] }
            return taken
        }
        var ready: [TaskRecord] = []
        for successor in [first].compactMap({ $0 }) + more {
            successor.noteRunaheadPredecessor(self)
            if successor.releaseMakesReady() { ready.append(successor) }
        }
        return ready
    }

    /// From now on, a successor added does not wait for this task: its completion is queued (a
    /// successor that queues work behind it on its GPU completes after it).
    func markLaunched() { self.state.withLock { $0.launched = true } }

    /// Records that `predecessor` let this task go at its launch, before its device work finished.
    func noteRunaheadPredecessor(_ predecessor: TaskRecord) {
        self.state.withLock { $0.runaheadPredecessors.append(predecessor) }
        // Published by the release that makes the task ready (acquire and release on `remaining`).
        self.releasedAtLaunch.store(true, ordering: .relaxed)
    }

    /// What the early predecessors say about running this task now (see ``RunaheadDecision``).
    func runaheadDecision(canRunOn allowed: (Device) -> Bool) -> RunaheadDecision {
        let predecessors = self.state.withLock { $0.runaheadPredecessors }
        guard !predecessors.isEmpty else { return .run(on: nil) }
        var device: Device? = nil
        for predecessor in predecessors {
            switch predecessor.outcome() {
            case .some(.some):
                return .fail(.dependencyFailed(task: self.name, dependency: predecessor.name))
            case .some(.none):
                continue
            case .none:
                let there = predecessor.device
                if allowed(there) && (device == nil || device == there) {
                    device = there
                } else {
                    switch predecessor.parkUntilCompletion(self) {
                    case .parked: return .parked
                    case .failed: return .fail(.dependencyFailed(task: self.name, dependency: predecessor.name))
                    case .succeeded: continue
                    }
                }
            }
        }
        return .run(on: device)
    }

    /// What parking behind a task did.
    private enum Parking {
        case parked, succeeded, failed
    }

    /// Adds `waiter` to the tasks submitted again when this one completes; when it has completed
    /// already, adds nothing and says how it ended.
    private func parkUntilCompletion(_ waiter: TaskRecord) -> Parking {
        self.state.withLock { state in
            if state.completed { return state.failure == nil ? .succeeded : .failed }
            // (Before it can be submitted again, which this task's completion does, under this lock.)
            waiter.checkLifecycle(becoming: .pending)
            state.runaheadWaiters.append(waiter)
            return .parked
        }
    }

    /// At completion: the failure of an early predecessor, which finished before this task (in stream
    /// order), if one failed.
    func failedRunaheadPredecessor() -> ParlaError? {
        let predecessors = self.state.withLock { $0.runaheadPredecessors }
        for predecessor in predecessors {
            if case .some(.some) = predecessor.outcome() {
                return .dependencyFailed(task: self.name, dependency: predecessor.name)
            }
        }
        return nil
    }
}

/// What a task released early does when a worker takes it (``TaskRecord/runaheadDecision(canRunOn:)``).
enum RunaheadDecision {
    /// Runs, on the given GPU when an early predecessor's work is still queued there.
    case run(on: Device?)
    /// Fails: an early predecessor failed.
    case fail(ParlaError)
    /// Waits for an early predecessor to complete (it cannot run on that one's GPU).
    case parked
}

import Synchronization

/// Finds what in a run waits for something that can never happen (an id never spawned, a cycle of
/// dependencies or of awaits) once the run's accounting says nothing can progress, and fails it with
/// a report, so that the run ends instead of hanging.
final class StallDetector: Sendable {
    /// The task spaces the run's tasks spawned into or waited on (their unfinished ids are what can be
    /// stuck).
    private let spaces = Mutex<[ObjectIdentifier: TaskSpace]>([:])
    /// The report, once the run found tasks that can never run: what its waiters throw.
    private let report = Mutex<ParlaError?>(nil)

    /// Remembers a task space used by the run.
    func noteSpace(_ space: TaskSpace) {
        let key = ObjectIdentifier(space)
        self.spaces.withLock { if $0[key] == nil { $0[key] = space } }
    }

    /// The error an aborted run gives its waiters, if it was aborted.
    var abortError: ParlaError? { self.report.withLock { $0 } }

    /// Lets go of the spaces once the run has ended, compacting them.
    func releaseSpaces() {
        let spaces = self.spaces.withLock { spaces in
            defer { spaces = [:] }
            return Array(spaces.values)
        }
        for space in spaces { space.compact() }
    }

    /// Fails every task of `scope` that waits for something that can never happen, reporting the ids
    /// never spawned and any dependency cycle, and wakes the awaiters (the body's included).
    func abortStuckTasks(of scope: RunScope) {
        var missing: [String] = []
        var stuck: [TaskRecord] = []
        var waitersToWake: [Waiter] = []
        let spaces = self.spaces.withLock { Array($0.values) }.sorted { $0.name < $1.name }
        for space in spaces {
            for slot in space.unfinishedSlots {
                slot.state.withLock { state in
                    if let record = state.record {
                        if !record.isCompleted { stuck.append(record) }
                    } else if !state.dependents.isEmpty || !state.spawnWaiters.isEmpty {
                        missing.append(slot.name)
                        stuck.append(contentsOf: state.dependents)
                        waitersToWake.append(contentsOf: state.spawnWaiters)
                        state.dependents = []
                        state.spawnWaiters = []
                    }
                }
            }
        }
        // A task whose asynchronous body is suspended on another task's completion cannot finish
        // before it: an edge from the awaited task to the awaiting one, beside the successor edges.
        var awaitedBy: [ObjectIdentifier: [TaskRecord]] = [:]
        for record in stuck {
            if let awaited = record.state.withLock({ $0.awaiting }) {
                awaitedBy[ObjectIdentifier(awaited), default: []].append(record)
            }
        }
        let cycle = Self.findCycle(among: stuck, awaitedBy: awaitedBy)
        var seen = Set<ObjectIdentifier>()
        let waiting = stuck.filter { seen.insert(ObjectIdentifier($0)).inserted }
        let error = ParlaError.unsatisfiableDependencies(
            missing: missing,
            cycle: cycle.map(\.name),
            waiting: waiting.map(\.name)
        )
        self.report.withLock { if $0 == nil { $0 = error } }
        scope.recordFailure(error)
        // Tasks still waiting for dependencies never run: first make sure no release can schedule them
        // (failing one releases the others), then fail them. Tasks that started (asynchronous bodies
        // suspended on an await) are not failed here: their awaits throw, and their bodies finish.
        var started: [TaskRecord] = []
        var notStarted: [TaskRecord] = []
        for record in waiting {
            if record.remaining.load(ordering: .sequentiallyConsistent) > 0 {
                notStarted.append(record)
            } else {
                started.append(record)
            }
        }
        for record in notStarted { record.makeNeverReady() }
        for record in notStarted where !record.isCompleted {
            scope.accounting.taskBecameActive()
            record.complete(failure: error)
        }
        for record in started {
            waitersToWake.append(
                contentsOf: record.state.withLock { state in
                    defer { state.waiters = [] }
                    return state.waiters
                }
            )
        }
        for waiter in waitersToWake { waiter.wake() }
    }

    /// A cycle of unfinished tasks following successor edges and await edges (`awaitedBy`: the tasks
    /// suspended on each task's completion), if there is one, in the order its tasks must finish.
    private static func findCycle(
        among records: [TaskRecord],
        awaitedBy: [ObjectIdentifier: [TaskRecord]]
    ) -> [TaskRecord] {
        var color: [ObjectIdentifier: Int] = [:]  // 1: on the path, 2: done
        var path: [TaskRecord] = []
        func visit(_ record: TaskRecord) -> [TaskRecord]? {
            let key = ObjectIdentifier(record)
            if color[key] == 2 { return nil }
            if color[key] == 1 {
                let start = path.firstIndex { $0 === record }!
                return Array(path[start...])
            }
            color[key] = 1
            path.append(record)
            let successors = record.state.withLock { state -> [TaskRecord] in
                if state.completed { return [] }
                return (state.firstSuccessor.map { [$0] } ?? []) + state.moreSuccessors
            }
            for successor in successors + (awaitedBy[key] ?? []) {
                if let cycle = visit(successor) { return cycle }
            }
            path.removeLast()
            color[key] = 2
            return nil
        }
        for record in records {
            if let cycle = visit(record) { return cycle }
        }
        return []
    }
}

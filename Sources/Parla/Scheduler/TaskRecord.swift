import ParlaDevices
import Synchronization

/// The runtime's record of one spawned task: its dependencies still to finish, its successors, its
/// placement and resources, and its outcome. Subclassed per result type (``TypedTaskRecord``).
class TaskRecord: @unchecked Sendable {
    // @unchecked Sendable: mutable state is in `state` (a Mutex) and `remaining` (an atomic). The
    // other fields are written only by `spawn` before the record is published to other threads (through
    // locks and atomics), or when a finished record is reused, which happens only when nothing else
    // references it (`isKnownUniquelyReferenced`); `accesses` is also emptied when the task completes,
    // after its body. `device` is written by the worker that places the
    // task before the body runs and read by that body and the completion that follows it, in order.

    /// The id it was spawned under, if any.
    private(set) var slot: TaskSlot?
    /// Where `spawn` was called, for naming unnamed tasks.
    private(set) var origin: StaticString
    private(set) var originLine: UInt
    /// The run the task belongs to.
    private(set) var scope: RunScope
    /// Where it may run.
    private(set) var placement: PlacementSpec
    /// Fraction of a device it occupies while it runs (0: no limit).
    private(set) var vcus: Double
    /// Bytes it reserves on its device while it runs.
    private(set) var memory: Int
    /// Whether the body is `async` (runs as a Swift task, so that its awaits free the worker).
    private(set) var isAsync: Bool

    /// The `PArray` regions the task declared, moved to its device before the body runs.
    var accesses: [(any _PArrayAccessing, AccessMode)] = []

    /// Dependencies not yet finished, plus one held by `spawn` until it has registered them all.
    let remaining = Atomic<Int>(1)

    /// The device chosen for the task.
    var device: Device = .cpu

    let state = Mutex(State())

    struct State: ~Copyable {
        var completed = false
        var failure: (any Error)? = nil
        /// The first failed dependency; the task will not run.
        var dependencyFailure: ParlaError? = nil
        /// The first successor, kept inline so that chains allocate no array.
        var firstSuccessor: TaskRecord? = nil
        var moreSuccessors: [TaskRecord] = []
        var waiters: [UnsafeContinuation<Void, Never>] = []
        var waiterScopes: [RunScope?] = []
        /// The tasks this one depends on explicitly (kept in `.explicit` mode, to check races).
        var predecessors: [TaskRecord] = []
    }

    /// In `.explicit` mode: earlier tasks whose accesses conflict with this task's, with a description
    /// of the conflict; each must be an ancestor, or the two race.
    var raceCandidates: [(task: TaskRecord, conflict: String)] = []

    /// Whether `other` is reachable through explicit dependencies.
    func hasAncestor(_ other: TaskRecord) -> Bool {
        var stack: [TaskRecord] = [self]
        var seen = Set<ObjectIdentifier>([ObjectIdentifier(self)])
        while let record = stack.popLast() {
            for predecessor in record.state.withLock({ $0.predecessors }) {
                if predecessor === other { return true }
                if seen.insert(ObjectIdentifier(predecessor)).inserted { stack.append(predecessor) }
            }
        }
        return false
    }

    /// Remembers an explicit dependency (in `.explicit` mode).
    func notePredecessor(_ predecessor: TaskRecord) {
        self.state.withLock { $0.predecessors.append(predecessor) }
    }

    init(
        slot: TaskSlot?,
        scope: RunScope,
        placement: PlacementSpec,
        vcus: Double,
        memory: Int,
        isAsync: Bool,
        origin: StaticString,
        originLine: UInt
    ) {
        self.slot = slot
        self.scope = scope
        self.placement = placement
        self.vcus = vcus
        self.memory = memory
        self.isAsync = isAsync
        self.origin = origin
        self.originLine = originLine
    }

    /// Makes a finished, unreferenced record a new pending one (see ``TaskRecordCache``).
    func reset(scope: RunScope, placement: PlacementSpec, origin: StaticString, originLine: UInt) {
        self.slot = nil
        self.scope = scope
        self.placement = placement
        self.vcus = 0
        self.memory = 0
        self.isAsync = false
        self.origin = origin
        self.originLine = originLine
        self.device = .cpu
        self.remaining.store(1, ordering: .relaxed)
        self.hasFailedDependency.store(false, ordering: .relaxed)
        self.state.withLock { state in
            state.completed = false
            state.failure = nil
            state.dependencyFailure = nil
            state.firstSuccessor = nil
            state.moreSuccessors.removeAll(keepingCapacity: true)
            state.waiters.removeAll(keepingCapacity: true)
            state.waiterScopes.removeAll(keepingCapacity: true)
            state.predecessors.removeAll(keepingCapacity: true)
        }
        self.raceCandidates = []
    }

    /// Whether the record may go back to the cache once finished: an unnamed task with a synchronous
    /// body returning nothing (the common fast path).
    var isReusable: Bool { false }

    /// `T_1`, or `"task spawned at File.swift:12"` for an unnamed task.
    var name: String {
        if let slot { return slot.name }
        return "(unnamed task spawned at \(self.origin):\(self.originLine))"
    }

    /// Runs a synchronous body; overridden.
    func runSynchronousBody() throws {}

    /// Runs an asynchronous body; overridden.
    func runAsynchronousBody() async throws {}

    // MARK: Dependencies

    /// Adds `successor` unless this task has finished; a finished failed task passes its failure on.
    /// Returns whether the successor must wait for this task.
    func addSuccessor(_ successor: TaskRecord) -> Bool {
        let (added, failed) = self.state.withLock { state -> (Bool, Bool) in
            if state.completed { return (false, state.failure != nil) }
            if state.firstSuccessor == nil {
                state.firstSuccessor = successor
            } else {
                state.moreSuccessors.append(successor)
            }
            return (true, false)
        }
        if failed { successor.noteFailedDependency(self) }
        return added
    }

    /// Records that a dependency failed: this task will not run.
    func noteFailedDependency(_ dependency: TaskRecord) {
        let error = ParlaError.dependencyFailed(task: self.name, dependency: dependency.name)
        self.state.withLock { state in
            if state.dependencyFailure == nil { state.dependencyFailure = error }
        }
        // Set before the release that makes the task ready, which publishes it (acquire/release).
        self.hasFailedDependency.store(true, ordering: .releasing)
    }

    /// Whether a dependency failed (then `state.dependencyFailure` says which).
    let hasFailedDependency = Atomic<Bool>(false)

    /// One dependency finished (or `spawn` finished registering them): schedules the task at zero.
    @inline(__always)
    func releaseOne() {
        if self.remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            self.scope.taskBecameReady(self)
        }
    }

    // MARK: Completion

    /// Finishes the task: wakes awaiters, releases successors (passing a failure on), updates the run.
    func complete(failure: (any Error)?) {
        // The declared arrays are not needed any more (and arrays refer to their recent tasks: keeping
        // them would make a cycle).
        if !self.accesses.isEmpty { self.accesses = [] }
        if !self.raceCandidates.isEmpty { self.raceCandidates = [] }
        let (first, more, waiters, scopes) = self.state.withLock { state in
            state.completed = true
            state.failure = failure
            let taken = (state.firstSuccessor, state.moreSuccessors, state.waiters, state.waiterScopes)
            state.firstSuccessor = nil
            if !state.moreSuccessors.isEmpty { state.moreSuccessors = [] }
            if !state.waiters.isEmpty {
                state.waiters = []
                state.waiterScopes = []
            }
            return taken
        }
        if let failure { self.scope.recordFailure(failure) }
        // Successors this completion makes ready take over this task's share of the run's `active`
        // count: one atomic update for all of them (none at all for a chain).
        var firstReady: TaskRecord? = nil
        var moreReady: [TaskRecord] = []
        if let first {
            if failure != nil { first.noteFailedDependency(self) }
            if first.releaseMakesReady() { firstReady = first }
        }
        for successor in more {
            if failure != nil { successor.noteFailedDependency(self) }
            if successor.releaseMakesReady() { moreReady.append(successor) }
        }
        let readyCount = (firstReady == nil ? 0 : 1) + moreReady.count
        let ownWaiters = scopes.reduce(0) { $0 + ($1 === self.scope ? 1 : 0) }
        self.scope.taskFinished(handingOverTo: readyCount + ownWaiters)
        if let firstReady { self.scope.pool.submit(firstReady) }
        for successor in moreReady { self.scope.pool.submit(successor) }
        for (waiter, scope) in zip(waiters, scopes) {
            if let scope, scope !== self.scope { scope.awaiterResumed() }
            waiter.resume()
        }
    }

    /// One dependency finished: whether that was the last one (the caller then schedules the task).
    @inline(__always)
    func releaseMakesReady() -> Bool {
        self.remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0
    }

    /// Whether the task has finished.
    var isCompleted: Bool { self.state.withLock { $0.completed } }

    /// Waits until the task has finished; throws its failure.
    func waitForCompletion() async throws {
        if let outcome = self.outcome {
            if let failure = outcome { throw failure }
            return
        }
        let scope = RunScope.awaiterScope
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let registered = self.state.withLock { state in
                if state.completed { return false }
                state.waiters.append(continuation)
                state.waiterScopes.append(scope)
                return true
            }
            if registered {
                scope?.awaiterSuspended()
            } else {
                continuation.resume()
            }
        }
        if let failure = self.outcome ?? nil { throw failure }
    }

    /// `nil` while running; when finished, its failure or `nil`.
    var outcome: (any Error)?? {
        self.state.withLock { state in state.completed ? .some(state.failure) : .none }
    }
}

/// A task record that runs a body returning `R` and keeps the result.
final class TypedTaskRecord<R>: TaskRecord, @unchecked Sendable {
    // @unchecked Sendable: `result` is written once by the body's thread before `complete`, and read
    // only after completion, which the record's Mutex orders.

    private var synchronousBody: (@Sendable () throws -> R)?
    private var asynchronousBody: (@Sendable () async throws -> R)?
    var result: R? = nil

    init(
        slot: TaskSlot?,
        scope: RunScope,
        placement: PlacementSpec,
        vcus: Double,
        memory: Int,
        synchronous: (@Sendable () throws -> R)?,
        asynchronous: (@Sendable () async throws -> R)?,
        origin: StaticString,
        originLine: UInt
    ) {
        self.synchronousBody = synchronous
        self.asynchronousBody = asynchronous
        super.init(
            slot: slot,
            scope: scope,
            placement: placement,
            vcus: vcus,
            memory: memory,
            isAsync: asynchronous != nil,
            origin: origin,
            originLine: originLine
        )
    }

    override func runSynchronousBody() throws {
        self.result = try self.synchronousBody!()
    }

    override var isReusable: Bool {
        R.self == Void.self && self.slot == nil && !self.isAsync
    }

    /// Gives the record a new body (after ``TaskRecord/reset(scope:placement:origin:originLine:)``).
    func reuse(body: @escaping @Sendable () throws -> R) {
        self.synchronousBody = body
        self.result = nil
    }

    /// Drops the body and result of a finished record (they may hold on to the user's objects).
    func clearBody() {
        self.synchronousBody = nil
        self.result = nil
    }

    override func runAsynchronousBody() async throws {
        self.result = try await self.asynchronousBody!()
    }
}

/// A task's allowed devices, resolved at spawn.
enum PlacementSpec: Sendable {
    /// Any device of the run.
    case any
    /// Exactly one device.
    case one(Device)
    /// One of several devices.
    case several([Device])
}

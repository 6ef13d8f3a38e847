import ParlaDevices
import Synchronization

/// The runtime's record of one spawned task: its dependencies still to finish, its successors, its
/// placement and resources, and its outcome. Subclassed per result type (``TypedTaskRecord``).
class TaskRecord: @unchecked Sendable {
    // @unchecked Sendable: mutable state is in `state` (a Mutex) and `remaining` (an atomic). The
    // other fields are written only by `spawn` before the record is published to other threads (through
    // locks and atomics), or when a finished record is reused. A record is reused only when nothing
    // but task handles references it (see `WorkerPool.recycle`), and handles touch only `state` (under
    // its lock, checking the generation they were made for) and `slot`, which reuse never writes (a
    // reusable record has none). `accesses` is also emptied when the task completes, after its body.
    // `device` is written by the worker that places the task before the body runs and read by that
    // body and the completion that follows it, in order.
    //
    // The stored properties outside `state` are `@exclusivity(unchecked)`: by the rules above, one
    // thread at a time uses them, with the hand-overs ordered by locks and atomics, so no two accesses
    // overlap; the runtime's dynamic exclusivity checks cost several percent of a task's overhead.

    /// The id it was spawned under, if any (never changed by reuse: reusable records have none).
    let slot: TaskSlot?
    /// Where `spawn` was called, for naming unnamed tasks.
    @exclusivity(unchecked) private(set) var origin: StaticString
    @exclusivity(unchecked) private(set) var originLine: UInt
    /// The run the task belongs to (the record keeps it alive).
    @exclusivity(unchecked) private(set) var scope: RunScope {
        didSet { self.scopeReference = Unmanaged.passUnretained(self.scope) }
    }

    /// `scope` without reference counting, for the hot paths: every thread retaining and releasing the
    /// one `RunScope` would make its reference count a contended cache line.
    @exclusivity(unchecked) private var scopeReference: Unmanaged<RunScope>

    /// Calls `body` with the task's run, without retaining it (the record does, and only a thread that
    /// owns the finished record exclusively changes it).
    @inline(__always)
    func withScope<T>(_ body: (RunScope) throws -> T) rethrows -> T {
        try self.scopeReference._withUnsafeGuaranteedRef(body)
    }
    /// Where it may run.
    @exclusivity(unchecked) private(set) var placement: PlacementSpec
    /// Fraction of a device it occupies while it runs (0: no limit).
    @exclusivity(unchecked) private(set) var vcus: Double
    /// Bytes it reserves on its device while it runs.
    @exclusivity(unchecked) private(set) var memory: Int
    /// Whether the body is `async` (runs as a Swift task, so that its awaits free the worker).
    @exclusivity(unchecked) private(set) var isAsync: Bool

    /// The `PArray` regions the task declared, moved to its device before the body runs.
    @exclusivity(unchecked) var accesses: [DeclaredAccess] = []

    /// Dependencies not yet finished, plus one held by `spawn` until it has registered them all.
    let remaining = Atomic<Int>(1)

    /// A `remaining` count that no number of releases brings to zero: stored in a task that fails
    /// without running, so that dependencies finishing later cannot schedule it.
    private static let neverReady = Int.min / 2

    /// Makes sure no dependency finishing later schedules the task (it fails without running).
    func makeNeverReady() { self.remaining.store(Self.neverReady, ordering: .sequentiallyConsistent) }

    /// Fails the task while it is being spawned (a duplicate id, a placement no device satisfies, an
    /// array shared with another run): it never runs, and finishes now with `failure`.
    func failAtSpawn(_ failure: ParlaError) {
        self.makeNeverReady()
        self.withScope { $0.accounting.taskBecameActive() }
        self.complete(failure: failure)
    }

    /// The device chosen for the task (for a multi-device task, its first).
    @exclusivity(unchecked) var device: Device = .cpu
    /// A multi-device task's devices, in the order it sees them, once placed (empty for a task of one
    /// device). Kept in `placement`, which placing the task narrows to the chosen group (a stored
    /// property of its own would make every task's record larger).
    var groupDevices: [Device] {
        get {
            if case .groups(let groups) = self.placement, groups.count == 1 { return groups[0] }
            return []
        }
        set { self.placement = .groups([newValue]) }
    }

    /// The devices the task runs on, once placed.
    var devices: [Device] { self.groupDevices.isEmpty ? [self.device] : self.groupDevices }

    /// Whether the task has pinned its declared arrays on its device (see `RunScope+DeviceMemory.swift`),
    /// until it finishes.
    @exclusivity(unchecked) var holdsPins = false
    /// The bytes of its device's memory the task reserved with its pins (its working set).
    @exclusivity(unchecked) var reservedBytes = 0

    /// The task's number in the run's trace (set and read only in traced runs).
    @exclusivity(unchecked) var traceNumber = 0

    /// When the task started running (nanoseconds of the monotonic clock), for the device's average
    /// task time; 0 when not measured (tasks without declared data).
    @exclusivity(unchecked) var startedAt: UInt64 = 0

    #if PARLA_INTERNAL_CHECKS
    /// Where the record is in its life cycle (see `TaskRecord+Lifecycle.swift`), tracked in builds with
    /// internal checks only.
    let lifecycle = Atomic<UInt8>(TaskRecord.Lifecycle.pending.rawValue)
    #endif

    let state = Mutex(State())

    struct State: ~Copyable {
        /// Which use of the record this is: reuse increments it, so that handles to an earlier task
        /// (which finished successfully, or the record would not be reused) can tell.
        var generation: UInt32 = 0
        var completed = false
        var failure: (any Error)? = nil
        /// The first failed dependency; the task will not run.
        var dependencyFailure: ParlaError? = nil
        /// The first successor, kept inline so that chains allocate no array.
        var firstSuccessor: TaskRecord? = nil
        var moreSuccessors: [TaskRecord] = []
        /// Swift tasks awaiting the task's completion.
        var waiters: [Waiter] = []
        /// The tasks this one depends on explicitly, with the use of each record meant (kept in
        /// `.explicit` mode, to check races).
        var predecessors: [(TaskRecord, generation: UInt32)] = []
        /// The first device call that failed in the body (see `DeviceFailureSink`): a reference, so
        /// that the state every task locks stays small.
        var deviceFailure: DeviceFailure? = nil
        /// The task whose completion this task's asynchronous body is suspended on (for finding
        /// cycles of awaits).
        var awaiting: TaskRecord? = nil
        /// Checks of results only the device knows (see `DeviceFailureSink.checkAfterDeviceWork`),
        /// run once the device work the body queued has finished.
        var deviceWorkChecks: [@Sendable () -> (any Error)?] = []
        /// Dependencies that released this task when their work was queued on their GPU, before it
        /// finished there (see `TaskRecord+Runahead.swift`).
        var runaheadPredecessors: [TaskRecord] = []
        /// Tasks released early by this one that could not run on its GPU: submitted again when it
        /// completes.
        var runaheadWaiters: [TaskRecord] = []
        /// Whether the task's work is queued on its GPU and its successors were released (it has not
        /// completed): a successor added now does not wait for it either.
        var launched = false
    }

    /// A device call of a task's body that failed.
    final class DeviceFailure: Sendable {
        let operation: String
        let error: DeviceError
        init(operation: String, error: DeviceError) {
            self.operation = operation
            self.error = error
        }
    }

    /// Whether the task of use `generation` of the record has started (or finished).
    func hasStarted(generation: UInt32) -> Bool {
        self.hasStarted.load(ordering: .acquiring) || !self.isCurrent(generation: generation)
    }

    /// In `.explicit` mode: earlier tasks whose accesses conflict with this task's, with a description
    /// of the conflict; each must be an ancestor, or the two race.
    @exclusivity(unchecked) var raceCandidates: [(task: TaskRecord, conflict: String)] = []

    /// Whether `other` is reachable through explicit dependencies.
    func hasAncestor(_ other: TaskRecord) -> Bool {
        var stack: [TaskRecord] = [self]
        var seen = Set<ObjectIdentifier>([ObjectIdentifier(self)])
        while let record = stack.popLast() {
            for (predecessor, generation) in record.state.withLock({ $0.predecessors }) {
                if predecessor === other && other.isCurrent(generation: generation) { return true }
                // A record reused since (its task finished in an earlier run) leads nowhere.
                guard predecessor.isCurrent(generation: generation) else { continue }
                if seen.insert(ObjectIdentifier(predecessor)).inserted { stack.append(predecessor) }
            }
        }
        return false
    }

    /// Remembers an explicit dependency (in `.explicit` mode), made through a handle for use
    /// `generation` of the predecessor's record (`nil`: its current use).
    func notePredecessor(_ predecessor: TaskRecord, generation: UInt32?) {
        let generation = generation ?? predecessor.state.withLock { $0.generation }
        self.state.withLock { $0.predecessors.append((predecessor, generation)) }
    }

    /// Whether the record is still in use `generation` (not reused since).
    func isCurrent(generation: UInt32) -> Bool { self.state.withLock { $0.generation == generation } }

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
        self.scopeReference = Unmanaged.passUnretained(scope)
        self.placement = placement
        self.vcus = vcus
        self.memory = memory
        self.isAsync = isAsync
        self.origin = origin
        self.originLine = originLine
    }

    /// Makes a finished record that only handles refer to a new pending one (see ``TaskRecordCache``);
    /// returns its new generation.
    func reset(scope: RunScope, placement: PlacementSpec, origin: StaticString, originLine: UInt) -> UInt32 {
        self.checkLifecycle(becoming: .pending)
        if self.scopeReference.toOpaque() != Unmanaged.passUnretained(scope).toOpaque() { self.scope = scope }
        self.placement = placement
        self.vcus = 0
        self.memory = 0
        self.isAsync = false
        self.origin = origin
        self.originLine = originLine
        self.device = .cpu
        self.remaining.store(1, ordering: .relaxed)
        self.hasFailedDependency.store(false, ordering: .relaxed)
        self.hasDeviceFailure.store(false, ordering: .relaxed)
        self.hasStarted.store(false, ordering: .relaxed)
        self.releasedAtLaunch.store(false, ordering: .relaxed)
        if !self.raceCandidates.isEmpty { self.raceCandidates = [] }
        self.traceNumber = 0
        return self.state.withLock { state in
            state.deviceFailure = nil
            if !state.deviceWorkChecks.isEmpty { state.deviceWorkChecks = [] }
            if !state.runaheadPredecessors.isEmpty { state.runaheadPredecessors = [] }
            state.generation &+= 1
            state.completed = false
            state.launched = false
            state.failure = nil
            state.dependencyFailure = nil
            state.firstSuccessor = nil
            // (Completion already emptied the successor and waiter lists.)
            if !state.predecessors.isEmpty { state.predecessors.removeAll(keepingCapacity: true) }
            return state.generation
        }
    }

    /// Whether the record may go back to the cache once finished: an unnamed task with a synchronous
    /// body returning nothing (the common fast path). Set by ``TypedTaskRecord``; reuse keeps it.
    @exclusivity(unchecked) fileprivate(set) var isReusable = false

    /// `T_1`, or `"task spawned at File.swift:12"` for an unnamed task.
    var name: String {
        if let slot { return slot.name }
        return Self.unnamedTaskName(origin: "\(self.origin)", line: self.originLine)
    }

    /// `"(unnamed task spawned at File.swift:12)"`.
    static func unnamedTaskName(origin: String, line: UInt) -> String {
        "(unnamed task spawned at \(origin):\(line))"
    }

    /// Runs a synchronous body; overridden.
    func runSynchronousBody() throws {}

    /// Drops the body of a finished task (it may hold on to the program's objects); overridden.
    func clearBody() {}

    /// Runs an asynchronous body; overridden.
    func runAsynchronousBody() async throws {}

    // MARK: Dependencies

    /// Adds `successor` unless this task has finished; a finished failed task passes its failure on.
    /// Returns whether the successor must wait for this task.
    ///
    /// - Parameter generation: the use of the record a handle was made for; a later one means that
    ///   task finished successfully (`nil`: the current use).
    func addSuccessor(_ successor: TaskRecord, generation: UInt32? = nil) -> Bool {
        let (added, failed, launched) = self.state.withLock { state -> (Bool, Bool, Bool) in
            if let generation, generation != state.generation { return (false, false, false) }
            if state.completed { return (false, state.failure != nil, false) }
            if state.launched { return (false, false, true) }
            if state.firstSuccessor == nil {
                state.firstSuccessor = successor
            } else {
                state.moreSuccessors.append(successor)
            }
            return (true, false, false)
        }
        if failed { successor.noteFailedDependency(self) }
        // Launched: the successor runs ahead of this task's device work, as those released at launch.
        if launched { successor.noteRunaheadPredecessor(self) }
        return added
    }

    /// Records that a dependency failed: this task will not run.
    func noteFailedDependency(_ dependency: TaskRecord) { self.noteFailedDependency(named: dependency.name) }

    /// Records that the dependency named `dependency` failed: this task will not run.
    func noteFailedDependency(named dependency: String) {
        let error = ParlaError.dependencyFailed(task: self.name, dependency: dependency)
        self.state.withLock { state in
            if state.dependencyFailure == nil { state.dependencyFailure = error }
        }
        // Set before the release that makes the task ready, which publishes it (acquire/release).
        self.hasFailedDependency.store(true, ordering: .releasing)
    }

    /// Whether a dependency failed (then `state.dependencyFailure` says which).
    let hasFailedDependency = Atomic<Bool>(false)

    /// Whether a device call of the body failed (`state.deviceFailure` says which).
    let hasDeviceFailure = Atomic<Bool>(false)

    /// Set when the task starts moving its data in: a prefetch for it is then obsolete.
    let hasStarted = Atomic<Bool>(false)

    /// Set when a dependency released the task at launch, before its device work finished (see
    /// `TaskRecord+Runahead.swift`): only then are its early predecessors looked at.
    let releasedAtLaunch = Atomic<Bool>(false)

    /// One dependency finished (or `spawn` finished registering them): schedules the task at zero.
    @inline(__always)
    func releaseOne() {
        if self.remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            self.withScope { $0.taskBecameReady(self) }
        }
    }

    // MARK: Completion

    /// Finishes the task: wakes awaiters, releases successors (passing a failure on), updates the run.
    ///
    /// - Parameter onWorkerLoop: called by a worker that goes back to its loop right after (it then runs
    ///   the first successor made ready itself, and wakes nobody for it).
    func complete(failure: (any Error)?, onWorkerLoop: Bool = false) {
        // The declared arrays are not needed any more (and arrays refer to their recent tasks: keeping
        // them would make a cycle).
        if !self.accesses.isEmpty { self.accesses.removeAll(keepingCapacity: true) }
        if !self.raceCandidates.isEmpty { self.raceCandidates = [] }
        // The body is not needed any more either, and it may capture the arrays whose recent accesses
        // refer to this record: kept, it would make a cycle that keeps the arrays alive.
        self.clearBody()
        self.checkLifecycle(becoming: .completed)
        let (first, more, waiters, runaheadWaiters) = self.state.withLock { state in
            state.completed = true
            state.failure = failure
            let taken = (state.firstSuccessor, state.moreSuccessors, state.waiters, state.runaheadWaiters)
            state.firstSuccessor = nil
            if !state.moreSuccessors.isEmpty { state.moreSuccessors = [] }
            if !state.waiters.isEmpty { state.waiters = [] }
            if !state.runaheadWaiters.isEmpty { state.runaheadWaiters = [] }
            if !state.runaheadPredecessors.isEmpty { state.runaheadPredecessors = [] }
            return taken
        }
        // Tasks released at launch that waited for this completion run now (they are still counted as
        // able to progress).
        if !runaheadWaiters.isEmpty {
            self.withScope { scope in for waiter in runaheadWaiters { scope.pool.submit(waiter) } }
        }
        // In `.inferred` runs the id keeps only the outcome (`.explicit` runs check races through records).
        if let slot = self.slot, self.withScope({ $0.dependencyMode == .inferred }) {
            slot.taskFinished(failure: failure)
        }
        self.withScope { scope in
            self.finishCompletion(
                scope: scope,
                failure: failure,
                first: first,
                more: more,
                waiters: waiters,
                onWorkerLoop: onWorkerLoop
            )
        }
    }

    /// The part of `complete` after the state change: successors, awaiters, the run's accounting.
    @inline(__always)
    private func finishCompletion(
        scope: RunScope,
        failure: (any Error)?,
        first: TaskRecord?,
        more: [TaskRecord],
        waiters: [Waiter],
        onWorkerLoop: Bool
    ) {
        if let failure { scope.recordFailure(failure) }
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
        // Awaiters of this run take over its share too; those of other runs (or of none) are counted
        // by their own.
        let ownWaiters = waiters.reduce(0) { $0 + ($1.scope === scope ? 1 : 0) }
        scope.accounting.taskFinished(handingOverTo: readyCount + ownWaiters)
        if let firstReady { scope.pool.submit(firstReady, submitterRunsItNext: onWorkerLoop) }
        for successor in moreReady { scope.pool.submit(successor) }
        for waiter in waiters {
            if waiter.scope === scope { waiter.wakeAccounted() } else { waiter.wake() }
        }
    }

    /// One dependency finished: whether that was the last one (the caller then schedules the task).
    @inline(__always)
    func releaseMakesReady() -> Bool {
        self.remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0
    }

    /// Whether the task has finished.
    var isCompleted: Bool { self.state.withLock { $0.completed } }

    /// Whether the task of use `generation` of the record has finished.
    func isCompleted(generation: UInt32) -> Bool {
        self.state.withLock { $0.completed || $0.generation != generation }
    }

    /// Whether the record has finished without failing (and may be reused while handles refer to it).
    var completedSuccessfully: Bool { self.state.withLock { $0.completed && $0.failure == nil } }

    /// Waits until the task (of use `generation` of the record; `nil`: the current one) has finished;
    /// throws its failure. Inside a task, an await that closes a cycle of awaits (a task awaiting
    /// itself, or two awaiting each other) throws
    /// ``ParlaError/unsatisfiableDependencies(missing:cycle:waiting:)`` at once.
    func waitForCompletion(generation: UInt32? = nil) async throws {
        if let outcome = self.outcome(generation: generation) {
            if let failure = outcome { throw failure }
            return
        }
        let scope = RunScope.awaiterScope
        let awaiter = RunScope.asyncCurrentTask
        if let awaiter { try awaiter.beginAwaiting(self) }
        defer { awaiter?.endAwaiting() }
        awaiter?.noteSuspension(true)
        defer { awaiter?.noteSuspension(false) }
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let registered = self.state.withLock { state in
                if let generation, generation != state.generation { return false }
                if state.completed { return false }
                state.waiters.append(Waiter(continuation: continuation, scope: scope))
                return true
            }
            if registered {
                scope?.accounting.awaiterSuspended()
            } else {
                continuation.resume()
            }
        }
        guard let outcome = self.outcome(generation: generation) else {
            // Only a run that found nothing able to progress wakes an awaiter of an unfinished task.
            throw scope?.stalls.abortError ?? ParlaError.runAborted("\(self.name) can never finish")
        }
        if let failure = outcome { throw failure }
    }

    /// Records that this task's body awaits `target`, first following the chain of awaits from it: one
    /// that leads back here is a cycle, which can never end.
    private func beginAwaiting(_ target: TaskRecord) throws(ParlaError) {
        self.state.withLock { $0.awaiting = target }
        var chain: [TaskRecord] = [self]
        var next: TaskRecord? = target
        while let current = next, chain.count <= 100_000 {
            if current === self {
                self.endAwaiting()
                // Each task of the cycle waits for the next; reported in the order they must finish.
                let names = chain.reversed().map(\.name)
                throw .unsatisfiableDependencies(missing: [], cycle: names, waiting: names)
            }
            chain.append(current)
            next = current.state.withLock { $0.completed ? nil : $0.awaiting }
        }
    }

    private func endAwaiting() { self.state.withLock { $0.awaiting = nil } }

    /// `nil` while running; when finished, its failure or `nil` (a later use of the record means the
    /// task of `generation` finished successfully).
    func outcome(generation: UInt32? = nil) -> (any Error)?? {
        self.state.withLock { state in
            if let generation, generation != state.generation { return .some(nil) }
            return state.completed ? .some(state.failure) : .none
        }
    }
}

extension TaskRecord: DeviceFailureSink {
    func recordDeviceFailure(_ error: DeviceError, operation: String) {
        self.state.withLock { state in
            if state.deviceFailure == nil { state.deviceFailure = DeviceFailure(operation: operation, error: error) }
        }
        self.hasDeviceFailure.store(true, ordering: .releasing)
    }

    var hasRecordedDeviceFailure: Bool { self.hasDeviceFailure.load(ordering: .acquiring) }

    var deviceRegistry: DeviceRegistry { self.withScope { $0.registry } }

    func makeRoom(on device: Device, needing bytes: Int) -> Bool {
        self.withScope { $0.makeRoomInsideBody(of: self, on: device, needing: bytes) }
    }

    func checkAfterDeviceWork(_ check: @escaping @Sendable () -> (any Error)?) {
        self.state.withLock { $0.deviceWorkChecks.append(check) }
    }

    /// Runs the checks the body registered (after its device work has finished); returns the first
    /// failure one reports.
    func runDeviceWorkChecks() -> (any Error)? {
        let checks = self.state.withLock { state in
            defer { if !state.deviceWorkChecks.isEmpty { state.deviceWorkChecks = [] } }
            return state.deviceWorkChecks
        }
        // Every check runs (each gives back what it holds), the first failure is kept.
        var first: (any Error)? = nil
        for check in checks {
            let failure = check()
            if first == nil { first = failure }
        }
        return first
    }

    /// The task's failure for the device call of its body that failed first, if one did.
    func deviceFailureOfBody() -> ParlaError? {
        guard self.hasDeviceFailure.load(ordering: .acquiring),
            let failure = self.state.withLock({ $0.deviceFailure })
        else { return nil }
        return .deviceFailed(task: self.name, device: self.device, operation: failure.operation, error: failure.error)
    }
}

/// A task record that runs a body returning `R` and keeps the result.
final class TypedTaskRecord<R>: TaskRecord, @unchecked Sendable {
    // @unchecked Sendable: `result` is written once by the body's thread before `complete`, and read
    // only after completion, which the record's Mutex orders. The bodies are set at spawn or reuse
    // and used by the thread running the task (see `TaskRecord`, also for `@exclusivity(unchecked)`).

    @exclusivity(unchecked) private var synchronousBody: (@Sendable () throws -> R)?
    @exclusivity(unchecked) private var asynchronousBody: (@Sendable () async throws -> R)?
    /// The body's result; never stored for `Void` (handles of `Void` tasks do not read it).
    @exclusivity(unchecked) var result: R? = nil

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
        self.isReusable = R.self == Void.self && slot == nil && asynchronous == nil
    }

    override func runSynchronousBody() throws {
        let value = try self.synchronousBody!()
        // (`Void` results are not stored: that would look up `Optional<R>`'s metadata per task.)
        if R.self != Void.self { self.result = value }
    }

    /// Gives the record a new body (after ``TaskRecord/reset(scope:placement:origin:originLine:)``).
    func reuse(body: @escaping @Sendable () throws -> R) {
        self.synchronousBody = body
    }

    override func clearBody() {
        self.synchronousBody = nil
        self.asynchronousBody = nil
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
    /// Several devices at once: one of these sets (of the same size), each in the order the task sees
    /// its devices.
    case groups([[Device]])

    /// The number of devices a task so placed runs on.
    var deviceCount: Int {
        if case .groups(let groups) = self, let first = groups.first { return first.count }
        return 1
    }
}

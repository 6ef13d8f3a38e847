import Synchronization

/// One entry of a ``TaskSpace``: the task spawned under this id (once it is), and whoever waits for it
/// before then.
final class TaskSlot: @unchecked Sendable {
    // @unchecked Sendable: the mutable state sits behind `state`, a Mutex.

    /// The space, while it exists (a run keeps the spaces its tasks use alive).
    weak var space: TaskSpace?
    /// The space's name (ids stay printable after the space is gone).
    let spaceName: String
    let index: TaskIndex
    let state = Mutex(State())

    struct State: ~Copyable {
        /// The task spawned under this id, until it finishes (in `.inferred` runs: `.explicit` ones keep
        /// it, to check races through it).
        var record: TaskRecord? = nil
        /// How that task ended, once its record is let go (a million named tasks keep a million ids, not
        /// a million records).
        var finished: FinishedTask? = nil
        /// Tasks spawned before this id that depend on it; each counts this slot in its dependencies.
        var dependents: [TaskRecord] = []
        /// Barriers waiting for this id to be spawned.
        var spawnWaiters: [Waiter] = []
    }

    init(space: TaskSpace, index: TaskIndex) {
        self.space = space
        self.spaceName = space.name
        self.index = index
    }

    /// The entry of an id whose task finished with `outcome` (its space had given the entry up).
    convenience init(space: TaskSpace, index: TaskIndex, finished outcome: FinishedTask) {
        self.init(space: space, index: index)
        self.state.withLock { $0.finished = outcome }
    }

    /// How the task spawned under this id ended, when it has and nothing waits on the id any more (its
    /// space may then keep only that).
    var finishedOutcome: FinishedTask? {
        self.state.withLock { state in
            guard state.record == nil, state.dependents.isEmpty, state.spawnWaiters.isEmpty else { return nil }
            return state.finished
        }
    }

    /// `T_i_j`.
    var name: String { "\(self.spaceName)_\(self.index)" }

    /// The task spawned under this id, if any, while its record is kept.
    var record: TaskRecord? { self.state.withLock { $0.record } }

    /// Whether a task has been spawned under this id.
    var isSpawned: Bool { self.state.withLock { $0.record != nil || $0.finished != nil } }

    /// The task spawned under this id (while its record is kept) or how it ended.
    enum Spawned {
        case running(TaskRecord)
        case finished(FinishedTask)
    }

    /// Lets go of the record of the task spawned under this id, which has finished with `failure`.
    func taskFinished(failure: (any Error)?) {
        let outcome = failure.map { FinishedTask(failure: $0) } ?? FinishedTask.succeeded
        self.state.withLock { state in
            state.finished = outcome
            state.record = nil
        }
    }

    /// What `spawnedRecord` found under the id: the record, or how the task ended.
    private var spawned: Spawned? {
        self.state.withLock { state in
            if let record = state.record { return .running(record) }
            return state.finished.map { .finished($0) }
        }
    }

    /// Waits until a task is spawned under this id, then returns it. Outside every run, the wait fails
    /// once no run in progress is left to spawn the id.
    func spawnedRecord() async throws -> Spawned {
        if let spawned = self.spawned { return spawned }
        let scope = RunScope.awaiterScope
        let awaiter = RunScope.asyncCurrentTask
        awaiter?.noteSuspension(true)
        defer { awaiter?.noteSuspension(false) }
        var noRunInProgress = false
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            func register() -> Bool {
                self.state.withLock { state in
                    if state.record != nil || state.finished != nil { return false }
                    state.spawnWaiters.append(Waiter(continuation: continuation, scope: scope))
                    return true
                }
            }
            var registered = false
            if scope != nil {
                registered = register()
            } else {
                noRunInProgress = !RunScope.registerOutsideWait(on: self) { registered = register() }
            }
            if registered {
                if let space = self.space { scope?.stalls.noteSpace(space) }
                scope?.accounting.awaiterSuspended()
            } else {
                continuation.resume()
            }
        }
        guard let spawned = self.spawned else {
            if scope == nil {
                throw ParlaError.neverSpawned(
                    id: self.name,
                    reason: noRunInProgress
                        ? "it is awaited outside Parla.run, and no run is in progress to spawn it"
                        : "it is awaited outside Parla.run, and the runs in progress ended without spawning it"
                )
            }
            // Only an aborted run resumes a waiter without a task.
            throw scope?.stalls.abortError ?? ParlaError.runAborted("\(self.name) was never spawned")
        }
        return spawned
    }

    /// Wakes the awaiters outside every run (the last run has ended; nobody can spawn the id now).
    func wakeOutsideWaiters() {
        let woken = self.state.withLock { state -> [Waiter] in
            let woken = state.spawnWaiters.filter { $0.scope == nil }
            state.spawnWaiters.removeAll { $0.scope == nil }
            return woken
        }
        for waiter in woken { waiter.wake() }
    }
}

/// How a task spawned under an id ended (kept by the id once the task's record is let go).
final class FinishedTask: Sendable {
    /// The task's failure, or `nil` when it succeeded.
    let failure: (any Error)?

    init(failure: (any Error)?) { self.failure = failure }

    /// The outcome of every task that succeeded (shared: finishing allocates nothing).
    static let succeeded = FinishedTask(failure: nil)
}

/// The id of a task in a ``TaskSpace``: `T[1]` is named `"T_1"`, `T[1, 2]` `"T_1_2"`.
///
/// Parla (Python) equivalent: `TaskID`. Ids are ``TaskDependency`` values; `try await T[1].wait()`
/// waits for the task spawned under the id (spawned later is fine).
public struct TaskID: Hashable, Sendable, CustomStringConvertible, TaskDependency {
    let slot: TaskSlot

    /// The name of the space the id belongs to.
    public var spaceName: String { self.slot.spaceName }

    /// The index tuple: `[1, 2]` for `T[1, 2]` (for an id with other keys, its integers only).
    public var index: [Int] { self.slot.index.values }

    /// The id's components as given: `[1, 2]` for `T[1, 2]`, `[0, "a"]` for `T[0, "a"]`.
    public var keys: [any Hashable & Sendable] { self.slot.index.keys }

    /// `"T_1_2"`.
    public var name: String { self.slot.name }

    public var description: String { self.name }

    public static func == (lhs: TaskID, rhs: TaskID) -> Bool { lhs.slot === rhs.slot }

    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self.slot)) }

    /// Whether a task has been spawned under this id.
    public var isSpawned: Bool { self.slot.isSpawned }

    /// Waits until the task spawned under this id (possibly later) has finished; throws its failure.
    ///
    /// Usable inside and outside tasks; inside a task it suspends the body without holding a worker.
    public func wait() async throws {
        switch try await self.slot.spawnedRecord() {
        case .running(let record): try await record.waitForCompletion()
        case .finished(let outcome): if let failure = outcome.failure { throw failure }
        }
    }

    /// Calls `visit` with each task this dependency stands for (see ``TaskDependency``).
    public func forEachTarget(_ visit: (TaskDependencyTarget) -> Void) {
        visit(.slot(self.slot))
    }
}

/// Several task ids, in order: `T[0..<4]`, `T[0..<2, 3]`. Parla (Python) equivalent: a slice of a
/// `TaskSpace`.
public struct TaskSet: Sendable, Hashable, RandomAccessCollection, CustomStringConvertible, TaskDependency {
    /// The ids.
    public let ids: [TaskID]

    /// A set of the given ids.
    public init(_ ids: [TaskID]) { self.ids = ids }

    public var startIndex: Int { self.ids.startIndex }
    public var endIndex: Int { self.ids.endIndex }
    public subscript(position: Int) -> TaskID { self.ids[position] }

    /// `[T_0, T_1]`.
    public var description: String { "[\(self.ids.map(\.name).joined(separator: ", "))]" }

    /// Waits for every task of the set (spawned now or later); throws the first failure.
    public func wait() async throws {
        var firstFailure: (any Error)? = nil
        for id in self.ids {
            do { try await id.wait() } catch { firstFailure = firstFailure ?? error }
        }
        if let firstFailure { throw firstFailure }
    }

    /// Calls `visit` with each task this dependency stands for (see ``TaskDependency``).
    public func forEachTarget(_ visit: (TaskDependencyTarget) -> Void) {
        for id in self.ids { visit(.slot(id.slot)) }
    }
}

extension TaskSpace: TaskDependency {
    /// Waits for every task whose id was accessed so far (spawned now or later); throws the first failure.
    ///
    /// Parla (Python) equivalent: `await T`.
    public func wait() async throws {
        try await TaskSet(self.allSlots.map { TaskID(slot: $0) }).wait()
    }

    /// Calls `visit` with each task this dependency stands for (see ``TaskDependency``).
    public func forEachTarget(_ visit: (TaskDependencyTarget) -> Void) {
        for slot in self.allSlots { visit(.slot(slot)) }
    }
}

/// What a task may depend on: ``TaskID``, ``TaskSet``, ``TaskSpace``, ``ParlaTask``, or an array of them.
///
/// Parla (Python) equivalent: the `dependencies=` argument of `@spawn`.
///
/// A type of your own can stand for tasks too (a block of a matrix that knows which tasks wrote it, say)
/// by forwarding to the dependencies it holds:
///
/// ```swift
/// struct Block: TaskDependency {
///     var writers: [TaskID]
///     func forEachTarget(_ visit: (TaskDependencyTarget) -> Void) {
///         for id in writers { id.forEachTarget(visit) }
///     }
/// }
/// ```
public protocol TaskDependency: Sendable {
    /// Calls `visit` with each task (or id, spawned or not) this dependency stands for; `spawn` makes the
    /// new task wait for each.
    func forEachTarget(_ visit: (TaskDependencyTarget) -> Void)
}

/// One task a dependency stands for: an id (spawned or not) or a spawned task. Only Parla's own
/// dependencies (``TaskID``, ``ParlaTask``, ...) make them; see ``TaskDependency``.
public struct TaskDependencyTarget: Sendable {
    enum Kind: Sendable {
        case slot(TaskSlot)
        /// A task, through a handle made for use `generation` of its record.
        case record(TaskRecord, generation: UInt32)
    }

    let kind: Kind

    static func slot(_ slot: TaskSlot) -> TaskDependencyTarget { TaskDependencyTarget(kind: .slot(slot)) }
    static func record(_ record: TaskRecord, generation: UInt32) -> TaskDependencyTarget {
        TaskDependencyTarget(kind: .record(record, generation: generation))
    }
}

extension Array: TaskDependency where Element == any TaskDependency {
    /// Calls `visit` with each task this dependency stands for (see ``TaskDependency``).
    public func forEachTarget(_ visit: (TaskDependencyTarget) -> Void) {
        for element in self { element.forEachTarget(visit) }
    }
}

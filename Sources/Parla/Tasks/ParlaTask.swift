/// A spawned task: await its result, or depend on it. Parla (Python) equivalent: the task object
/// `@spawn` binds to the decorated name.
public struct ParlaTask<R: Sendable>: Sendable, TaskDependency, CustomStringConvertible {
    let record: TypedTaskRecord<R>

    /// The id the task was spawned under, if any.
    public var id: TaskID? { self.record.slot.map { TaskID(slot: $0) } }

    /// Whether the task has finished (successfully or not).
    public var isCompleted: Bool { self.record.isCompleted }

    /// The body's result, once the task has finished; throws the task's failure (its own error, or
    /// ``ParlaError/dependencyFailed(task:dependency:)``). Parla (Python) equivalent: `await task`.
    ///
    /// Inside a task, awaiting suspends the body without holding a worker thread.
    public var value: R {
        get async throws {
            try await self.record.waitForCompletion()
            return self.record.result!
        }
    }

    /// Waits until the task has finished; throws its failure.
    public func wait() async throws {
        try await self.record.waitForCompletion()
    }

    /// The task's name: its id (`T_1`), or where it was spawned.
    public var description: String { self.record.name }

    public func _forEachDependency(_ visit: (TaskDependencyTarget) -> Void) {
        visit(.record(self.record))
    }
}

/// A spawned task: await its result, or depend on it. Parla (Python) equivalent: the task object
/// `@spawn` binds to the decorated name.
public struct ParlaTask<R: Sendable>: Sendable, TaskDependency, CustomStringConvertible {
    // The record of an unnamed `Void` task is reused for a later task once this one has finished
    // successfully, even while handles to it exist: a handle remembers the use of the record it was
    // made for (`generation`), and where `spawn` was called (the record's is overwritten on reuse).
    // The handle is kept to three words, so that it fits an existential's inline buffer and an array
    // of dependencies (`[any TaskDependency]`) does not box it.
    let record: TypedTaskRecord<R>
    let generation: UInt32
    let originLine: UInt32
    /// The address of the spawn call's `#fileID`, a static, NUL-terminated string literal (0 when the
    /// `StaticString` given has no pointer).
    let originFile: UInt

    init(record: TypedTaskRecord<R>, generation: UInt32 = 0) {
        self.record = record
        self.generation = generation
        self.originLine = UInt32(truncatingIfNeeded: record.originLine)
        let origin = record.origin
        self.originFile = origin.hasPointerRepresentation ? UInt(bitPattern: origin.utf8Start) : 0
    }

    /// The id the task was spawned under, if any.
    public var id: TaskID? { self.record.slot.map { TaskID(slot: $0) } }

    /// Whether the task has finished (successfully or not).
    public var isCompleted: Bool { self.record.isCompleted(generation: self.generation) }

    /// The body's result, once the task has finished; throws the task's failure (its own error, or
    /// ``ParlaError/dependencyFailed(task:dependency:)``). Parla (Python) equivalent: `await task`.
    ///
    /// Inside a task, awaiting suspends the body without holding a worker thread.
    public var value: R {
        get async throws {
            try await self.record.waitForCompletion(generation: self.generation)
            // A `Void` result is not read from the record, which may have been reused since.
            if R.self == Void.self { return () as! R }
            return self.record.result!
        }
    }

    /// Waits until the task has finished; throws its failure.
    public func wait() async throws {
        try await self.record.waitForCompletion(generation: self.generation)
    }

    /// The task's name: its id (`T_1`), or where it was spawned.
    public var description: String {
        if let slot = self.record.slot { return slot.name }
        // Static string literals live as long as the program and end with a NUL.
        let file = UnsafePointer<UInt8>(bitPattern: self.originFile).map { String(cString: $0) } ?? "?"
        return TaskRecord.unnamedTaskName(origin: file, line: UInt(self.originLine))
    }

    /// Calls `visit` with each task this dependency stands for (see ``TaskDependency``).
    public func forEachTarget(_ visit: (TaskDependencyTarget) -> Void) {
        visit(.record(self.record, generation: self.generation))
    }
}

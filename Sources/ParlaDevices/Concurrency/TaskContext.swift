/// What Parla knows about the calling Swift task: the devices of the run it belongs to, and, in an
/// asynchronous task body, that task and its device. One task-local value, bound by the runtime around
/// a run's body and around each asynchronous task body, and by ``DeviceRegistry/withCurrent(_:_:)``.
///
/// Synchronous task bodies run on the runtime's own threads, whose context is the thread-local
/// ``ThreadContext``; the lookups (``Device/current``, the running task, the current run) look here
/// first and there second.
package struct TaskContext: Sendable {
    /// The devices of the run (or those ``DeviceRegistry/withCurrent(_:_:)`` bound).
    package var registry: DeviceRegistry? = nil
    /// The run the code belongs to: the runtime's record of it (a Parla `RunScope`), for its
    /// accounting of suspended awaiters.
    package var run: (any AnyObject & Sendable)? = nil
    /// The asynchronous task body's task: the runtime's record of it.
    package var task: (any DeviceFailureSink)? = nil
    /// The asynchronous task body's device.
    package var device: Device? = nil
    /// The asynchronous task body's compute lane on its GPU (none: the main compute stream).
    package var lane = ComputeLaneTag.none

    package init(
        registry: DeviceRegistry? = nil,
        run: (any AnyObject & Sendable)? = nil,
        task: (any DeviceFailureSink)? = nil,
        device: Device? = nil,
        lane: ComputeLaneTag = .none
    ) {
        self.registry = registry
        self.run = run
        self.task = task
        self.device = device
        self.lane = lane
    }

    /// The calling Swift task's context (`nil`: none bound).
    @TaskLocal package static var current: TaskContext? = nil
}

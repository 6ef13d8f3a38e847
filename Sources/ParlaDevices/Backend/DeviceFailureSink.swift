/// Where a device call that fails inside a task's body is recorded when nothing can be thrown
/// (NDArray's operators do not throw): the runtime's record of the running task. The first failure
/// fails the task when its body returns; device work the task asks for after it is skipped, and arrays
/// made after it hold no data, so that one failure neither ends the process nor cascades.
package protocol DeviceFailureSink: AnyObject, Sendable {
    /// Records a failure of `operation` (the first one is kept).
    func recordDeviceFailure(_ error: DeviceError, operation: String)
    /// Whether a failure has been recorded.
    var hasRecordedDeviceFailure: Bool { get }
    /// The devices of the task's run.
    var deviceRegistry: DeviceRegistry { get }
    /// Makes room for `bytes` on `device`, after an allocation there failed for lack of memory: evicts
    /// copies of arrays no running task uses, or waits while running tasks may give memory back.
    /// Returns whether the allocation is worth trying again (`false`: nothing can free more).
    func makeRoom(on device: Device, needing bytes: Int) -> Bool
    /// Runs `check` once the device work the task queued has finished (before the task completes); an
    /// error it returns fails the task (a result only the device knows, such as a factorization's).
    func checkAfterDeviceWork(_ check: @escaping @Sendable () -> (any Error)?)
}

/// The task running on the calling thread (set by the runtime around a synchronous body) or Swift task
/// (an asynchronous body), as a ``DeviceFailureSink``.
package enum RunningTask {
    /// The running task, or `nil` outside tasks.
    package static var sink: (any DeviceFailureSink)? {
        if let task = TaskContext.current?.task { return task }
        guard let task = ThreadContext.unretained?._withUnsafeGuaranteedRef({ $0.task }) else { return nil }
        // Set only while the task's body runs on this thread, which keeps the record alive.
        return task.takeUnretainedValue() as? any DeviceFailureSink
    }
}

extension DeviceBackend {
    /// Allocates `byteCount` bytes; inside a task, when the device is out of memory, room is made (see
    /// ``DeviceFailureSink/makeRoom(on:needing:)``) and the allocation tried again. For the runtime's
    /// own blocks (a factorization's status word, a library's workspace, a reduction's partials); not
    /// for callers holding a lock that other tasks need to finish.
    package func allocateMakingRoom(byteCount: Int) throws(DeviceError) -> DeviceAllocation {
        while true {
            do {
                return try self.allocate(byteCount: byteCount)
            } catch {
                guard case .outOfMemory = error, let task = RunningTask.sink,
                    task.makeRoom(on: self.device, needing: byteCount)
                else { throw error }
            }
        }
    }
}

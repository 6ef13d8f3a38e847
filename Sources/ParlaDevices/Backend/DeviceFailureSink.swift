#if canImport(Glibc)
import Glibc
#endif

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
    /// Evicts copies of arrays the task does not use from `device`, after an allocation there failed
    /// for lack of memory; returns whether any was dropped (then the allocation is worth trying again).
    func makeRoom(on device: Device) -> Bool
}

/// The task running on the calling thread (set by the runtime around a synchronous body) or Swift task
/// (an asynchronous body), as a ``DeviceFailureSink``.
package enum RunningTask {
    /// The thread-local slot of the task whose synchronous body runs on this thread: an unretained
    /// pointer to its record (the runtime keeps the record alive while the body runs).
    package static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        parlaPrecondition(pthread_key_create(&key, nil) == 0, "cannot create the thread-local key of the running task")
        return key
    }()

    /// The task whose asynchronous body is running.
    @TaskLocal package static var asynchronousSink: (any DeviceFailureSink)? = nil

    /// The running task, or `nil` outside tasks.
    package static var sink: (any DeviceFailureSink)? {
        if let sink = asynchronousSink { return sink }
        guard let raw = pthread_getspecific(threadKey) else { return nil }
        // Set only while the task's body runs on this thread, which keeps the record alive.
        return Unmanaged<AnyObject>.fromOpaque(raw).takeUnretainedValue() as? any DeviceFailureSink
    }
}

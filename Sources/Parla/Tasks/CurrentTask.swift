import ParlaDevices

/// The task whose body is running: its id, its devices, and on CUDA GPUs their streams.
///
/// ```swift
/// spawn(T[0], placement: gpu, inOut: [A]) {
///     let task = CurrentTask.current!
///     print(task.name, task.devices)                      // T_0 [gpu(2)]
///     if let stream = task.streams.first {                 // on a CUDA GPU
///         let handle = try stream.cublasHandle()          // call cuBLAS on the task's stream
///         // ... cublasDscal_v2(handle, ...) on A.array's device pointer
///     }
/// }
/// ```
///
/// Parla (Python) equivalent: `get_current_task()`, `get_current_devices()`, `get_current_stream()`.
public struct CurrentTask: Sendable, CustomStringConvertible {
    /// The task's id (`nil` for a task spawned without one).
    public let id: TaskID?
    /// The task's name: its id's (`T_0`), or where it was spawned for an unnamed task.
    public let name: String
    /// The devices the task runs on (one: the device its placement resolved to).
    public let devices: [Device]
    /// The task's record (for checking that ``streams`` is read from its own body).
    private let record: TaskRecord

    /// The task whose body the caller runs in, or `nil` outside task bodies.
    public static var current: CurrentTask? {
        guard let record = RunScope.currentTask else { return nil }
        return CurrentTask(
            id: record.slot.map { TaskID(slot: $0) },
            name: record.name,
            devices: [record.device],
            record: record
        )
    }

    /// The task's device (the first of ``devices``).
    public var device: Device { self.devices[0] }

    /// Each of the task's devices that is a CUDA GPU, its stream: work queued on one counts as the
    /// task's (the task completes after it, so reading this makes the task wait for its stream). Empty
    /// on the CPU and on virtual GPUs. Read from the task's own body only (it stops with a message
    /// elsewhere: another task's stream is not this one's).
    public var streams: [CUDAStream] {
        parlaPrecondition(
            RunScope.currentTask === self.record,
            "the streams of task \(self.name) are read outside its body: read CurrentTask.current there"
        )
        guard self.devices.contains(where: { $0.kind == .gpu }) else { return [] }
        return CUDAStream.current.map { [$0] } ?? []
    }

    /// `T_0 on gpu(1)`.
    public var description: String {
        "\(self.name) on \(self.devices.map(\.description).joined(separator: ", "))"
    }
}

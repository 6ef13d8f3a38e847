import ParlaDevices
import Synchronization

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
/// Parla (Python) equivalent: `get_current_task()`, `get_current_devices()`, `get_current_stream()`,
/// `get_current_context()`.
public struct CurrentTask: Sendable, CustomStringConvertible {
    /// The task's id (`nil` for a task spawned without one).
    public let id: TaskID?
    /// The task's name: its id's (`T_0`), or where it was spawned for an unnamed task.
    public let name: String
    /// The devices the task runs on: the device its placement resolved to, or for a multi-device task
    /// (``DeviceGroup``) its devices in the group's order.
    public let devices: [Device]
    /// The task's record (for checking that ``streams`` is read from its own body).
    private let record: TaskRecord

    /// The task whose body the caller runs in, or `nil` outside task bodies.
    public static var current: CurrentTask? {
        guard let record = RunScope.currentTask else { return nil }
        return CurrentTask(
            id: record.slot.map { TaskID(slot: $0) },
            name: record.name,
            devices: record.devices,
            record: record
        )
    }

    /// The task's device (the first of ``devices``).
    public var device: Device { self.devices[0] }

    /// Each of the task's devices that is a CUDA GPU, its stream, in the order of ``devices``: work
    /// queued on one counts as the task's (the task completes after it, so reading this makes the task
    /// wait for its streams). Empty on the CPU and on virtual GPUs. Read from the task's own body only
    /// (it stops with a message elsewhere: another task's stream is not this one's).
    public var streams: [CUDAStream] {
        self.checkInsideBody("the streams of task \(self.name) are read outside its body")
        return self.devices.compactMap { CUDAStream.ofTask(on: $0) }
    }

    /// Runs `body` once for each of the task's devices, all at the same time, each on a new thread of
    /// its own whose current device is that device: `.array` of a region declared for it
    /// (`A.forDevice(index)`, or a plain input) is its copy there, and NDArray work and
    /// `CUDAStream.current` go to that device. Returns when every call has; rethrows the error of the
    /// first device (by position) whose call threw. A task of one device runs `body` here, once.
    ///
    /// ```swift
    /// spawn(placement: gpu * 2, input: [A], inOut: [B[0..<n].forDevice(0), B[n..<2 * n].forDevice(1)]) {
    ///     try CurrentTask.current!.forEachDevice { index, device in
    ///         B[index * n..<(index + 1) * n] += A[index * n..<(index + 1) * n].array
    ///     }
    /// }
    /// ```
    ///
    /// Parla (Python) equivalent: `for device in get_current_context().loop()` and `context.parfor()`
    /// (parla-experimental), run in parallel.
    /// - Precondition: called from the task's own body.
    public func forEachDevice(_ body: @escaping @Sendable (_ index: Int, _ device: Device) throws -> Void) throws {
        self.checkInsideBody("forEachDevice of task \(self.name) is called outside its body")
        if self.devices.count == 1 { return try body(0, self.devices[0]) }
        let failures = Mutex<[(index: Int, error: any Error)]>([])
        let (record, devices) = (self.record, self.devices)
        runOnThreadsOfTheirOwn(devices.count) { index in
            let context = ThreadContext.current
            // (A call that could not get a thread runs on the body's own: its context is put back.)
            let saved = (device: context.device, task: context.task, lane: context.lane)
            // (Unretained: the record outlives this call, which the task's body waits for.)
            context.enterTaskBody(device: devices[index], task: Unmanaged.passUnretained(record))
            defer {
                if let device = saved.device, let task = saved.task {
                    context.enterTaskBody(device: device, task: task, lane: saved.lane)
                } else {
                    context.leaveTaskBody()
                }
            }
            do { try body(index, devices[index]) } catch { failures.withLock { $0.append((index, error)) } }
        }
        if let first = failures.withLock({ $0.min { $0.index < $1.index } }) { throw first.error }
    }

    /// Stops with `message` unless the caller runs in this task's body.
    private func checkInsideBody(_ message: @autoclosure () -> String) {
        parlaPrecondition(RunScope.currentTask === self.record, "\(message()): read CurrentTask.current there")
    }

    /// `T_0 on gpu(1)`.
    public var description: String {
        "\(self.name) on \(self.devices.map(\.description).joined(separator: ", "))"
    }
}

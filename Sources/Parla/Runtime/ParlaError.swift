import ParlaDevices

/// Why a task, or a whole `Parla.run`, failed. Every case names the tasks (and devices) it is about.
public enum ParlaError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A task did not run because a task it depends on failed.
    case dependencyFailed(task: String, dependency: String)
    /// A task id was spawned a second time; the second task fails.
    case duplicateTaskID(String)
    /// A task's placement names a device that this run does not have.
    case noSuchDevice(task: String, device: Device, available: [Device])
    /// A task asked for more memory or compute units than any device it may run on has in all.
    case unsatisfiableResources(task: String, detail: String)
    /// Nothing could run any more while tasks were still waiting: dependencies (or awaited ids) that
    /// were never spawned, and/or a cycle of dependencies. Detected instead of hanging.
    case unsatisfiableDependencies(missing: [String], cycle: [String], waiting: [String])
    /// In `.explicit` mode, two tasks access overlapping data (at least one writing) and no chain of
    /// dependencies orders them; the later-spawned one fails instead of racing.
    case race(first: String, second: String, access: String)
    /// A task declared a PArray that a task of another run in progress (`otherTask`) also uses; nothing
    /// can order tasks of different runs, so runs in progress at once cannot share an array.
    case sharedAcrossRuns(task: String, array: String, otherTask: String)
    /// A task id was awaited outside every run, and no run can spawn it any more (none is in progress,
    /// or those in progress ended without spawning it). `reason` says which.
    case neverSpawned(id: String, reason: String)
    /// A task (or the run) awaited tasks of a run that was aborted by another failure.
    case runAborted(String)
    /// A device call failed while a task ran: moving its data, a kernel or copy of its body, or its
    /// device work's completion. `operation` says what the runtime was doing; `error` names the call
    /// and the device's error (for CUDA, the driver call and the `CUDA_ERROR_*` code). The task fails;
    /// the process and the arrays do not (a failed move leaves an array as it was). (Stored indirectly:
    /// every task record holds a `ParlaError?`, which this case's payload would otherwise triple.)
    indirect case deviceFailed(task: String, device: Device, operation: String, error: DeviceError)

    public var description: String {
        switch self {
        case .dependencyFailed(let task, let dependency):
            return "task \(task) did not run because its dependency \(dependency) failed"
        case .duplicateTaskID(let id):
            return "task \(id) was spawned twice; the second spawn fails"
        case .noSuchDevice(let task, let device, let available):
            return
                "task \(task) is placed on \(device), which this run does not have (devices: \(available.map(\.description).joined(separator: ", ")))"
        case .unsatisfiableResources(let task, let detail):
            return "task \(task) can never be placed: \(detail)"
        case .unsatisfiableDependencies(let missing, let cycle, let waiting):
            var parts: [String] = []
            if !missing.isEmpty {
                parts.append("never spawned: \(missing.joined(separator: ", "))")
            }
            if !cycle.isEmpty {
                parts.append("dependency cycle: \((cycle + [cycle[0]]).joined(separator: " -> "))")
            }
            if !waiting.isEmpty {
                let shown = waiting.prefix(20).joined(separator: ", ") + (waiting.count > 20 ? ", …" : "")
                parts.append("waiting: \(shown)")
            }
            return (waiting.isEmpty ? "an await can never end; " : "tasks can never run; ")
                + parts.joined(separator: "; ")
        case .race(let first, let second, let access):
            return
                "tasks \(first) and \(second) race: both access \(access) and no dependency orders them; add a dependency, or use Parla.run(dependencies: .inferred)"
        case .sharedAcrossRuns(let task, let array, let otherTask):
            return
                "task \(task) uses PArray \(array), which task \(otherTask) of another run in progress also uses; runs in progress at once cannot share an array"
        case .neverSpawned(let id, let reason):
            return "task \(id) was never spawned: \(reason)"
        case .runAborted(let reason):
            return "the run was aborted: \(reason)"
        case .deviceFailed(let task, let device, let operation, let error):
            return "task \(task) failed on \(device): \(operation): \(error)"
        }
    }
}

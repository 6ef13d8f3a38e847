import ParlaDevices
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension Parla {
    /// Runs `body` with the Parla runtime: tasks spawned inside it (and inside those tasks) run on the
    /// chosen devices. When `body` returns, `run` waits for every task, nested ones included, and then
    /// rethrows the first failure (of the body, or of a task).
    ///
    /// Parla (Python) equivalent: `with Parla(): ...`.
    ///
    /// Runs are independent: several may follow one another or be in progress at once (started from
    /// different threads or Swift tasks, or inside another run's body or tasks), each with its own
    /// devices, tasks and failures; one PArray may not be used by the tasks of two runs at once.
    ///
    /// When tasks wait for something that can never happen (a dependency never spawned, a cycle of
    /// dependencies or of awaits), the run throws
    /// ``ParlaError/unsatisfiableDependencies(missing:cycle:waiting:)`` listing them instead of hanging.
    ///
    /// Cancelling the Swift task that awaits `run` abandons nothing: the body's awaits are not
    /// interrupted (the body may check `Task.isCancelled` and stop spawning), the tasks spawned finish,
    /// and then `run` throws `CancellationError` (unless the body or a task failed first).
    ///
    /// - Parameters:
    ///   - devices: which devices to use (overridden by `PARLA_DEVICES` only when left at `.auto`).
    ///   - dependencies: whether data accesses add dependencies (``DependencyMode/inferred``).
    ///   - trace: a file to write the run's trace to when it ends, in the Chrome/Perfetto trace-event
    ///     format (open it in ui.perfetto.dev or chrome://tracing): each task on its worker and device
    ///     (a multi-device task on each of its devices), with its waits; each copy with its link, bytes
    ///     and GB/s; dependencies as arrows. The file is replaced whole when the run ends. `nil`: the
    ///     path in `PARLA_TRACE`, if set; otherwise nothing is recorded (and nothing is paid).
    ///   - body: the program: it spawns tasks and may await them.
    public static func run(
        devices: DeviceSelection = .auto,
        dependencies: DependencyMode = .inferred,
        trace: String? = nil,
        _ body: () async throws -> Void
    ) async throws {
        let selection = devices == .auto ? (try DeviceSelection.fromEnvironment() ?? .auto) : devices
        let registry = try DeviceRegistry.make(selection)
        let tracePath = trace ?? Self.defaultTracePath ?? Self.tracePathFromEnvironment
        let scope = RunScope(
            registry: registry,
            dependencyMode: dependencies,
            pool: WorkerPool.shared,
            tracePath: tracePath
        )
        RunScope.started(scope)

        // The monitor ends the run once the body has returned and every task has finished; when nothing
        // can progress before that, it fails what waits for the impossible (the body's awaits included).
        let monitor = Task { await scope.monitor() }
        var bodyError: (any Error)? = nil
        do {
            // (A run started inside a task's asynchronous body keeps that task and its device.)
            var context = TaskContext.current ?? TaskContext()
            context.registry = registry
            context.run = scope
            try await TaskContext.$current.withValue(context) { try await body() }
        } catch {
            bodyError = error
        }
        scope.accounting.bodyFinished()
        await monitor.value
        // (Ended before its trace is written: a spawn from elsewhere can no longer land in it.)
        RunScope.ended(scope)
        if let trace = scope.trace {
            let writing = TraceClock.nanoseconds
            let wall = Double(writing &- trace.origin.nanoseconds) * 1e-9
            // (A trace that cannot be written does not fail the computation: it says why.)
            if let problem = trace.write(wallSeconds: wall) { printToStandardError("Parla: \(problem)") }
            Self.lastTraceWrite.store(TraceClock.nanoseconds &- writing, ordering: .relaxed)
            trace.discardEvents()
        }
        if let error = bodyError ?? scope.failure { throw error }
        // A cancelled caller: every task has finished (none is abandoned with arrays half-moved).
        try Task.checkCancellation()
    }

    /// How long the last traced run to end took to write its trace file, in nanoseconds (for a benchmark
    /// that separates the cost of recording a trace from that of writing it).
    package static let lastTraceWrite = Atomic<UInt64>(0)

    /// The trace file of runs started inside ``tracing(to:_:)`` (a task-local value, so that code running
    /// at once elsewhere is not traced).
    @TaskLocal static var defaultTracePath: String? = nil

    /// Runs `body` with its runs that name no trace writing theirs to `path` (each run overwrites the
    /// file: the last one's stays). For tools whose `--trace FILE` covers runs they start deep down.
    package static func tracing<R>(to path: String?, _ body: () async throws -> R) async rethrows -> R {
        guard let path else { return try await body() }
        return try await Self.$defaultTracePath.withValue(path) { try await body() }
    }

    /// The trace file `PARLA_TRACE` names, if set and not empty.
    static var tracePathFromEnvironment: String? {
        guard let raw = getenv("PARLA_TRACE") else { return nil }
        let path = String(cString: raw)
        return path.isEmpty ? nil : path
    }

    /// The devices of the run in progress (outside a run, of the default selection): the GPUs in
    /// order, then the CPU.
    public static var devices: [Device] { DeviceRegistry.current.devices }

    /// The number of worker threads that run synchronous task bodies: `PARLA_WORKERS` when set, else
    /// one per core (at least 2).
    public static var workerThreads: Int { WorkerPool.shared.workers.count }
}

extension Parla {
    /// Whether GPU tasks run ahead of their devices (the default): a task whose kernels are still
    /// queued on its GPU when its body returns releases its successors at once, and completes when the
    /// device has run its work, without a worker waiting for it. `PARLA_RUNAHEAD=0` turns it off (each
    /// worker then waits for its task's device work), for comparison.
    ///
    /// Parla (Python) equivalent: the scheduler's runahead mode (`NON_BLOCKING` stream waits).
    public static var runsAhead: Bool { LaunchedWorkQueue.runahead.isOn }

    /// Runs `body` with runahead on or off for the runs it starts (to compare the two), then restores
    /// the setting. Not for runs in progress at once with others that expect the setting.
    package static func withRunahead<R>(_ enabled: Bool, _ body: () async throws -> R) async rethrows -> R {
        try await LaunchedWorkQueue.runahead.with(enabled, body)
    }

    /// Runs `body` with streams of their own for tasks sharing a GPU on or off (off: their work goes on
    /// the compute stream, to compare the two), then restores the setting. Not for runs in progress at
    /// once with others that expect the setting.
    package static func withTaskStreams<R>(_ enabled: Bool, _ body: () async throws -> R) async rethrows -> R {
        try await RunScope.taskStreams.with(enabled, body)
    }
}

/// Writes `line` to standard error.
func printToStandardError(_ line: String) {
    let text = line + "\n"
    _ = text.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
}

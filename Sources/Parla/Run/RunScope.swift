import ParlaDevices
import Synchronization

/// One `Parla.run` in progress: its devices and the parts that keep its books, each with one job.
///
/// - ``RunAccounting``: what the run still has to do, and when nothing in it can progress;
/// - ``StallDetector``: what then waits for the impossible, failed with a report;
/// - ``ResourceLedger``: each task's device, and the share of it the task reserved;
/// - execution (`RunScope+Execution.swift`): a ready task's data moves, its body, its completion;
/// - runahead (`RunScope+Runahead.swift`): GPU tasks that complete when their queued work does,
///   without a worker waiting for it;
/// - device memory (`RunScope+DeviceMemory.swift`, with ``DeviceResidency``): copies that give way
///   when a device is full;
/// - locality (`RunScope+Locality.swift`): which of a task's allowed devices suits its data best;
/// - the registry of runs in progress (`RunRegistry.swift`): which run the calling code belongs to;
/// - its trace, when asked for (``TraceRecorder``).
final class RunScope: Sendable {
    let registry: DeviceRegistry
    let dependencyMode: DependencyMode
    /// Numbers runs in the order they start (arrays drop accesses of earlier, finished runs).
    let serial = RunScope.runCount.add(1, ordering: .relaxed).newValue
    private static let runCount = Atomic<Int>(0)
    /// The process's pool (it is never freed), not reference-counted on the hot path.
    let pool: WorkerPool
    /// The devices tasks may use: the GPUs in order, then the CPU.
    let devices: [Device]
    /// Per device (by position): whether a task's work there may still be in flight when its body
    /// returns (the device's queues run asynchronously, as CUDA streams do), so that the task finishes
    /// only when that work has.
    let completesAsynchronously: [Bool]
    /// Per device (by position) whose work completes asynchronously: where tasks whose work is still
    /// queued when their bodies return wait for it, in launch order (see `RunScope+Runahead.swift`);
    /// empty when runahead is off (`PARLA_RUNAHEAD=0`: the worker waits, as before).
    let launchedWork: [LaunchedWorkQueue?]

    let accounting: RunAccounting
    let ledger: ResourceLedger
    let stalls = StallDetector()
    /// The first failure of a task (or the report of tasks that could never run).
    private let firstFailure = Mutex<(any Error)?>(nil)
    /// Bytes moved for PArrays by this run, per link.
    let movement = AdaptiveMutex<[DataMovementLog.Link: Int]>([:])
    /// The copies the run keeps on its devices of bounded memory, for eviction.
    let residency: DeviceResidency
    /// Whether a device of the run has bounded memory (its tasks' accesses are then recorded as uses to
    /// come, which eviction weighs).
    let mayEvict: Bool
    /// What eviction did in this run.
    let evictions = Mutex(EvictionCounts())

    /// Numbers the spawns of tasks with data accesses, in every run (see ``UpcomingUses``).
    private static let spawnOrders = Atomic<UInt64>(0)

    /// The next spawn order.
    static func nextSpawnOrder() -> UInt64 { Self.spawnOrders.add(1, ordering: .relaxed).newValue }

    /// What the run records for its trace (`Parla.run(trace:)`, `PARLA_TRACE`), or `nil` (the hooks then
    /// cost one test each).
    let trace: TraceRecorder?
    /// ``trace``, unretained, for the recording hooks: counting a reference to the recorder per event
    /// would make its reference count a cache line that every worker and the spawning thread write.
    /// Safe: `trace` keeps the recorder as long as the run's scope lives, and events are recorded only
    /// by the run's tasks and `spawn`s, which hold the scope.
    let recorder: Unmanaged<TraceRecorder>?

    init(registry: DeviceRegistry, dependencyMode: DependencyMode, pool: WorkerPool, tracePath: String? = nil) {
        self.trace = tracePath.map { TraceRecorder(path: $0, devices: registry.devices, pool: pool) }
        self.recorder = self.trace.map { Unmanaged.passUnretained($0) }
        self.registry = registry
        self.dependencyMode = dependencyMode
        self.pool = pool
        self.devices = registry.devices
        let backends = registry.devices.map { try? registry.backend(for: $0) }
        self.completesAsynchronously = backends.map { $0?.completesAsynchronously ?? false }
        let runahead = LaunchedWorkQueue.runahead.isOn
        self.launchedWork = zip(registry.devices, self.completesAsynchronously).map { device, asynchronous in
            runahead && asynchronous ? LaunchedWorkQueue(device: device) : nil
        }
        self.accounting = RunAccounting(pool: pool)
        let capacities = backends.map { $0?.memoryCapacity }
        self.ledger = ResourceLedger(devices: self.devices, capacities: capacities, pool: pool)
        self.residency = DeviceResidency(backends: backends)
        self.mayEvict = capacities.contains { $0 != nil }
    }

    /// The slot of `device` in the per-device arrays (GPUs by index, the CPU last).
    @inline(__always)
    func position(of device: Device) -> Int { self.ledger.position(of: device) }

    /// Whether the run has `device`.
    func has(_ device: Device) -> Bool {
        device.kind == .cpu || device.index < self.devices.count - 1
    }

    /// A task became ready: it is queued to run.
    func taskBecameReady(_ record: TaskRecord) {
        self.accounting.taskBecameActive()
        self.pool.submit(record)
    }

    func recordFailure(_ error: any Error) {
        self.firstFailure.withLock { if $0 == nil { $0 = error } }
    }

    /// The first failure of a task (or the report of tasks that could never run).
    var failure: (any Error)? { self.firstFailure.withLock { $0 } }

    /// Watches the run until its body has returned and every task has finished, failing the tasks (and
    /// waking the awaiters, the body's included) that wait for something that can never happen.
    func monitor() async {
        while true {
            await self.accounting.waitForQuiescence()
            if self.accounting.isBodyDone && self.accounting.allTasksFinished { return }
            self.stalls.abortStuckTasks(of: self)
        }
    }

    /// Lets go of what the run kept for its tasks (its task spaces), once it has
    /// ended: finished task records kept for reuse still refer to their last run, and must not keep a
    /// million ids alive with it.
    func releaseTaskState() {
        self.stalls.releaseSpaces()
    }
}

/// How tasks are ordered besides their explicit dependencies.
///
/// Parla (Python) equivalent: none; Parla only has explicit dependencies (``explicit``).
public enum DependencyMode: Hashable, Sendable {
    /// A task also depends on every earlier task whose data accesses conflict with its own.
    case inferred
    /// Only explicit dependencies order tasks; conflicting accesses they leave unordered are reported.
    case explicit
}

import Dispatch
import ParlaDevices
import Synchronization

/// What a traced run records: each task's times (spawned, started, its data in, ended), worker and
/// device; each copy of PArray data (link, bytes, times); each dependency between tasks. Written as a
/// Chrome/Perfetto trace when the run ends (`TraceRecorder+JSON.swift`).
///
/// Made only for runs asked to trace (`Parla.run(trace:)`, `PARLA_TRACE`): a run without one pays
/// one test of an optional per hook. Events go to one buffer per worker shard, so that workers
/// recording at once do not contend.
final class TraceRecorder: Sendable {
    /// Where the trace goes.
    let path: String
    /// The run's devices (GPUs in order, then the CPU): one process of tracks each.
    let devices: [Device]
    /// The run's start, in nanoseconds of the monotonic clock.
    let origin: UInt64
    /// Numbers the traced tasks.
    private let taskNumbers = Atomic<Int>(0)
    /// Per worker shard: what threads of that shard recorded.
    private let shards: [Shard]
    /// The pool (for the calling thread's shard), never freed.
    private let pool: Unmanaged<WorkerPool>

    /// One shard's events.
    final class Shard: Sendable {
        let events = Mutex<[TraceEvent]>([])
    }

    init(path: String, devices: [Device], pool: WorkerPool) {
        self.path = path
        self.devices = devices
        self.origin = Self.now
        self.pool = Unmanaged.passUnretained(pool)
        self.shards = (0..<pool.shardCount).map { _ in Shard() }
    }

    /// Nanoseconds of the monotonic clock.
    static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// A number for a task being spawned.
    func nextTaskNumber() -> Int { self.taskNumbers.add(1, ordering: .relaxed).newValue }

    /// How many tasks have been numbered (the highest number).
    var taskCount: Int { self.taskNumbers.load(ordering: .relaxed) }

    /// Records `event` in the calling thread's shard.
    func record(_ event: TraceEvent) {
        let shard = self.pool._withUnsafeGuaranteedRef { $0.currentShard }
        self.shards[shard].events.withLock { $0.append(event) }
    }

    /// Every event recorded, in no particular order.
    var events: [TraceEvent] { self.shards.flatMap { shard in shard.events.withLock { $0 } } }

    /// The worker the calling thread is (`nil`: not a worker of the pool, e.g. a Swift task's thread).
    static var currentWorker: Int? {
        WorkerThreadState.unretained?._withUnsafeGuaranteedRef { $0.worker?._withUnsafeGuaranteedRef { $0.number } }
    }
}

/// One thing a traced run recorded.
enum TraceEvent: Sendable {
    /// A task ran.
    case task(TracedTask)
    /// Elements of a PArray were copied between devices.
    case copy(TracedCopy)
    /// Task `to` waited for task `from` (by their trace numbers).
    case dependency(from: Int, to: Int)
}

/// A traced task: its times (nanoseconds of the monotonic clock), places and name (made only when
/// the trace is written: recording a task costs a few stores).
struct TracedTask: Sendable {
    var number: Int
    var spawned: UInt64
    var started: UInt64 = 0
    var dataIn: UInt64 = 0
    var ended: UInt64 = 0
    var device: Device = .cpu
    /// The worker that ran it (`nil`: an asynchronous body, run by Swift's threads).
    var worker: Int? = nil
    /// Its id's slot (`nil`: an unnamed task), and where it was spawned.
    var slot: TaskSlot?
    var origin: StaticString
    var originLine: UInt

    /// The task's name, as messages give it.
    var name: String {
        self.slot?.name ?? TaskRecord.unnamedTaskName(origin: "\(self.origin)", line: self.originLine)
    }

    /// Its task space's name (empty for an unnamed task).
    var space: String { self.slot?.spaceName ?? "" }
}

/// A traced task while it runs, on its record: filled in as it is spawned, starts and has its data in,
/// and recorded when it finishes. The record keeps it for its next task (records are reused), so that
/// tracing a task allocates nothing once the records are warm.
final class TracedTaskInProgress: @unchecked Sendable {
    // @unchecked Sendable: written by the thread that spawns the task, then by the threads that start
    // and finish it, in order (the hand-overs go through the scheduler's locks and atomics, as the
    // record's own fields do).
    var task: TracedTask

    init(_ task: TracedTask) { self.task = task }
}

/// A copy between two devices' buffers (nanoseconds of the monotonic clock).
struct TracedCopy: Sendable {
    var source: Device
    var destination: Device
    var bytes: Int
    var started: UInt64
    var ended: UInt64
}

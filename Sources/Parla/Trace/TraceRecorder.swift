import Dispatch
import ParlaDevices
import Synchronization

/// What a traced run records: each task's times (spawned, started, its data in, ended), worker and
/// device; each copy of PArray data (link, bytes, times); each dependency between tasks. Written as a
/// Chrome/Perfetto trace when the run ends (`TraceRecorder+JSON.swift`).
///
/// Made only for runs asked to trace (`Parla.run(trace:)`, `PARLA_TRACE`): a run without one pays
/// one test of an optional per hook. Each worker thread appends to a buffer of its own, without a
/// lock; other threads (Swift's, running asynchronous bodies) share one behind a lock.
final class TraceRecorder: Sendable {
    /// Where the trace goes.
    let path: String
    /// The run's devices (GPUs in order, then the CPU): one process of tracks each.
    let devices: [Device]
    /// The run's start, in nanoseconds of the monotonic clock.
    let origin: UInt64
    /// Numbers the traced tasks.
    private let taskNumbers = Atomic<Int>(0)
    /// Per worker (by number): what that worker's thread recorded.
    private let workerEvents: [WorkerEvents]
    /// What threads outside the pool recorded (appended to under `otherEventsLock`).
    private let otherEvents = WorkerEvents()
    private let otherEventsLock = Mutex(())
    /// The pool (for the calling thread's worker number), never freed.
    private let pool: Unmanaged<WorkerPool>

    /// One worker's events, in chunks of fixed capacity: an append never copies what is recorded
    /// already (an array growing by doubling would copy each event about once more).
    final class WorkerEvents: @unchecked Sendable {
        // @unchecked Sendable: appended to only by the one worker thread whose number it has (the
        // buffer of threads outside the pool: only under the recorder's lock), and read only once the
        // run has ended: every event is recorded by a task of the run (spawning, running,
        // finishing it, or moving its data) before the task counts as finished, and the run's end is
        // ordered after every task's through the scheduler's atomics and locks.
        @exclusivity(unchecked) private var full: [[TraceEvent]] = []
        @exclusivity(unchecked) private var current: [TraceEvent] = []

        /// Events per chunk.
        static let chunkCapacity = 4096

        @inline(__always)
        func append(_ event: TraceEvent) {
            if self.current.count == self.current.capacity { self.startChunk() }
            self.current.append(event)
        }

        /// Keeps the current chunk (if any) and starts an empty one.
        private func startChunk() {
            if !self.current.isEmpty { self.full.append(self.current) }
            self.current = []
            self.current.reserveCapacity(Self.chunkCapacity)
        }

        /// Everything recorded, in order.
        var events: [TraceEvent] { self.full.flatMap { $0 } + self.current }
    }

    init(path: String, devices: [Device], pool: WorkerPool) {
        self.path = path
        self.devices = devices
        self.origin = Self.now
        self.pool = Unmanaged.passUnretained(pool)
        // (The pool's last shard is every thread outside it: `otherEvents`.)
        self.workerEvents = (0..<(pool.shardCount - 1)).map { _ in WorkerEvents() }
    }

    /// Nanoseconds of the monotonic clock.
    static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// A number for a task being spawned.
    func nextTaskNumber() -> Int { self.taskNumbers.add(1, ordering: .relaxed).newValue }

    /// How many tasks have been numbered (the highest number).
    var taskCount: Int { self.taskNumbers.load(ordering: .relaxed) }

    /// Records `event`: in the calling worker's own buffer, or, outside the pool, in the shared one.
    func record(_ event: TraceEvent) {
        let shard = self.pool._withUnsafeGuaranteedRef { $0.currentShard }
        if shard < self.workerEvents.count {
            self.workerEvents[shard].append(event)
        } else {
            self.otherEventsLock.withLock { _ in self.otherEvents.append(event) }
        }
    }

    /// Every event recorded, in no particular order (once the run has ended).
    var events: [TraceEvent] {
        self.workerEvents.flatMap(\.events) + self.otherEventsLock.withLock { _ in self.otherEvents.events }
    }

    /// The worker the calling thread is (`nil`: not a worker of the pool, e.g. a Swift task's thread).
    static var currentWorker: Int? {
        WorkerThreadState.unretained?._withUnsafeGuaranteedRef { $0.worker?._withUnsafeGuaranteedRef { $0.number } }
    }
}

/// One thing a traced run recorded. A task's three events are recorded by the threads that spawn,
/// start and finish it, each into its own shard (nothing written by one thread is read by another
/// before the trace is written), and joined by the task's number when the trace is written.
enum TraceEvent: Sendable {
    /// A task was spawned.
    case spawned(TaskSpawned)
    /// A task started (at `started`), had its data in (at `dataIn`), on `worker` (`nil`: an
    /// asynchronous body, run by Swift's threads).
    case started(number: Int, started: UInt64, dataIn: UInt64, worker: Int?)
    /// A task finished, on `device`.
    case finished(number: Int, ended: UInt64, device: Device)
    /// Elements of a PArray were copied between devices.
    case copy(TracedCopy)
    /// Task `to` waited for task `from` (by their trace numbers).
    case dependency(from: Int, to: Int)
}

/// A task's spawn in a trace: its number, when, its id's slot (`nil`: an unnamed task), and where in
/// the program.
struct TaskSpawned: Sendable {
    var number: Int
    var time: UInt64
    var slot: TaskSlot?
    var origin: StaticString
    var originLine: UInt
}

/// A traced task as the trace gives it: its times (nanoseconds of the monotonic clock), places and
/// name (made only when the trace is written).
struct TracedTask: Sendable {
    var spawn: TaskSpawned
    var started: UInt64
    var dataIn: UInt64
    var ended: UInt64
    var device: Device
    /// The worker that ran it (`nil`: an asynchronous body, run by Swift's threads).
    var worker: Int?

    var number: Int { self.spawn.number }
    var spawned: UInt64 { self.spawn.time }

    /// The task's name, as messages give it.
    var name: String {
        self.spawn.slot?.name ?? TaskRecord.unnamedTaskName(origin: "\(self.spawn.origin)", line: self.spawn.originLine)
    }

    /// Its task space's name (empty for an unnamed task).
    var space: String { self.spawn.slot?.spaceName ?? "" }
}

/// A copy between two devices' buffers (nanoseconds of the monotonic clock).
struct TracedCopy: Sendable {
    var source: Device
    var destination: Device
    var bytes: Int
    var started: UInt64
    var ended: UInt64
}

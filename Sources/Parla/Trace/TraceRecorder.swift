import ParlaDevices
import Synchronization

/// What a traced run records: each task's times (spawned, started, its data in, ended), worker and
/// device; each copy of PArray data (link, bytes, times); each dependency between tasks. Written as a
/// Chrome/Perfetto trace when the run ends (`TraceRecorder+JSON.swift`).
///
/// Made only for runs asked to trace (`Parla.run(trace:)`, `PARLA_TRACE`): a run without one pays
/// one test of an optional per hook. Recording is meant to cost well under 0.2 µs per task:
///
/// - each thread appends to a buffer of its own (``TraceBuffer``), without a lock: a pool worker to the
///   one of its number, any other thread (Swift's, running asynchronous bodies and `Parla.run`'s body)
///   to one the recorder makes on its first event and finds again if it records for another run in
///   between;
/// - events are plain values (no reference counted, no enum payload to copy through value witnesses),
///   one list per kind, joined by the task's number only when the trace is written;
/// - times are read from the cycle counter (``TraceClock``) and made nanoseconds when written.
final class TraceRecorder: Sendable {
    /// Where the trace goes.
    let path: String
    /// The run's devices (GPUs in order, then the CPU): one process of tracks each.
    let devices: [Device]
    /// What events are stamped with.
    let clock: TraceClock
    /// The run's start, on both clocks.
    let origin: TraceClock.Reading
    /// This recorder among all of the process's (a thread's buffer of other threads belongs to one).
    let identity: UInt64
    private static let identities = Atomic<UInt64>(0)
    /// Numbers the traced tasks. In a cache line of its own: the spawning threads write it, and the
    /// fields beside it are read by every worker at each event.
    private let taskNumbers = PaddedCounter()
    /// Per worker (by number), that worker's buffer. Retained here (`init`) and released in `deinit`:
    /// the recorder owns them, so the recording paths read them without counting references.
    private let workerBuffers: [Unmanaged<TraceBuffer>]
    /// The buffers of threads outside the pool, one per thread that recorded, by its scheduler state
    /// (a thread that records for several runs in turn finds its buffer of each again).
    private let otherBuffers = Mutex<[ObjectIdentifier: TraceBuffer]>([:])

    init(path: String, devices: [Device], pool: WorkerPool) {
        self.path = path
        self.devices = devices
        self.clock = .machine
        self.origin = self.clock.read()
        self.identity = Self.identities.add(1, ordering: .relaxed).newValue
        // (The pool's last shard is every thread outside it.)
        self.workerBuffers = (0..<(pool.shardCount - 1)).map { _ in Unmanaged.passRetained(TraceBuffer()) }
    }

    deinit {
        self.discardEvents()
        for buffer in self.workerBuffers { buffer.release() }
    }

    /// The clock's value now, in ticks (see ``TraceClock``).
    @inline(__always)
    var now: UInt64 { self.clock.ticks }

    /// How many tasks have been numbered (the highest number).
    var taskCount: Int { self.taskNumbers.value.load(ordering: .relaxed) }

    // MARK: Recording

    /// Numbers a task being spawned and records its spawn (now); returns its number.
    @inline(__always)
    func recordSpawn(slot: TaskSlot?, origin: StaticString, originLine: UInt) -> Int {
        let number = self.taskNumbers.value.add(1, ordering: .relaxed).newValue
        // The trace keeps the id's slot (for the task's name) until the events are discarded.
        let retainedSlot = slot.map { Unmanaged.passRetained($0) }
        let event = TaskSpawned(
            number: number,
            time: self.now,
            slot: retainedSlot,
            origin: origin,
            originLine: originLine
        )
        self.callingThreadBuffer().buffer._withUnsafeGuaranteedRef { $0.spawns.append(event) }
        return number
    }

    /// Records that task `number` started at `started` and had its data in at `dataIn` (ticks), on the
    /// calling worker (none for an `asynchronous` body, which Swift's threads run).
    @inline(__always)
    func recordStart(number: Int, started: UInt64, dataIn: UInt64, asynchronous: Bool) {
        let (buffer, worker) = self.callingThreadBuffer()
        let event = TaskStarted(number: number, started: started, dataIn: dataIn, worker: asynchronous ? nil : worker)
        buffer._withUnsafeGuaranteedRef { $0.starts.append(event) }
    }

    /// Records that task `number` ended (now) on `device`.
    @inline(__always)
    func recordEnd(number: Int, device: Device) {
        let event = TaskEnded(number: number, ended: self.now, device: device)
        self.callingThreadBuffer().buffer._withUnsafeGuaranteedRef { $0.ends.append(event) }
    }

    /// Records that multi-device task `number` ended (now) on each of its `devices`: one event each, the
    /// first device's first.
    func recordEnd(number: Int, devices: [Device]) {
        let ended = self.now
        self.callingThreadBuffer().buffer._withUnsafeGuaranteedRef { buffer in
            for device in devices { buffer.ends.append(TaskEnded(number: number, ended: ended, device: device)) }
        }
    }

    /// Records a copy of PArray data.
    func recordCopy(_ copy: TracedCopy) {
        self.callingThreadBuffer().buffer._withUnsafeGuaranteedRef { $0.copies.append(copy) }
    }

    /// Records that task `to` waited for task `from` (by their numbers).
    @inline(__always)
    func recordDependency(from: Int, to: Int) {
        let event = TracedDependency(from: from, to: to)
        self.callingThreadBuffer().buffer._withUnsafeGuaranteedRef { $0.dependencies.append(event) }
    }

    /// The calling thread's buffer, and the worker it is (`nil`: a thread outside the pool). Unretained:
    /// the recorder keeps every buffer until it is freed.
    @inline(__always)
    private func callingThreadBuffer() -> (buffer: Unmanaged<TraceBuffer>, worker: Int?) {
        if let state = WorkerThreadState.unretained {
            let found = state._withUnsafeGuaranteedRef { state -> (Unmanaged<TraceBuffer>, Int?)? in
                if let worker = state.worker {
                    let number = worker._withUnsafeGuaranteedRef { $0.number }
                    // (Always so: there is one pool per process.)
                    if number < self.workerBuffers.count { return (self.workerBuffers[number], number) }
                    return nil
                }
                // (The identity is compared first: a buffer of another recorder may be gone.)
                if state.traceBufferOwner == self.identity, let buffer = state.traceBuffer { return (buffer, nil) }
                return nil
            }
            if let found { return found }
        }
        return (self.registerBufferOfCallingThread(), nil)
    }

    /// The calling thread's buffer for this recorder's events, made on its first event, found again
    /// when it comes back from recording for another run (outside the pool, or a worker of another pool).
    @inline(never)
    private func registerBufferOfCallingThread() -> Unmanaged<TraceBuffer> {
        let state = WorkerThreadState.current
        // (A thread's state lives as long as the thread; another thread's state at the same address
        // later is another thread after this one's end, which may append to the same buffer.)
        let buffer = self.otherBuffers.withLock { buffers in
            if let known = buffers[ObjectIdentifier(state)] { return known }
            let made = TraceBuffer()
            buffers[ObjectIdentifier(state)] = made
            return made
        }
        state.traceBufferOwner = self.identity
        // Kept by `otherBuffers` as long as the recorder lives; the thread uses it only while its
        // owner (compared by identity, never through the buffer) is the recorder it records for.
        state.traceBuffer = Unmanaged.passUnretained(buffer)
        return Unmanaged.passUnretained(buffer)
    }

    // MARK: Reading, once the run has ended

    /// Every buffer (once the run has ended: every event is recorded by a task of the run, spawning,
    /// running, finishing it or moving its data, before the task counts as finished, and the run's
    /// end is ordered after every task's through the scheduler's atomics and locks).
    var buffers: [TraceBuffer] {
        self.workerBuffers.map { $0.takeUnretainedValue() } + self.otherBuffers.withLock { Array($0.values) }
    }

    /// Lets go of what was recorded (once written): the events' memory and the ids' slots they kept.
    func discardEvents() {
        for buffer in self.buffers {
            buffer.spawns.forEachEvent { $0.slot?.release() }
            buffer.removeAll()
        }
    }
}

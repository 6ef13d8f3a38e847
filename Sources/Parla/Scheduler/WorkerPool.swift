import DequeModule
import ParlaDevices
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The runtime's own worker threads (one per core), each with a queue; no Swift `Task` per Parla task.
///
/// A worker runs tasks from its own queue first (newest first, so a chain continues on the worker that
/// released it), then steals the oldest task of another worker. Tasks submitted from outside the pool
/// are dealt to the workers' queues in turn. Idle workers spin briefly, then park on a condition variable.
final class WorkerPool: @unchecked Sendable {
    // @unchecked Sendable: queues are Mutex-protected; the parking lot is a pthread mutex/condition
    // pair used only through its lock; `workers` is only assigned in `init`.

    /// The process's pool, started on first use.
    static let shared = WorkerPool(threads: WorkerPool.defaultThreadCount)

    /// `PARLA_WORKERS` when set, else one worker per online core (at least 2).
    static var defaultThreadCount: Int {
        if let text = getenv("PARLA_WORKERS"), let count = Int(String(cString: text)), count > 0 { return count }
        return Swift.max(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    final class Worker: @unchecked Sendable {
        // @unchecked Sendable: `queue` is a Mutex; the rest is immutable.
        let number: Int
        let queue = Mutex(Deque<TaskRecord>())
        /// The queue's length, readable without the lock (to skip empty queues cheaply).
        let queued = Atomic<Int>(0)
        /// The pool; pools are never freed (there is one per process), so the reference needs no
        /// counting.
        unowned(unsafe) let pool: WorkerPool
        init(number: Int, pool: WorkerPool) {
            self.number = number
            self.pool = pool
        }
    }

    @exclusivity(unchecked) private(set) var workers: [Worker] = []
    /// `workers` without reference counting (the array keeps them alive, and the pool lives forever):
    /// a thief looking at another worker's queue must not touch that worker's reference count.
    /// (Both arrays are assigned once in `init`, before any thread starts: no exclusivity checks.)
    @exclusivity(unchecked) private var workerReferences: [Unmanaged<Worker>] = []
    /// The worker the next task submitted from outside the pool goes to.
    private let nextWorker = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    /// Workers looking for a task (spinning) rather than running one or parked.
    private let searching = Atomic<Int>(0)
    private let parkingMutex: UnsafeMutablePointer<pthread_mutex_t>
    private let parkingCondition: UnsafeMutablePointer<pthread_cond_t>

    init(threads: Int) {
        self.parkingMutex = .allocate(capacity: 1)
        self.parkingCondition = .allocate(capacity: 1)
        pthread_mutex_init(self.parkingMutex, nil)
        pthread_cond_init(self.parkingCondition, nil)
        self.workers = (0..<threads).map { Worker(number: $0, pool: self) }
        self.workerReferences = self.workers.map { Unmanaged.passUnretained($0) }
        for worker in self.workers { self.startThread(for: worker) }
    }

    private func startThread(for worker: Worker) {
        let box = Unmanaged.passRetained(worker).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread,
            nil,
            { argument in
                let worker = Unmanaged<Worker>.fromOpaque(argument!).takeRetainedValue()
                // (Unretained: workers live as long as the process.)
                WorkerThreadState.current.worker = Unmanaged.passUnretained(worker)
                worker.pool.run(worker)
                return nil
            },
            box
        )
        parlaPrecondition(result == 0, "cannot start a Parla worker thread (pthread_create returned \(result))")
        pthread_detach(thread)
    }

    /// The pool worker on the calling thread, if any (the pool keeps it alive).
    @inline(__always)
    private var currentWorker: Unmanaged<Worker>? {
        // (Only this pool's workers are recorded: there is one pool per process.)
        WorkerThreadState.unretained?._withUnsafeGuaranteedRef { $0.worker }
    }

    /// Per-thread counters have one shard per worker and one for every other thread.
    var shardCount: Int { self.workers.count + 1 }

    /// The calling thread's shard: its worker number, or the last shard outside the pool. (There is one
    /// pool per process, so a worker's number is its shard.)
    @inline(__always)
    var currentShard: Int {
        self.currentWorker?._withUnsafeGuaranteedRef { $0.number } ?? self.workers.count
    }

    /// Queues a ready task: on the calling worker's own queue, else on the next worker's in turn.
    ///
    /// Waking a parked worker costs a system call, so it is done only when needed: not when a worker is
    /// searching for work (it will find the task; the last searcher to find something checks for
    /// more, see `run`), and not for a task a worker about to go back to its loop queues into its empty
    /// queue (it runs that one next, as in a chain).
    ///
    /// - Parameter submitterRunsItNext: the caller is a worker's completion of a task, after which the
    ///   worker goes back to its loop.
    func submit(_ record: TaskRecord, submitterRunsItNext: Bool = false) {
        // A worker keeps what it releases; other threads deal tasks to the workers in turn, so that
        // workers do not all contend for one shared queue.
        let own = self.currentWorker
        let worker =
            own ?? self.workerReferences[self.nextWorker.add(1, ordering: .relaxed).oldValue % self.workers.count]
        let queuedBefore = worker._withUnsafeGuaranteedRef { worker in
            worker.queue.withLock { $0.append(record) }
            // Sequentially consistent, as are the loads of `searching` and `sleepers` below and the
            // workers' updates of those and loads of `queued`: either this thread sees a searcher or
            // sleeper, or that worker sees this task.
            return worker.queued.add(1, ordering: .sequentiallyConsistent).oldValue
        }
        if submitterRunsItNext && own != nil && queuedBefore == 0 { return }
        if self.searching.load(ordering: .sequentiallyConsistent) > 0 { return }
        self.wakeOneSleeper()
    }

    /// Wakes one parked worker, if any.
    @inline(__always)
    private func wakeOneSleeper() {
        if self.sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(self.parkingMutex)
            pthread_cond_signal(self.parkingCondition)
            pthread_mutex_unlock(self.parkingMutex)
        }
    }

    /// Whether any worker's queue holds a task.
    private var anyTaskQueued: Bool {
        self.workerReferences.contains {
            $0._withUnsafeGuaranteedRef { $0.queued.load(ordering: .sequentiallyConsistent) > 0 }
        }
    }

    /// The next task for `worker`: its own newest, or another worker's oldest.
    @inline(__always)
    private func nextTask(for worker: Worker) -> TaskRecord? {
        if worker.queued.load(ordering: .sequentiallyConsistent) > 0,
            let record = worker.queue.withLock({ $0.popLast() })
        {
            worker.queued.subtract(1, ordering: .relaxed)
            return record
        }
        let count = self.workerReferences.count
        for offset in 1..<count {
            let stolen = self.workerReferences[(worker.number + offset) % count]._withUnsafeGuaranteedRef {
                victim -> TaskRecord? in
                guard victim.queued.load(ordering: .sequentiallyConsistent) > 0,
                    let record = victim.queue.withLock({ $0.popFirst() })
                else { return nil }
                victim.queued.subtract(1, ordering: .relaxed)
                return record
            }
            if let stolen { return stolen }
        }
        return nil
    }

    private func run(_ worker: Worker) {
        while true {
            if var record = self.nextTask(for: worker) {
                if record.withScope({ $0.execute(record) }) { self.recycle(&record) }
                continue
            }
            // Search: spin a little (a successor or a new spawn usually arrives within microseconds),
            // then yield the core between looks (the thread spawning the tasks may need it more than
            // this idle worker), then park. While a worker searches, submitters wake nobody.
            self.searching.add(1, ordering: .sequentiallyConsistent)
            var found: TaskRecord? = nil
            for attempt in 0..<2000 {
                if attempt >= 1990 { sched_yield() }
                if let record = self.nextTask(for: worker) {
                    found = record
                    break
                }
            }
            let stillSearching = self.searching.subtract(1, ordering: .sequentiallyConsistent).newValue
            if var found {
                // The last searcher stops: tasks submitted meanwhile woke nobody, so wake a worker for
                // them.
                if stillSearching == 0 && self.anyTaskQueued { self.wakeOneSleeper() }
                if found.withScope({ $0.execute(found) }) { self.recycle(&found) }
                continue
            }
            self.park(worker)
        }
    }

    /// Puts a record this worker has just finished, of an unnamed, synchronous `Void` task, back in the
    /// cache. In `.inferred` runs, everything that may still refer to a finished record (task handles,
    /// arrays' lists of recent accesses) remembers which use of the record it meant, so a record that
    /// finished successfully is reused whatever refers to it. `.explicit` runs keep predecessor and race
    /// candidate lists without that: there only a record nothing else refers to is reused.
    @inline(__always)
    private func recycle(_ record: inout TaskRecord) {
        guard record.isReusable else { return }
        let onlyStampedReferences = record.withScope { $0.dependencyMode == .inferred }
        guard
            onlyStampedReferences
                ? record.completedSuccessfully : (record.isCompleted && isKnownUniquelyReferenced(&record))
        else { return }
        TaskRecordCache.current.put(unsafeDowncast(record, to: TaskRecordCache.Record.self))
    }

    /// Sleeps until a task is submitted. A submitter that pushes and then sees no sleepers is covered
    /// by the re-check made after announcing the sleep.
    private func park(_ worker: Worker) {
        pthread_mutex_lock(self.parkingMutex)
        self.sleepers.add(1, ordering: .sequentiallyConsistent)
        if var record = self.nextTask(for: worker) {
            self.sleepers.subtract(1, ordering: .sequentiallyConsistent)
            pthread_mutex_unlock(self.parkingMutex)
            if record.withScope({ $0.execute(record) }) { self.recycle(&record) }
            return
        }
        pthread_cond_wait(self.parkingCondition, self.parkingMutex)
        self.sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(self.parkingMutex)
    }
}

extension Unmanaged where Instance == WorkerPool {
    /// The calling thread's shard (see `WorkerPool.currentShard`), without counting a reference to the
    /// pool, which every worker would contend for.
    @inline(__always)
    var currentShard: Int { self._withUnsafeGuaranteedRef { $0.currentShard } }
}

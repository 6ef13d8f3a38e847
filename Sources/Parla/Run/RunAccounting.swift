import Synchronization

/// Counts what a run still has to do, and signals when nothing in it can make progress.
///
/// `live` counts spawned tasks not finished; `active` counts what can still make progress: the run's
/// body, tasks that are ready or running, and bodies not suspended on a Parla barrier. Every transition
/// raises `active` for what becomes able to progress before lowering it for what stops, so `active`
/// reaches 0 only when nothing can progress: then either everything is done (`live == 0`) or the
/// waiting tasks can never run, which the run's stall detection reports instead of hanging.
final class RunAccounting: Sendable {
    /// The process's pool (for the calling thread's shard), not reference-counted: it is never freed,
    /// and every worker would contend for its count.
    private let pool: Unmanaged<WorkerPool>
    /// Spawned tasks not finished, counted per thread (shard) so that threads do not contend; only the
    /// sum means anything.
    private let live: [PaddedCounter]
    /// What can make progress; starts at 1, for the run's body.
    private let active = Atomic<Int>(1)
    private let bodyDone = Atomic<Bool>(false)
    private let quiescence = Mutex(Quiescence())

    private struct Quiescence: ~Copyable {
        var signaled = false
        var waiter: UnsafeContinuation<Void, Never>? = nil
    }

    init(pool: WorkerPool) {
        self.pool = Unmanaged.passUnretained(pool)
        self.live = (0..<pool.shardCount).map { _ in PaddedCounter() }
    }

    func taskSpawned() { self.live[self.pool.currentShard].value.add(1, ordering: .relaxed) }

    /// A task became ready (or, failing at spawn, will finish without running): it can progress.
    func taskBecameActive() { self.active.add(1, ordering: .sequentiallyConsistent) }

    /// A task finished; `successors` tasks it made ready (or awaiters it woke) take over its share of
    /// `active`.
    func taskFinished(handingOverTo successors: Int = 0) {
        self.live[self.pool.currentShard].value.subtract(1, ordering: .relaxed)
        let change = successors - 1
        if change != 0 && self.active.add(change, ordering: .sequentiallyConsistent).newValue == 0 {
            self.signalQuiescence()
        }
    }

    func awaiterSuspended() { self.lowerActive() }

    func awaiterResumed() { self.active.add(1, ordering: .sequentiallyConsistent) }

    func bodyFinished() {
        self.bodyDone.store(true, ordering: .sequentiallyConsistent)
        self.lowerActive()
    }

    /// Whether the run's body has returned.
    var isBodyDone: Bool { self.bodyDone.load(ordering: .sequentiallyConsistent) }

    /// Whether every spawned task has finished.
    var allTasksFinished: Bool {
        self.live.reduce(0) { $0 + $1.value.load(ordering: .sequentiallyConsistent) } == 0
    }

    /// Waits until nothing can make progress.
    func waitForQuiescence() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let already = self.quiescence.withLock { state -> Bool in
                if state.signaled {
                    state.signaled = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if already { continuation.resume() }
        }
    }

    private func lowerActive() {
        if self.active.subtract(1, ordering: .sequentiallyConsistent).newValue == 0 {
            self.signalQuiescence()
        }
    }

    private func signalQuiescence() {
        let waiter = self.quiescence.withLock { state -> UnsafeContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.signaled = true
            return nil
        }
        waiter?.resume()
    }
}

/// An atomic count in its own object, padded on both sides to a cache line of its own, so that counters
/// of different threads never share one, nor does the counter share one with its object's header (its
/// reference count) or a neighbouring object.
final class PaddedCounter: Sendable {
    private let leadingPadding: (Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0)
    let value = Atomic<Int>(0)
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) = (
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    )
}

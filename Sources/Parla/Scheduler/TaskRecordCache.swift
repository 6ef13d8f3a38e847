import ParlaDevices
import Synchronization

/// Finished records of unnamed, synchronous, `Void` tasks, kept for reuse so that spawning such a task
/// allocates nothing. Each thread keeps its own list (no locking); lists that grow long spill batches
/// into a shared stack, from which threads that spawn more than they run take batches back.
final class TaskRecordCache: @unchecked Sendable {
    // @unchecked Sendable: `records` is used only by the thread owning this cache (it lives in that
    // thread's `WorkerThreadState`; builds with internal checks verify it); the shared batches are behind a
    // Mutex.

    typealias Record = TypedTaskRecord<Void>

    /// Used only by the owning thread, hence no exclusivity checks.
    @exclusivity(unchecked) private var records: [Record] = []

    private static let batchSize = 128
    private static let sharedBatches = Mutex<[[Record]]>([])
    /// At most this many batches are kept in the shared stack; more are freed.
    private static let sharedLimit = 512

    /// The calling thread's cache (kept in its ``WorkerThreadState``, which frees it with the thread).
    @inline(__always)
    static var current: TaskRecordCache {
        if let cache = WorkerThreadState.unretained?._withUnsafeGuaranteedRef({ $0.recordCache }) { return cache }
        let cache = TaskRecordCache()
        WorkerThreadState.current.recordCache = cache
        return cache
    }

    /// The thread that owns the cache (the only one that may use `records`).
    private let owner = OwningThread()

    /// A finished record to reuse, or `nil` when none is cached.
    @inline(__always)
    func take() -> Record? {
        self.owner.check("task record cache")
        if let record = self.records.popLast() { return record }
        guard let batch = Self.sharedBatches.withLock({ $0.popLast() }) else { return nil }
        self.records = batch
        return self.records.popLast()
    }

    /// Keeps a finished record that nothing else references.
    @inline(__always)
    func put(_ record: Record) {
        self.owner.check("task record cache")
        record.checkLifecycle(becoming: .cached)
        // (Completion has dropped the body.)
        self.records.append(record)
        if self.records.count >= 2 * Self.batchSize {
            let batch = Array(self.records.suffix(Self.batchSize))
            self.records.removeLast(Self.batchSize)
            Self.sharedBatches.withLock { batches in
                if batches.count < Self.sharedLimit { batches.append(batch) }
            }
        }
    }
}

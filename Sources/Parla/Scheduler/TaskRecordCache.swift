import ParlaDevices
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Finished records of unnamed, synchronous, `Void` tasks, kept for reuse so that spawning such a task
/// allocates nothing. Each thread keeps its own list (no locking); lists that grow long spill batches
/// into a shared stack, from which threads that spawn more than they run take batches back.
final class TaskRecordCache: @unchecked Sendable {
    // @unchecked Sendable: `records` is used only by the thread owning this cache (it lives in that
    // thread's thread-local storage); the shared batches are behind a Mutex.

    typealias Record = TypedTaskRecord<Void>

    /// Used only by the owning thread, hence no exclusivity checks.
    @exclusivity(unchecked) private var records: [Record] = []

    private static let batchSize = 128
    private static let sharedBatches = Mutex<[[Record]]>([])
    /// At most this many batches are kept in the shared stack; more are freed.
    private static let sharedLimit = 512

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { pointer in
            // The thread is ending: its cache goes with it.
            if let pointer { Unmanaged<TaskRecordCache>.fromOpaque(pointer).release() }
        }
        parlaPrecondition(result == 0, "cannot create the thread-local key of the task record cache")
        return key
    }()

    /// The calling thread's cache.
    @inline(__always)
    static var current: TaskRecordCache {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<TaskRecordCache>.fromOpaque(pointer).takeUnretainedValue()
        }
        let cache = TaskRecordCache()
        pthread_setspecific(key, Unmanaged.passRetained(cache).toOpaque())
        return cache
    }

    /// A finished record to reuse, or `nil` when none is cached.
    @inline(__always)
    func take() -> Record? {
        if let record = self.records.popLast() { return record }
        guard let batch = Self.sharedBatches.withLock({ $0.popLast() }) else { return nil }
        self.records = batch
        return self.records.popLast()
    }

    /// Keeps a finished record that nothing else references.
    @inline(__always)
    func put(_ record: Record) {
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

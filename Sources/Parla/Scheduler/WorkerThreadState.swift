#if canImport(Glibc)
import Glibc
#endif

/// The scheduler's own state of the calling thread, behind one thread-local key: which of the pool's
/// workers the thread is (for its queue and its shard of per-thread counters), its cache of finished
/// task records, and, on a thread outside the pool, its buffer of trace events. (What task code asks, the device, task and run of the body running here,
/// is `ThreadContext`, in `ParlaDevices`.)
///
/// Ownership: made by, used by, and freed with its thread (the key's destructor releases it, and the
/// record cache with it); no other thread sees it, so its fields need no exclusivity checks. Kept in
/// this module so that the scheduler's hot paths read it in place (a stored property of another
/// module's class is read through a dynamic exclusivity check).
final class WorkerThreadState {
    /// The pool worker this thread is, unretained (the pool and its workers are never freed).
    @exclusivity(unchecked) var worker: Unmanaged<WorkerPool.Worker>? = nil
    /// The thread's cache of finished task records (see ``TaskRecordCache``).
    @exclusivity(unchecked) var recordCache: TaskRecordCache? = nil
    /// On a thread outside the pool: its buffer of trace events, unretained (its recorder keeps it),
    /// used only while `traceBufferOwner` is the identity of the recorder it records for (see
    /// `TraceRecorder.callingThreadBuffer()`).
    @exclusivity(unchecked) var traceBuffer: Unmanaged<TraceBuffer>? = nil
    /// The identity of the recorder `traceBuffer` belongs to (0: none).
    @exclusivity(unchecked) var traceBufferOwner: UInt64 = 0

    private init() {}

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { pointer in
            // The thread is ending: its state (and its record cache) goes with it.
            if let pointer { Unmanaged<WorkerThreadState>.fromOpaque(pointer).release() }
        }
        parlaPrecondition(result == 0, "cannot create the thread-local key of the scheduler's thread state")
        return key
    }()

    /// The calling thread's state, made on first use.
    static var current: WorkerThreadState {
        if let existing = unretained { return existing.takeUnretainedValue() }
        let state = WorkerThreadState()
        // Retained by the thread's slot until the thread ends (see `key`).
        pthread_setspecific(key, Unmanaged.passRetained(state).toOpaque())
        return state
    }

    /// The calling thread's state without a reference count (the thread's slot keeps it alive, and
    /// only this thread uses it), or `nil` when nothing has made one on this thread yet.
    @inline(__always)
    static var unretained: Unmanaged<WorkerThreadState>? {
        pthread_getspecific(key).map { Unmanaged<WorkerThreadState>.fromOpaque($0) }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// What Parla knows about the calling thread, behind one thread-local key: the device and task (and so
/// the run) of the synchronous task body running on it. (The scheduler's own per-thread state, which
/// worker a thread is and its cache of task records, is the runtime's business: see
/// `WorkerThreadState` in the `Parla` module.)
///
/// Thread-local rather than task-local: binding a task-local around every body on the runtime's
/// worker threads would cost more than the body of a small task. Asynchronous task bodies run on
/// Swift's shared threads, where a thread's context would leak from one body into another: theirs is
/// the task-local ``TaskContext``, and the lookups (`Device.current`, the running task, the current
/// run) look there first.
///
/// Ownership: a context is created by, used by, and freed with its thread (the key's destructor
/// releases it when the thread ends); no other thread ever sees it, so its stored properties need no
/// exclusivity checks, and the hot paths read them in place, without reference counting
/// (``unretained``). Builds with internal checks (debug) verify the rule where the runtime changes a
/// context: ``enterTaskBody(device:task:)`` and ``leaveTaskBody()``.
package final class ThreadContext {
    /// The device of the synchronous task body running on this thread (`nil`: none runs).
    @exclusivity(unchecked) package private(set) var device: Device? = nil
    /// The runtime's record of the task whose synchronous body runs on this thread, unretained; set by
    /// the runtime only while that body runs (which keeps the record alive).
    @exclusivity(unchecked) package private(set) var task: Unmanaged<AnyObject>? = nil
    /// The compute lane of that body on its GPU (0: the GPU's main compute stream; see
    /// `CUDAGPU+Lanes.swift`), and that GPU's backend (the lane is its own).
    @exclusivity(unchecked) package private(set) var lane = ComputeLaneTag.none

    /// The thread that made the context (the only one that may use it).
    private let owner = OwningThread()

    private init() {}

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { pointer in
            // The thread is ending: its context goes with it.
            if let pointer { Unmanaged<ThreadContext>.fromOpaque(pointer).release() }
        }
        parlaPrecondition(result == 0, "cannot create the thread-local key of Parla's thread context")
        return key
    }()

    /// The calling thread's context, made on first use.
    package static var current: ThreadContext {
        if let existing = unretained { return existing.takeUnretainedValue() }
        let context = ThreadContext()
        // Retained by the thread's slot until the thread ends (see `key`).
        pthread_setspecific(key, Unmanaged.passRetained(context).toOpaque())
        return context
    }

    /// The calling thread's context without a reference count (the hot paths' way: the thread's slot
    /// keeps it alive, and only this thread uses it), or `nil` when nothing has made one on this thread
    /// yet (then every field is at its default).
    @inline(__always)
    package static var unretained: Unmanaged<ThreadContext>? {
        pthread_getspecific(key).map { Unmanaged<ThreadContext>.fromOpaque($0) }
    }

    /// Records that the synchronous body of `task` (the runtime's record, unretained: the runtime keeps
    /// it alive until ``leaveTaskBody()``) runs on this thread, on `device` (its work on compute lane
    /// `lane` of that GPU).
    @inline(__always)
    package func enterTaskBody(device: Device, task: Unmanaged<AnyObject>, lane: ComputeLaneTag = .none) {
        self.owner.check("ThreadContext")
        self.device = device
        self.task = task
        self.lane = lane
    }

    /// Records that the task body entered last has returned.
    @inline(__always)
    package func leaveTaskBody() {
        self.owner.check("ThreadContext")
        self.device = nil
        self.task = nil
        self.lane = .none
    }
}

/// A task body's compute lane: its number on one GPU, and that GPU's backend (by identity).
package struct ComputeLaneTag: Sendable, Equatable {
    /// The lane's number (0: the GPU's compute stream).
    package var number: Int
    /// The backend whose lane it is.
    package var owner: ObjectIdentifier?

    package init(number: Int, owner: ObjectIdentifier?) {
        self.number = number
        self.owner = owner
    }

    /// No lane: the compute stream of whatever GPU.
    package static let none = ComputeLaneTag(number: 0, owner: nil)
}

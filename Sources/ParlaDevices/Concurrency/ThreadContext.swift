#if canImport(Glibc)
import Glibc
#endif

/// What Parla knows about the calling thread, behind one thread-local key: the device and task of the
/// synchronous task body running on it, the runtime's worker it is (if it is one), and the runtime's
/// per-thread cache of finished task records.
///
/// Thread-local rather than task-local: binding a task-local around every body on the runtime's
/// worker threads would cost more than the body of a small task. Asynchronous task bodies run on
/// Swift's shared threads, where a thread's context would leak from one body into another: theirs is
/// the task-local ``TaskContext``, and ``current`` looks there first.
///
/// Ownership: a context is created by, used by, and freed with its thread (the key's destructor
/// releases it when the thread ends); no other thread ever sees it, so its stored properties need no
/// exclusivity checks. Builds with internal checks (debug) verify that rule on every access.
package final class ThreadContext {
    /// The device of the synchronous task body running on this thread.
    @exclusivity(unchecked) private var storedDevice: Device? = nil
    /// The task whose synchronous body runs on this thread: its runtime record, unretained (the runtime
    /// keeps the record alive while the body runs, and clears this when the body returns).
    @exclusivity(unchecked) private var storedTask: Unmanaged<AnyObject>? = nil
    /// The runtime's worker this thread is, unretained (the pool and its workers are never freed).
    @exclusivity(unchecked) private var storedWorker: Unmanaged<AnyObject>? = nil
    /// The runtime's cache of finished task records for this thread (owned: freed with the thread).
    @exclusivity(unchecked) private var storedRecordCache: AnyObject? = nil

    #if PARLA_INTERNAL_CHECKS
    /// The thread that made the context (the only one that may use it).
    private let owner = pthread_self()
    #endif

    private init() {}

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { pointer in
            // The thread is ending: its context (and the record cache it owns) goes with it.
            if let pointer { Unmanaged<ThreadContext>.fromOpaque(pointer).release() }
        }
        parlaPrecondition(result == 0, "cannot create the thread-local key of Parla's thread context")
        return key
    }()

    /// The calling thread's context, made on first use.
    @inline(__always)
    package static var current: ThreadContext {
        if let existing { return existing }
        let context = ThreadContext()
        // Retained by the thread's slot until the thread ends (see `key`).
        pthread_setspecific(key, Unmanaged.passRetained(context).toOpaque())
        return context
    }

    /// The calling thread's context, or `nil` when nothing has made one on this thread yet (then every
    /// field is at its default).
    @inline(__always)
    package static var existing: ThreadContext? {
        guard let raw = pthread_getspecific(key) else { return nil }
        // The slot holds a reference until the thread ends, and only this thread reads it.
        return Unmanaged<ThreadContext>.fromOpaque(raw).takeUnretainedValue()
    }

    @inline(__always)
    private func checkOwner() {
        #if PARLA_INTERNAL_CHECKS
        parlaInvariant(
            pthread_equal(self.owner, pthread_self()) != 0,
            "a thread used another thread's ThreadContext (its fields are unchecked for exclusivity because only their thread uses them)"
        )
        #endif
    }

    /// The device of the synchronous task body running on this thread (`nil`: none runs).
    package var device: Device? {
        @inline(__always) get {
            self.checkOwner()
            return self.storedDevice
        }
        @inline(__always) set {
            self.checkOwner()
            self.storedDevice = newValue
        }
    }

    /// The runtime's record of the task whose synchronous body runs on this thread, unretained; set by
    /// the runtime only while that body runs (which keeps the record alive).
    package var task: Unmanaged<AnyObject>? {
        @inline(__always) get {
            self.checkOwner()
            return self.storedTask
        }
        @inline(__always) set {
            self.checkOwner()
            self.storedTask = newValue
        }
    }

    /// The runtime's worker this thread is, unretained (workers live as long as the process).
    package var worker: Unmanaged<AnyObject>? {
        @inline(__always) get {
            self.checkOwner()
            return self.storedWorker
        }
        @inline(__always) set {
            self.checkOwner()
            self.storedWorker = newValue
        }
    }

    /// The runtime's cache of finished task records for this thread; the context owns it.
    package var recordCache: AnyObject? {
        @inline(__always) get {
            self.checkOwner()
            return self.storedRecordCache
        }
        @inline(__always) set {
            self.checkOwner()
            self.storedRecordCache = newValue
        }
    }
}

import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A lock around a value, for state that many worker threads take at once (an array's coherence
/// state, say): a waiter spins briefly before it sleeps, and an unlock wakes a waiter without handing
/// the lock over to it.
///
/// `Synchronization.Mutex` on Linux hands a contended lock to the next waiter through the kernel's
/// priority-inheriting futex, one context switch per hand-over: with 32 workers taking one array's
/// lock for every task, tasks cost ten times what they cost with 4 (measured on a 32-core host). This
/// is glibc's adaptive mutex (`PTHREAD_MUTEX_ADAPTIVE_NP`), which spins, then sleeps on a plain futex.
package final class AdaptiveMutex<Value: ~Copyable>: @unchecked Sendable {
    // @unchecked Sendable: `value` is read and written only inside `withLock`, with the mutex held.

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    // `@exclusivity(unchecked)`: accessed only with the mutex held, by one thread at a time, and never
    // twice at once by it (`withLock` is not reentrant).
    @exclusivity(unchecked) private var value: Value

    #if PARLA_INTERNAL_CHECKS
    /// The thread holding the lock (0: none), tracked in builds with internal checks only.
    private let holder = Atomic<UInt>(0)
    #endif

    /// A lock around `value`.
    package init(_ value: consuming sending Value) {
        self.mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(self.mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(self.mutex)
        self.mutex.deallocate()
    }

    /// Runs `body` on the value with the lock held.
    @inline(__always)
    package func withLock<Result: ~Copyable, Failure: Error>(
        _ body: (inout sending Value) throws(Failure) -> sending Result
    ) throws(Failure) -> sending Result {
        #if PARLA_INTERNAL_CHECKS
        parlaInvariant(!self.isHeldByCurrentThread, "a thread took a lock it already holds (withLock is not reentrant)")
        #endif
        pthread_mutex_lock(self.mutex)
        #if PARLA_INTERNAL_CHECKS
        self.holder.store(UInt(pthread_self()), ordering: .relaxed)
        defer { self.holder.store(0, ordering: .relaxed) }
        #endif
        defer { pthread_mutex_unlock(self.mutex) }
        return try body(&self.value)
    }

    /// Whether the calling thread holds the lock: known in builds with internal checks (debug builds);
    /// always `false` in others.
    package var isHeldByCurrentThread: Bool {
        #if PARLA_INTERNAL_CHECKS
        return self.holder.load(ordering: .relaxed) == UInt(pthread_self())
        #else
        return false
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The thread that made an object whose state only that thread may use (fields unchecked for
/// exclusivity for that reason): recorded, and checked on use, in builds with internal checks (debug
/// builds); empty, and free, in others.
package struct OwningThread: Sendable {
    #if PARLA_INTERNAL_CHECKS
    /// The thread that made the object.
    @usableFromInline let thread = UInt(pthread_self())
    #endif

    /// The calling thread, as the owner.
    package init() {}

    /// Stops (in builds with internal checks) unless the calling thread is the owner; `what` names the
    /// object in the message. (Transparent, as `parlaPrecondition` is, so that it costs nothing in
    /// other modules' release builds either.)
    @_transparent
    package func check(_ what: @autoclosure () -> String) {
        #if PARLA_INTERNAL_CHECKS
        parlaInvariant(
            pthread_equal(pthread_t(self.thread), pthread_self()) != 0,
            "a thread used another thread's \(what()) (its fields are unchecked for exclusivity because only their thread uses them)"
        )
        #endif
    }
}

import ParlaDevices
import Synchronization

/// The life cycle of a record, which the ownership rules behind its `@exclusivity(unchecked)` fields
/// and its reuse rest on, checked in builds with internal checks (debug builds):
///
/// - `pending`: made or reset by `spawn` (which alone writes its fields until it publishes the record),
///   then waiting for its dependencies or queued;
/// - `running`: one worker placed it and runs it (it alone touches the fields until completion); a task
///   parked for resources goes back to `pending`;
/// - `completed`: finished, once (its successors and awaiters released);
/// - `cached`: kept for reuse by one thread's cache; only that thread takes it out and resets it, which
///   starts the next use (generation) as `pending`.
///
/// Running a record twice at once, completing it twice, caching an unfinished one or reusing one not
/// cached all break a rule the unchecked fields rely on, and stop the program here instead of
/// corrupting a task.
extension TaskRecord {
    enum Lifecycle: UInt8 {
        case pending, running, completed, cached

        /// The stages a record may come from to reach this one.
        var allowedPredecessors: [Lifecycle] {
            switch self {
            case .pending: [.running, .cached]
            case .running: [.pending]
            case .completed: [.pending, .running]
            case .cached: [.completed]
            }
        }
    }

    /// Moves the record to `next` in its life cycle, stopping when that breaks the rules above (in
    /// builds with internal checks; nothing in release builds).
    @inline(__always)
    func checkLifecycle(becoming next: Lifecycle) {
        #if PARLA_INTERNAL_CHECKS
        let previous = Lifecycle(rawValue: self.lifecycle.exchange(next.rawValue, ordering: .acquiringAndReleasing))!
        parlaInvariant(
            next.allowedPredecessors.contains(previous),
            "task record of \(self.name) went from \(previous) to \(next)"
        )
        #endif
    }
}

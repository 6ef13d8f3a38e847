/// A Swift task suspended until something happens (a task finishes, an id is spawned, a run finds
/// nothing able to progress), with the run whose accounting counts it as suspended.
struct Waiter {
    /// Resumes the suspended Swift task.
    let continuation: UnsafeContinuation<Void, Never>
    /// The run whose body or task is waiting (`nil`: code outside every run).
    let scope: RunScope?

    /// Wakes the waiter: its run counts it as able to progress again first.
    func wake() {
        self.scope?.accounting.awaiterResumed()
        self.continuation.resume()
    }

    /// Wakes the waiter whose share of its run's accounting the caller has already handed over (see
    /// `TaskRecord.complete`).
    func wakeAccounted() { self.continuation.resume() }
}

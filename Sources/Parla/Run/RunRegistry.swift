import ParlaDevices
import Synchronization

/// The registry of runs in progress, and which run the calling code belongs to. Runs are independent:
/// several may be in progress at once (from different threads or Swift tasks, or one started inside
/// another's body or tasks), each with its own devices, tasks and failures. Code inside a run (its
/// body, its tasks' bodies) belongs to that run; code elsewhere belongs to the run in progress when
/// there is exactly one.
extension RunScope {
    /// The run whose body or asynchronous task body is running in the calling Swift task (bound in its
    /// ``TaskContext``), whose accounting an `await` on a Parla barrier belongs to.
    static var awaiterScope: RunScope? {
        guard let run = TaskContext.current?.run else { return nil }
        // The runtime binds only runs there.
        return unsafeDowncast(run, to: RunScope.self)
    }

    /// The task whose asynchronous body is running in the calling Swift task.
    static var asyncCurrentTask: TaskRecord? {
        guard let task = TaskContext.current?.task else { return nil }
        // The runtime binds only task records there.
        return unsafeDowncast(task, to: TaskRecord.self)
    }

    /// The task whose body is running on the calling thread (or Swift task), if any.
    static var currentTask: TaskRecord? {
        if let task = asyncCurrentTask { return task }
        guard let task = ThreadContext.unretained?._withUnsafeGuaranteedRef({ $0.task }) else { return nil }
        // Set only while the record's body runs on this thread, which keeps the record alive; only
        // records are set there.
        return unsafeDowncast(task.takeUnretainedValue(), to: TaskRecord.self)
    }

    /// Every run in progress, in the order they started, and the ids awaited outside every run before
    /// they were spawned (when the last run ends, nobody can spawn them any more).
    private static let inProgress = Mutex<(runs: [RunScope], outsideWaits: [TaskSlot])>(([], []))

    /// The sole run in progress (its address), or 0 when none is, or 1 when several are: the lookup
    /// `spawn` makes costs one atomic load while one run is in progress.
    private static let soleRun = Atomic<UInt>(0)

    /// The run the caller belongs to: the one whose body or task is running, else the sole run in
    /// progress; `nil` outside runs (and outside the bodies of several runs in progress).
    static var current: RunScope? {
        let raw = soleRun.load(ordering: .acquiring)
        if raw > 1 {
            // The run is retained by `Parla.run` for as long as it is in progress.
            return Unmanaged<RunScope>.fromOpaque(UnsafeRawPointer(bitPattern: raw)!).takeUnretainedValue()
        }
        if raw == 0 { return nil }
        return RunScope.awaiterScope ?? RunScope.currentTask?.scope
    }

    /// The number of runs in progress.
    static var runsInProgress: Int { inProgress.withLock { $0.runs.count } }

    /// Records that `scope` has started.
    static func started(_ scope: RunScope) {
        inProgress.withLock { state in
            state.runs.append(scope)
            publishSoleRun(state.runs)
        }
        DeviceRegistry.runStarted(with: scope.registry)
    }

    /// Records that `scope` has ended; waits on ids that no run in progress can spawn any more fail.
    static func ended(_ scope: RunScope) {
        scope.releaseTaskState()
        DeviceRegistry.runEnded(with: scope.registry)
        let unspawnable = inProgress.withLock { state -> [TaskSlot] in
            state.runs.removeAll { $0 === scope }
            publishSoleRun(state.runs)
            guard state.runs.isEmpty else { return [] }
            defer { state.outsideWaits = [] }
            return state.outsideWaits
        }
        for slot in unspawnable { slot.wakeOutsideWaiters() }
    }

    private static func publishSoleRun(_ runs: [RunScope]) {
        let raw: UInt
        switch runs.count {
        case 0: raw = 0
        case 1: raw = UInt(bitPattern: Unmanaged.passUnretained(runs[0]).toOpaque())
        default: raw = 1
        }
        soleRun.store(raw, ordering: .releasing)
    }

    /// Runs `register` (which registers a wait outside every run for an id not spawned yet) unless no
    /// run is in progress; returns whether it ran. Registration and the end of the last run exclude
    /// each other, so a registered wait is failed when the last run ends without spawning the id.
    static func registerOutsideWait(on slot: TaskSlot, _ register: () -> Void) -> Bool {
        inProgress.withLock { state in
            guard !state.runs.isEmpty else { return false }
            register()
            state.outsideWaits.append(slot)
            return true
        }
    }
}

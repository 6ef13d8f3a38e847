import ParlaDevices
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The state of one `Parla.run`: its devices, its tasks' accounting, its first failure, and the
/// detection of tasks that can never run.
///
/// Accounting: `live` counts spawned tasks not finished; `active` counts what can still make progress:
/// the run's body, tasks that are ready or running, and bodies not suspended on a Parla barrier. Every
/// transition raises `active` for what becomes able to progress before lowering it for what stops, so
/// `active` reaches 0 only when nothing can progress: then either everything is done (`live == 0`) or
/// the waiting tasks can never run, which is reported instead of hanging.
final class RunScope: @unchecked Sendable {
    // @unchecked Sendable: counters are atomics; everything else mutable is behind a Mutex.

    let registry: DeviceRegistry
    let dependencyMode: DependencyMode
    /// Numbers runs in the order they start (arrays drop accesses of earlier, finished runs).
    let serial = RunScope.runCount.add(1, ordering: .relaxed).newValue
    private static let runCount = Atomic<Int>(0)
    /// The process's pool (it is never freed), not reference-counted on the hot path.
    let pool: WorkerPool
    /// The devices tasks may use: the GPUs in order, then the CPU.
    let devices: [Device]
    /// Per device (GPUs by index, the CPU last): whether work on it completes asynchronously (CUDA).
    private let completesAsynchronously: [Bool]
    private let capacities: [Int?]

    /// Spawned tasks not finished, counted per thread (shard) so that threads do not contend; only the
    /// sum means anything.
    private let live: [PaddedCounter]
    private let active = Atomic<Int>(1)  // the body
    private let firstFailure = Mutex<(any Error)?>(nil)
    private let abort = Mutex<ParlaError?>(nil)
    private let quiescence = Mutex(Quiescence())
    private let spaces = Mutex<[ObjectIdentifier: TaskSpace]>([:])
    private let usage: Mutex<[DeviceUsage]>
    private let parked = Mutex<[TaskRecord]>([])
    /// Tasks running per device, counted per thread (shard): `running[shard][device]`.
    private let running: [[PaddedCounter]]
    /// Per device (by position): the arrays that allocated copies there for this run (see
    /// `makeRoom(on:for:)`).
    let residentArrays: Mutex<[[ObjectIdentifier: WeakResidentArray]]>

    /// An atomic count in its own object, padded to a cache line of its own so that counters of
    /// different threads never share one.
    final class PaddedCounter: Sendable {
        let value = Atomic<Int>(0)
        private let padding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) = (
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        )
    }

    private struct Quiescence: ~Copyable {
        var signaled = false
        var waiter: UnsafeContinuation<Void, Never>? = nil
    }

    struct DeviceUsage {
        var vcus = 0.0
        var memory = 0
    }

    init(registry: DeviceRegistry, dependencyMode: DependencyMode, pool: WorkerPool) {
        self.registry = registry
        self.dependencyMode = dependencyMode
        self.pool = pool
        self.devices = registry.devices
        let backends = registry.devices.map { try? registry.backend(for: $0) }
        self.completesAsynchronously = backends.map { $0.map { !$0.isHostAddressable } ?? false }
        self.capacities = backends.map { $0?.memoryCapacity }
        self.usage = Mutex(Array(repeating: DeviceUsage(), count: registry.devices.count))
        self.residentArrays = Mutex(Array(repeating: [:], count: registry.devices.count))
        let shards = pool.shardCount
        self.live = (0..<shards).map { _ in PaddedCounter() }
        self.running = (0..<shards).map { _ in (0..<registry.devices.count).map { _ in PaddedCounter() } }
    }

    /// The slot of `device` in the per-device arrays (GPUs by index, the CPU last).
    @inline(__always)
    func position(of device: Device) -> Int {
        device.kind == .cpu ? self.devices.count - 1 : device.index
    }

    /// Whether the run has `device`.
    func has(_ device: Device) -> Bool {
        device.kind == .cpu || device.index < self.devices.count - 1
    }

    // MARK: The current run

    /// The run whose accounting an `await` on a Parla barrier belongs to (bound in the run's body and in
    /// asynchronous task bodies).
    @TaskLocal static var awaiterScope: RunScope? = nil

    /// The task whose asynchronous body is running (set by the runtime).
    @TaskLocal static var asyncCurrentTask: TaskRecord? = nil

    /// The thread-local slot of the task whose synchronous body runs on a thread (shared with
    /// `ParlaDevices`, which records the body's device failures there).
    private static let currentTaskKey: pthread_key_t = RunningTask.threadKey

    /// The task whose body is running on the calling thread (or Swift task), if any.
    static var currentTask: TaskRecord? {
        if let task = asyncCurrentTask { return task }
        guard let raw = pthread_getspecific(currentTaskKey) else { return nil }
        // Set only while the record's body runs on this thread, which keeps the record alive.
        return Unmanaged<TaskRecord>.fromOpaque(raw).takeUnretainedValue()
    }

    /// The error an aborted run gives its waiters.
    static func abortError(of scope: RunScope?) -> ParlaError? {
        scope?.abort.withLock { $0 }
    }

    // MARK: Accounting

    func taskSpawned() { self.live[self.pool.currentShard].value.add(1, ordering: .relaxed) }

    func taskBecameReady(_ record: TaskRecord) {
        self.active.add(1, ordering: .sequentiallyConsistent)
        self.pool.submit(record)
    }

    /// A task that finishes without running (it failed at spawn) counts as active until it finishes.
    func taskBecameReadyWithoutRunning() {
        self.active.add(1, ordering: .sequentiallyConsistent)
    }

    /// A task finished; `successors` tasks it made ready (or awaiters it woke) take over its share of
    /// `active`.
    func taskFinished(handingOverTo successors: Int = 0) {
        self.live[self.pool.currentShard].value.subtract(1, ordering: .relaxed)
        let change = successors - 1
        if change != 0 && self.active.add(change, ordering: .sequentiallyConsistent).newValue == 0 {
            self.signalQuiescence()
        }
    }

    func awaiterSuspended() { self.lowerActive() }

    func awaiterResumed() { self.active.add(1, ordering: .sequentiallyConsistent) }

    private let bodyDone = Atomic<Bool>(false)

    /// Bytes moved for PArrays by this run, per link.
    let movement = AdaptiveMutex<[DataMovementLog.Link: Int]>([:])

    func bodyFinished() {
        self.bodyDone.store(true, ordering: .sequentiallyConsistent)
        self.lowerActive()
    }

    /// Watches the run until its body has returned and every task has finished, failing the tasks (and
    /// waking the awaiters, the body's included) that wait for something that can never happen.
    func monitor() async {
        while true {
            await self.waitForQuiescence()
            if self.bodyDone.load(ordering: .sequentiallyConsistent) && self.allTasksFinished { return }
            self.abortStuckTasks()
        }
    }

    private func lowerActive() {
        if self.active.subtract(1, ordering: .sequentiallyConsistent).newValue == 0 {
            self.signalQuiescence()
        }
    }

    private func signalQuiescence() {
        let waiter = self.quiescence.withLock { state -> UnsafeContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.signaled = true
            return nil
        }
        waiter?.resume()
    }

    /// Waits until nothing can make progress.
    func waitForQuiescence() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let already = self.quiescence.withLock { state -> Bool in
                if state.signaled {
                    state.signaled = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if already { continuation.resume() }
        }
    }

    /// Whether every spawned task has finished.
    var allTasksFinished: Bool {
        self.live.reduce(0) { $0 + $1.value.load(ordering: .sequentiallyConsistent) } == 0
    }

    func recordFailure(_ error: any Error) {
        self.firstFailure.withLock { if $0 == nil { $0 = error } }
    }

    /// The first failure of a task (or the report of tasks that could never run).
    var failure: (any Error)? { self.firstFailure.withLock { $0 } }

    /// Lets go of what the run kept for its tasks (its task spaces, its arrays' residency), once it has
    /// ended: finished task records kept for reuse still refer to their last run, and must not keep a
    /// million ids alive with it.
    func releaseTaskState() {
        let spaces = self.spaces.withLock { spaces in
            defer { spaces = [:] }
            return Array(spaces.values)
        }
        for space in spaces { space.compact() }
        self.residentArrays.withLock { residents in
            for slot in residents.indices { residents[slot] = [:] }
        }
    }

    /// Remembers a task space used by this run, for the report of tasks that can never run.
    func noteSpace(_ space: TaskSpace) {
        let key = ObjectIdentifier(space)
        self.spaces.withLock { if $0[key] == nil { $0[key] = space } }
    }

    // MARK: Placement and resources

    /// Chooses the device for `record` and reserves its resources; `nil` parks it until resources free up.
    func place(_ record: TaskRecord) -> Device? {
        let constrained = record.vcus > 0 || record.memory > 0
        switch record.placement {
        case .one(let device) where !constrained:
            return device
        case .one(let device):
            return self.reserve(record, among: [device])
        case .any where !constrained:
            return self.leastLoaded(self.devices)
        case .any:
            return self.reserve(record, among: self.devices)
        case .several(let candidates) where !constrained:
            return self.leastLoaded(candidates)
        case .several(let candidates):
            return self.reserve(record, among: candidates)
        }
    }

    private func leastLoaded(_ candidates: [Device]) -> Device {
        var best = candidates[0]
        var bestLoad = Int.max
        for device in candidates {
            let slot = self.position(of: device)
            let load = self.running.reduce(0) { $0 + $1[slot].value.load(ordering: .relaxed) }
            if load < bestLoad {
                best = device
                bestLoad = load
            }
        }
        return best
    }

    private func reserve(_ record: TaskRecord, among candidates: [Device]) -> Device? {
        let chosen = self.usage.withLock { usage -> Device? in
            var best: Device? = nil
            var bestLoad = Double.infinity
            for device in candidates {
                let slot = self.position(of: device)
                let vcusFit = usage[slot].vcus + record.vcus <= 1 + 1e-9
                let memoryFit = self.capacities[slot].map { usage[slot].memory + record.memory <= $0 } ?? true
                if vcusFit && memoryFit && usage[slot].vcus < bestLoad {
                    best = device
                    bestLoad = usage[slot].vcus
                }
            }
            if let best {
                let slot = self.position(of: best)
                usage[slot].vcus += record.vcus
                usage[slot].memory += record.memory
            } else {
                self.parked.withLock { $0.append(record) }
            }
            return best
        }
        return chosen
    }

    /// Gives back what `record` reserved and retries parked tasks.
    private func releaseResources(of record: TaskRecord) {
        guard record.vcus > 0 || record.memory > 0 else { return }
        let slot = self.position(of: record.device)
        let retry = self.usage.withLock { usage -> [TaskRecord] in
            usage[slot].vcus -= record.vcus
            usage[slot].memory -= record.memory
            return self.parked.withLock { parked in
                let all = parked
                parked = []
                return all
            }
        }
        for parked in retry { self.pool.submit(parked) }
    }

    /// Why `record` can never be placed, checked at spawn, or `nil` when it can be.
    func unplaceableReason(vcus: Double, memory: Int, candidates: [Device]) -> String? {
        if vcus > 1 + 1e-9 { return "it asks for \(vcus) compute units and a device has 1" }
        let fits = candidates.contains { device in
            self.capacities[self.position(of: device)].map { memory <= $0 } ?? true
        }
        if !fits {
            return
                "it asks for \(memory) bytes and no device it may run on (\(candidates.map(\.description).joined(separator: ", "))) has that much memory"
        }
        return nil
    }

    // MARK: Execution

    /// Runs `record` on the calling worker thread (or, for an asynchronous body, starts its Swift task).
    /// Returns whether the task finished in this call (not parked for resources, not asynchronous).
    @discardableResult
    func execute(_ record: TaskRecord) -> Bool {
        if record.hasFailedDependency.load(ordering: .acquiring),
            let failure = record.state.withLock({ $0.dependencyFailure })
        {
            record.complete(failure: failure, onWorkerLoop: true)
            return true
        }
        guard let device = self.place(record) else { return false }
        record.device = device
        if record.memory > 0 { self.makeRoomForReservation(of: record, on: device) }
        let slot = self.position(of: device)
        self.running[self.pool.currentShard][slot].value.add(1, ordering: .relaxed)
        // `.explicit` mode: conflicting accesses must be ordered by dependencies, one way or the other
        // (a task may depend on one spawned after it).
        for (other, conflict) in record.raceCandidates where !record.hasAncestor(other) && !other.hasAncestor(record) {
            self.finish(
                record,
                slot: slot,
                failure: ParlaError.race(first: other.name, second: record.name, access: conflict)
            )
            return true
        }
        if !record.accesses.isEmpty {
            // Set before any array's lock is taken: a prefetch that plans after this sees it, and one
            // that planned before has registered its move, which this task's own move waits for.
            record.hasStarted.store(true, ordering: .releasing)
            // By position, and reads of arrays valid here decided without copying the entry (a copy
            // retains the array: a reference count the workers running its tasks contend for).
            for index in record.accesses.indices {
                // (Trivial fields read in place: the entry is not copied.)
                let validity = record.accesses[index].wholeValidity
                if record.accesses[index].mode == .input
                    && validity._withUnsafeGuaranteedRef({ $0.isValid(on: device) })
                {
                    continue
                }
                let entry = record.accesses[index]
                do {
                    try self.prepare(entry, of: record, on: device)
                } catch {
                    let failure = ParlaError.deviceFailed(
                        task: record.name,
                        device: device,
                        operation:
                            "moving \(entry.access.label) region \(entry.access.region) to \(device) (\(entry.mode))",
                        error: error
                    )
                    self.finish(record, slot: slot, failure: failure)
                    return true
                }
            }
        }
        if record.isAsync {
            Task {
                var failure: (any Error)? = nil
                do {
                    try await DeviceRegistry.$taskCurrent.withValue(self.registry) {
                        try await RunScope.$awaiterScope.withValue(self) {
                            try await Device.$_asyncTaskDevice.withValue(device) {
                                try await RunScope.$asyncCurrentTask.withValue(record) {
                                    try await RunningTask.$asynchronousSink.withValue(record) {
                                        try await record.runAsynchronousBody()
                                    }
                                }
                            }
                        }
                    }
                    try self.waitForDeviceWork(of: record, on: slot)
                } catch {
                    failure = error
                }
                self.finish(record, slot: slot, failure: record.deviceFailureOfBody() ?? failure)
            }
            return false
        }
        var failure: (any Error)? = nil
        _WorkerThreadDevice.set(device)
        // The body may check its data accesses against the current task.
        pthread_setspecific(Self.currentTaskKey, Unmanaged.passUnretained(record).toOpaque())
        do {
            try record.runSynchronousBody()
            try self.waitForDeviceWork(of: record, on: slot)
        } catch {
            failure = error
        }
        pthread_setspecific(Self.currentTaskKey, nil)
        _WorkerThreadDevice.set(nil)
        if record.hasDeviceFailure.load(ordering: .relaxed) { failure = record.deviceFailureOfBody() }
        self.finish(record, slot: slot, failure: failure)
        return true
    }

    /// Moves one declared access of `record` to `device`; when the device is out of memory, the copies
    /// other arrays left there give way, and the move is tried once more.
    private func prepare(_ entry: DeclaredAccess, of record: TaskRecord, on device: Device) throws(DeviceError) {
        func move() throws(DeviceError) {
            try entry.access.prepare(
                on: device,
                mode: entry.mode,
                run: self,
                writer: entry.mode.writes ? record : nil,
                isObsolete: nil
            )
        }
        do {
            try move()
        } catch {
            guard case .outOfMemory(let full, _, _) = error,
                self.makeRoom(on: full, for: record)
            else { throw error }
            try move()
        }
    }

    /// On a CUDA GPU, a task is finished when the kernels it queued are.
    @inline(__always)
    private func waitForDeviceWork(of record: TaskRecord, on slot: Int) throws(ParlaError) {
        guard self.completesAsynchronously[slot] else { return }
        let device = self.devices[slot]
        do {
            try self.registry.backend(for: device).completionOfQueuedWork().wait()
        } catch {
            throw .deviceFailed(
                task: record.name,
                device: device,
                operation: "waiting for the work the task queued on \(device)",
                error: error
            )
        }
    }

    private func finish(_ record: TaskRecord, slot: Int, failure: (any Error)?) {
        self.running[self.pool.currentShard][slot].value.subtract(1, ordering: .relaxed)
        for index in record.accesses.indices where record.accesses[index].mode.writes {
            record.accesses[index].access.endWrite(by: record, failed: failure != nil)
        }
        self.releaseResources(of: record)
        // (On a worker, `execute` returns to the worker's loop right after; elsewhere this is ignored.)
        record.complete(failure: failure, onWorkerLoop: true)
    }

    // MARK: Tasks that can never run

    /// Fails every task that waits for something that can never happen, reporting the ids never
    /// spawned and any dependency cycle, so that the run ends instead of hanging.
    func abortStuckTasks() {
        var missing: [String] = []
        var stuck: [TaskRecord] = []
        var waitersToWake: [(UnsafeContinuation<Void, Never>, RunScope?)] = []
        let spaces = self.spaces.withLock { Array($0.values) }.sorted { $0.name < $1.name }
        for space in spaces {
            for slot in space.unfinishedSlots {
                slot.state.withLock { state in
                    if let record = state.record {
                        if !record.isCompleted { stuck.append(record) }
                    } else if !state.dependents.isEmpty || !state.spawnWaiters.isEmpty {
                        missing.append(slot.name)
                        stuck.append(contentsOf: state.dependents)
                        waitersToWake.append(contentsOf: zip(state.spawnWaiters, state.waiterScopes))
                        state.dependents = []
                        state.spawnWaiters = []
                        state.waiterScopes = []
                    }
                }
            }
        }
        // A task whose asynchronous body is suspended on another task's completion cannot finish
        // before it: an edge from the awaited task to the awaiting one, beside the successor edges.
        var awaitedBy: [ObjectIdentifier: [TaskRecord]] = [:]
        for record in stuck {
            if let awaited = record.state.withLock({ $0.awaiting }) {
                awaitedBy[ObjectIdentifier(awaited), default: []].append(record)
            }
        }
        let cycle = Self.findCycle(among: stuck, awaitedBy: awaitedBy)
        var seen = Set<ObjectIdentifier>()
        let waiting = stuck.filter { seen.insert(ObjectIdentifier($0)).inserted }
        let error = ParlaError.unsatisfiableDependencies(
            missing: missing,
            cycle: cycle.map(\.name),
            waiting: waiting.map(\.name)
        )
        self.abort.withLock { if $0 == nil { $0 = error } }
        self.recordFailure(error)
        // Tasks still waiting for dependencies never run: first make sure no release can schedule them
        // (failing one releases the others), then fail them. Tasks that started (asynchronous bodies
        // suspended on an await) are not failed here: their awaits throw, and their bodies finish.
        var started: [TaskRecord] = []
        var notStarted: [TaskRecord] = []
        for record in waiting {
            if record.remaining.load(ordering: .sequentiallyConsistent) > 0 {
                notStarted.append(record)
            } else {
                started.append(record)
            }
        }
        for record in notStarted {
            record.remaining.store(TaskRecord.neverReady, ordering: .sequentiallyConsistent)
        }
        for record in notStarted where !record.isCompleted {
            self.active.add(1, ordering: .sequentiallyConsistent)
            record.complete(failure: error)
        }
        for record in started {
            let (waiters, scopes) = record.state.withLock { state in
                defer {
                    state.waiters = []
                    state.waiterScopes = []
                }
                return (state.waiters, state.waiterScopes)
            }
            waitersToWake.append(contentsOf: zip(waiters, scopes))
        }
        for (waiter, scope) in waitersToWake {
            scope?.awaiterResumed()
            waiter.resume()
        }
    }

    /// A cycle of unfinished tasks following successor edges and await edges (`awaitedBy`: the tasks
    /// suspended on each task's completion), if there is one, in the order its tasks must finish.
    private static func findCycle(
        among records: [TaskRecord],
        awaitedBy: [ObjectIdentifier: [TaskRecord]]
    ) -> [TaskRecord] {
        var color: [ObjectIdentifier: Int] = [:]  // 1: on the path, 2: done
        var path: [TaskRecord] = []
        func visit(_ record: TaskRecord) -> [TaskRecord]? {
            let key = ObjectIdentifier(record)
            if color[key] == 2 { return nil }
            if color[key] == 1 {
                let start = path.firstIndex { $0 === record }!
                return Array(path[start...])
            }
            color[key] = 1
            path.append(record)
            let successors = record.state.withLock { state -> [TaskRecord] in
                if state.completed { return [] }
                return (state.firstSuccessor.map { [$0] } ?? []) + state.moreSuccessors
            }
            for successor in successors + (awaitedBy[key] ?? []) {
                if let cycle = visit(successor) { return cycle }
            }
            path.removeLast()
            color[key] = 2
            return nil
        }
        for record in records {
            if let cycle = visit(record) { return cycle }
        }
        return []
    }
}

/// How tasks are ordered besides their explicit dependencies.
///
/// Parla (Python) equivalent: none; Parla only has explicit dependencies (``explicit``).
public enum DependencyMode: Hashable, Sendable {
    /// A task also depends on every earlier task whose data accesses conflict with its own.
    case inferred
    /// Only explicit dependencies order tasks; conflicting accesses they leave unordered are reported.
    case explicit
}

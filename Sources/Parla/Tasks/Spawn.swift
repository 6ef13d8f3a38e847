import ParlaDevices

/// Spawns a task with a synchronous body; it runs on a worker thread once its dependencies have
/// finished, on a device its placement allows.
///
/// Parla (Python) equivalent: `@spawn(taskid, dependencies, placement=..., memory=..., vcus=...)`.
///
/// - Parameters:
///   - id: the task's id (`T[1]`); spawning one id twice fails the second task.
///   - dependencies: tasks that must finish first: ids, sets, spaces, task handles, also ones spawned
///     later.
///   - placement: a device, an architecture, or an array of them meaning any one; default any device.
///   - input: `PArray`s (or regions) the task reads; valid on its device when it starts.
///   - output: regions it overwrites entirely without reading (nothing is copied in).
///   - inOut: regions it reads and writes.
///   - memory: bytes the task needs on its device, reserved while it runs.
///   - vcus: the fraction of a device it occupies; tasks whose `vcus` add up to at most 1 share one.
///   - file: where `spawn` is called (filled in), to name an unnamed task in messages.
///   - line: the line of that call (filled in).
///   - body: the work; its result is the task's ``ParlaTask/value``.
/// - Precondition: called inside `Parla.run`.
@discardableResult
public func spawn<R: Sendable>(
    _ id: TaskID? = nil,
    dependencies: [any TaskDependency] = [],
    placement: any Placement = AnyDevice(),
    input: [any PArrayAccess] = [],
    output: [any PArrayAccess] = [],
    inOut: [any PArrayAccess] = [],
    memory: Int? = nil,
    vcus: Double? = nil,
    file: StaticString = #fileID,
    line: UInt = #line,
    _ body: @escaping @Sendable () throws -> R
) -> ParlaTask<R> {
    _spawn(
        id,
        dependencies,
        placement,
        (input, output, inOut),
        memory,
        vcus,
        file,
        line,
        synchronous: body,
        asynchronous: nil
    )
}

/// Spawns a task with an asynchronous body: its `await`s (on other tasks, barriers, anything) suspend
/// it without holding a worker thread.
///
/// Parla (Python) equivalent: `@spawn(...)` on an `async def`.
///
/// - Precondition: called inside `Parla.run`.
@discardableResult
public func spawn<R: Sendable>(
    _ id: TaskID? = nil,
    dependencies: [any TaskDependency] = [],
    placement: any Placement = AnyDevice(),
    input: [any PArrayAccess] = [],
    output: [any PArrayAccess] = [],
    inOut: [any PArrayAccess] = [],
    memory: Int? = nil,
    vcus: Double? = nil,
    file: StaticString = #fileID,
    line: UInt = #line,
    _ body: @escaping @Sendable () async throws -> R
) -> ParlaTask<R> {
    _spawn(
        id,
        dependencies,
        placement,
        (input, output, inOut),
        memory,
        vcus,
        file,
        line,
        synchronous: nil,
        asynchronous: body
    )
}

// swift-format-ignore: FunctionParameterCount
@inline(__always)
private func _spawn<R: Sendable>(
    _ id: TaskID?,
    _ dependencies: [any TaskDependency],
    _ placement: any Placement,
    _ accesses: (input: [any PArrayAccess], output: [any PArrayAccess], inOut: [any PArrayAccess]),
    _ memory: Int?,
    _ vcus: Double?,
    _ file: StaticString,
    _ line: UInt,
    synchronous: (@Sendable () throws -> R)?,
    asynchronous: (@Sendable () async throws -> R)?
) -> ParlaTask<R> {
    guard let scope = RunScope.current else {
        let several = RunScope.runsInProgress > 1
        parlaPreconditionFailure(
            "spawn\(id.map { "(\($0))" } ?? "") at \(file):\(line) is outside Parla.run; tasks exist only inside a run"
                + (several
                    ? " (several runs are in progress: spawn from the body or the tasks of the one it belongs to)" : "")
        )
    }
    parlaPrecondition(
        (vcus ?? 0) >= 0,
        "vcus cannot be negative (\(vcus ?? 0)) for task \(id?.name ?? "spawned at \(file):\(line)")"
    )
    parlaPrecondition(
        (memory ?? 0) >= 0,
        "memory cannot be negative (\(memory ?? 0)) for task \(id?.name ?? "spawned at \(file):\(line)")"
    )

    // Resolve the placement; a device the run does not have fails the task.
    var placementError: ParlaError? = nil
    let spec: PlacementSpec
    if let device = placement._singleDevice {
        spec = .one(device)
    } else if placement._isAnyDevice {
        spec = .any
    } else {
        var candidates: [Device] = []
        placement._appendDevices(to: &candidates, gpuCount: scope.devices.count - 1)
        spec = candidates.count == 1 ? .one(candidates[0]) : .several(candidates)
        if candidates.isEmpty {
            placementError = .unsatisfiableResources(
                task: id?.name ?? "(unnamed task spawned at \(file):\(line))",
                detail:
                    "its placement allows no device of this run (devices: \(scope.devices.map(\.description).joined(separator: ", ")))"
            )
        }
    }
    let record: TypedTaskRecord<R>
    var generation: UInt32 = 0
    let hasAccesses = !accesses.input.isEmpty || !accesses.output.isEmpty || !accesses.inOut.isEmpty
    if R.self == Void.self, id == nil, vcus == nil, memory == nil, let synchronous,
        let cached = TaskRecordCache.current.take()
    {
        // The fast path allocates nothing: a finished record of the same shape is reused.
        generation = cached.reset(scope: scope, placement: spec, origin: file, originLine: line)
        record = unsafeDowncast(cached, to: TypedTaskRecord<R>.self)
        record.reuse(body: synchronous)
    } else {
        record = TypedTaskRecord<R>(
            slot: id?.slot,
            scope: scope,
            placement: spec,
            vcus: vcus ?? 0,
            memory: memory ?? 0,
            synchronous: synchronous,
            asynchronous: asynchronous,
            origin: file,
            originLine: line
        )
    }
    scope.taskSpawned()
    switch spec {
    case .one(let device) where !scope.has(device):
        placementError = .noSuchDevice(task: record.name, device: device, available: scope.devices)
    case .several(let devices):
        if let missing = devices.first(where: { !scope.has($0) }) {
            placementError = .noSuchDevice(task: record.name, device: missing, available: scope.devices)
        }
    default:
        break
    }
    if placementError == nil && (record.vcus > 0 || record.memory > 0) {
        let candidates: [Device]
        switch spec {
        case .any: candidates = scope.devices
        case .one(let device): candidates = [device]
        case .several(let devices): candidates = devices
        }
        if let reason = scope.unplaceableReason(vcus: record.vcus, memory: record.memory, candidates: candidates) {
            placementError = .unsatisfiableResources(task: record.name, detail: reason)
        }
    }

    // Claim the id; a second spawn of one id fails.
    if let slot = id?.slot {
        if let space = slot.space { scope.noteSpace(space) }
        let claimed = slot.state.withLock {
            state -> (Bool, [TaskRecord], [UnsafeContinuation<Void, Never>], [RunScope?]) in
            if state.record != nil || state.finished != nil { return (false, [], [], []) }
            state.record = record
            let taken = (true, state.dependents, state.spawnWaiters, state.waiterScopes)
            state.dependents = []
            state.spawnWaiters = []
            state.waiterScopes = []
            return taken
        }
        guard claimed.0 else {
            record.remaining.store(TaskRecord.neverReady, ordering: .relaxed)
            scope.taskBecameReadyWithoutRunning()
            record.complete(failure: ParlaError.duplicateTaskID(slot.name))
            return ParlaTask(record: record)
        }
        // Tasks spawned earlier that depend on this id now wait for this task.
        for dependent in claimed.1 {
            if scope.dependencyMode == .explicit { dependent.notePredecessor(record, generation: nil) }
            if !record.addSuccessor(dependent) { dependent.releaseOne() }
        }
        for (waiter, waiterScope) in zip(claimed.2, claimed.3) {
            waiterScope?.awaiterResumed()
            waiter.resume()
        }
    }
    if let placementError {
        record.remaining.store(TaskRecord.neverReady, ordering: .relaxed)
        scope.taskBecameReadyWithoutRunning()
        record.complete(failure: placementError)
        return ParlaTask(record: record)
    }

    // Register the dependencies. With data accesses, remember which are still pending, for prefetching.
    var pending = Set<ObjectIdentifier>()
    var waitsForUnspawned = false
    for dependency in dependencies {
        dependency._forEachDependency { target in
            switch target.kind {
            case .record(let predecessor, let predecessorGeneration):
                if scope.dependencyMode == .explicit {
                    record.notePredecessor(predecessor, generation: predecessorGeneration)
                }
                record.remaining.add(1, ordering: .relaxed)
                if predecessor.addSuccessor(record, generation: predecessorGeneration) {
                    if hasAccesses { pending.insert(ObjectIdentifier(predecessor)) }
                } else {
                    record.remaining.subtract(1, ordering: .relaxed)
                }
            case .slot(let slot):
                if let space = slot.space { scope.noteSpace(space) }
                record.remaining.add(1, ordering: .relaxed)
                let (spawned, finished) = slot.state.withLock { state -> (TaskRecord?, FinishedTask?) in
                    if let existing = state.record { return (existing, nil) }
                    if let finished = state.finished { return (nil, finished) }
                    state.dependents.append(record)
                    return (nil, nil)
                }
                if let finished {
                    // The task finished and its record was let go: nothing to wait for.
                    record.remaining.subtract(1, ordering: .relaxed)
                    if finished.failure != nil { record.noteFailedDependency(named: slot.name) }
                } else if let spawned {
                    if scope.dependencyMode == .explicit { record.notePredecessor(spawned, generation: nil) }
                    if spawned.addSuccessor(record) {
                        if hasAccesses { pending.insert(ObjectIdentifier(spawned)) }
                    } else {
                        record.remaining.subtract(1, ordering: .relaxed)
                    }
                } else {
                    waitsForUnspawned = true
                }
            }
        }
    }
    // Data accesses: moved in before the body runs; with inferred dependencies, they also order the
    // task after earlier tasks whose accesses conflict with its own.
    // The producers of each `input` that has any, by position in `record.accesses` (empty: no allocation).
    var producersOfInput: [Int: [(TaskRecord, generation: UInt32)]] = [:]
    var sharingFailure: ParlaError? = nil
    if hasAccesses {
        // (A reused record keeps the capacity of its list.)
        record.accesses.reserveCapacity(accesses.input.count + accesses.output.count + accesses.inOut.count)
        func add(_ group: [any PArrayAccess], _ mode: AccessMode) {
            for access in group { record.accesses.append(DeclaredAccess(access._access.base, mode)) }
        }
        add(accesses.input, .input)
        add(accesses.output, .output)
        add(accesses.inOut, .inOut)
        // (By position: entries are not copied, which would retain their arrays.)
        for position in record.accesses.indices {
            let mode = record.accesses[position].mode
            var conflicting = record.accesses[position].access.inferDependencies(
                of: record,
                generation: generation,
                run: scope.serial,
                mode: mode,
                keepFinished: scope.dependencyMode == .explicit
            )
            if let other = conflicting.first(where: \.isOfAnotherRun) {
                sharingFailure =
                    sharingFailure
                    ?? .sharedAcrossRuns(
                        task: record.name,
                        array: record.accesses[position].access.label,
                        otherTask: other.task.name
                    )
                conflicting.removeAll(where: \.isOfAnotherRun)
            }
            if scope.dependencyMode == .inferred {
                for conflict in conflicting {
                    record.remaining.add(1, ordering: .relaxed)
                    if conflict.task.addSuccessor(record, generation: conflict.generation) {
                        pending.insert(ObjectIdentifier(conflict.task))
                        // `input` regions are prefetched (an `inOut` region moves when its task starts, so
                        // that the states a program prints between tasks stay those of the task order).
                        if mode == .input && conflict.mode.writes {
                            producersOfInput[position, default: []].append((conflict.task, conflict.generation))
                        }
                    } else {
                        record.remaining.subtract(1, ordering: .relaxed)
                    }
                }
            } else {
                // `.explicit`: checked when the task is about to run, once all its dependencies are known.
                let access = record.accesses[position].access
                for conflict in conflicting {
                    record.raceCandidates.append(
                        (
                            conflict.task,
                            "\(access.label) region \(access.region) (\(conflict.task.name): \(conflict.mode), \(record.name): \(mode))"
                        )
                    )
                }
            }
        }
    }
    if let sharingFailure {
        record.remaining.store(TaskRecord.neverReady, ordering: .relaxed)
        scope.taskBecameReadyWithoutRunning()
        record.complete(failure: sharingFailure)
        return ParlaTask(record: record, generation: generation)
    }
    // Prefetch: when the task waits for more than the producers of the data it reads, its input copies
    // start as soon as those producers have finished (for a task placed on one device).
    if case .one(let device) = spec, scope.dependencyMode == .inferred, waitsForUnspawned || !pending.isEmpty {
        for (position, entry) in record.accesses.enumerated() where entry.mode == .input {
            let access = entry.access
            let producers = producersOfInput[position] ?? []
            let producerIDs = Set(producers.map { ObjectIdentifier($0.0) })
            if waitsForUnspawned || !pending.isSubset(of: producerIDs) {
                _spawnPrefetch(
                    access,
                    to: device,
                    for: record,
                    generation: generation,
                    after: producers,
                    scope: scope,
                    file: file,
                    line: line
                )
            }
        }
    }
    // Drop the hold `spawn` had: the task is ready now unless a dependency is still running.
    record.releaseOne()
    return ParlaTask(record: record, generation: generation)
}

/// Spawns the hidden task that brings `access` to `device` for `task` (use `generation` of its record)
/// once `producers` have finished; it moves nothing once the task has started (the task then moves its
/// data itself, and may already be followed by a writer of the region).
private func _spawnPrefetch(
    _ access: any _PArrayAccessing,
    to device: Device,
    for task: TaskRecord,
    generation: UInt32,
    after producers: [(TaskRecord, generation: UInt32)],
    scope: RunScope,
    file: StaticString,
    line: UInt
) {
    let prefetch = TypedTaskRecord<Void>(
        slot: nil,
        scope: scope,
        placement: .one(device),
        vcus: 0,
        memory: 0,
        synchronous: {
            // A failure here (no room, say) is not the task's, and changes nothing: the task moves the
            // data again and reports it.
            try? access.prepare(on: device, mode: .input, run: scope, writer: nil) {
                task.hasStarted(generation: generation)
            }
        },
        asynchronous: nil,
        origin: file,
        originLine: line
    )
    scope.taskSpawned()
    for (producer, generation) in producers {
        prefetch.remaining.add(1, ordering: .relaxed)
        if !producer.addSuccessor(prefetch, generation: generation) {
            prefetch.remaining.subtract(1, ordering: .relaxed)
        }
    }
    prefetch.releaseOne()
}

import ParlaDevices

/// `spawn`, step by step: find the run, resolve the placement, make (or reuse) the record, claim the
/// id, register the dependencies and the data accesses, start prefetches, and let the task go.
///
/// A task that cannot run (a duplicate id, a placement no device of the run satisfies, an array used
/// by another run at once) still gets a record, which fails at once: its handle and its dependents
/// see the failure.
///
/// The arguments are those of `spawn`, passed on as they are (borrowed: a struct of them would retain
/// every array once more per task).
// swift-format-ignore: FunctionParameterCount
@inline(__always)
func spawnTask<R: Sendable>(
    _ id: TaskID?,
    dependencies: [any TaskDependency],
    placement: any Placement,
    input: [any PArrayAccess],
    output: [any PArrayAccess],
    inOut: [any PArrayAccess],
    memory: Int?,
    vcus: Double?,
    file: StaticString,
    line: UInt,
    synchronous: (@Sendable () throws -> R)?,
    asynchronous: (@Sendable () async throws -> R)?
) -> ParlaTask<R> {
    let scope = runOfSpawn(id, file: file, line: line)
    parlaPrecondition(
        (vcus ?? 0) >= 0,
        "vcus cannot be negative (\(vcus ?? 0)) for task \(spawnedTaskName(id, file: file, line: line))"
    )
    parlaPrecondition(
        (memory ?? 0) >= 0,
        "memory cannot be negative (\(memory ?? 0)) for task \(spawnedTaskName(id, file: file, line: line))"
    )
    var (spec, placementError) = resolvePlacement(placement, in: scope, id: id, file: file, line: line)
    let (record, generation) = makeRecord(
        id,
        memory: memory,
        vcus: vcus,
        file: file,
        line: line,
        placement: spec,
        in: scope,
        synchronous,
        asynchronous
    )
    scope.accounting.taskSpawned()
    if let recorder = scope.recorder {
        record.traceNumber = recorder._withUnsafeGuaranteedRef {
            $0.recordSpawn(slot: record.slot, origin: record.origin, originLine: record.originLine)
        }
    }
    placementError = placementError ?? checkPlacement(of: record, in: scope)
    if let slot = id?.slot, !claim(slot, for: record, in: scope) {
        record.failAtSpawn(.duplicateTaskID(slot.name))
        return ParlaTask(record: record)
    }
    if let placementError {
        record.failAtSpawn(placementError)
        return ParlaTask(record: record)
    }
    let hasAccesses = !input.isEmpty || !output.isEmpty || !inOut.isEmpty
    var waits = registerDependencies(dependencies, of: record, in: scope, trackPending: hasAccesses)
    if hasAccesses {
        declareAccesses(input: input, output: output, inOut: inOut, of: record)
        if record.placement.deviceCount > 1 || record.accesses.contains(where: { $0.deviceIndex != nil }) {
            checkDevicePositions(of: record)
        }
        if let sharingFailure = registerAccesses(of: record, generation: generation, in: scope, waits: &waits) {
            record.failAtSpawn(sharingFailure)
            return ParlaTask(record: record, generation: generation)
        }
        startPrefetches(for: record, generation: generation, waits: waits, in: scope, file: file, line: line)
    }
    // Drop the hold `spawn` had: the task is ready now unless a dependency is still running.
    record.releaseOne()
    return ParlaTask(record: record, generation: generation)
}

/// The name of a task before it has a record: its id, or where it was spawned.
private func spawnedTaskName(_ id: TaskID?, file: StaticString, line: UInt) -> String {
    id?.name ?? TaskRecord.unnamedTaskName(origin: "\(file)", line: line)
}

/// What a task still waits for when `spawn` registers its data accesses: its dependencies not finished
/// yet (for tasks with data accesses), whether some id is not spawned yet, and the producers of each
/// `input` (by position in `record.accesses`), which its prefetches follow.
struct PendingWaits {
    var dependencies = Set<ObjectIdentifier>()
    var unspawned = false
    /// Empty (no allocation) unless an input has producers.
    var producersOfInput: [Int: [(TaskRecord, generation: UInt32)]] = [:]
}

/// The run `spawn` is called in; stops with a precise message outside every run.
@inline(__always)
private func runOfSpawn(_ id: TaskID?, file: StaticString, line: UInt) -> RunScope {
    guard let scope = RunScope.current else {
        let several = RunScope.runsInProgress > 1
        parlaPreconditionFailure(
            "spawn\(id.map { "(\($0))" } ?? "") at \(file):\(line) is outside Parla.run; tasks exist only inside a run"
                + (several
                    ? " (several runs are in progress: spawn from the body or the tasks of the one it belongs to)" : "")
        )
    }
    return scope
}

/// The devices `placement` allows, and the failure of a placement that allows none.
@inline(__always)
private func resolvePlacement(
    _ placement: any Placement,
    in scope: RunScope,
    id: TaskID?,
    file: StaticString,
    line: UInt
) -> (PlacementSpec, ParlaError?) {
    let resolved = placement.resolvedPlacement(gpuCount: scope.devices.count - 1)
    let detail: String
    switch resolved.spec {
    case .groups(let groups) where groups.isEmpty:
        detail = "its placement \(placement) asks for more distinct devices at once than this run has"
    case .several(let candidates) where candidates.isEmpty:
        detail = "its placement allows no device of this run"
    default:
        return (resolved.spec, nil)
    }
    let devices = scope.devices.map(\.description).joined(separator: ", ")
    return (
        resolved.spec,
        .unsatisfiableResources(
            task: spawnedTaskName(id, file: file, line: line),
            detail: "\(detail) (devices: \(devices))"
        )
    )
}

/// A record for the task: a finished one of the same kind reused (the fast path allocates nothing),
/// else a new one; with the generation (use) of the record the task is.
@inline(__always)
// swift-format-ignore: FunctionParameterCount
private func makeRecord<R: Sendable>(
    _ id: TaskID?,
    memory: Int?,
    vcus: Double?,
    file: StaticString,
    line: UInt,
    placement: PlacementSpec,
    in scope: RunScope,
    _ synchronous: (@Sendable () throws -> R)?,
    _ asynchronous: (@Sendable () async throws -> R)?
) -> (TypedTaskRecord<R>, generation: UInt32) {
    if R.self == Void.self, id == nil, vcus == nil, memory == nil, let synchronous,
        let cached = TaskRecordCache.current.take()
    {
        let generation = cached.reset(
            scope: scope,
            placement: placement,
            origin: file,
            originLine: line
        )
        let record = unsafeDowncast(cached, to: TypedTaskRecord<R>.self)
        record.reuse(body: synchronous)
        return (record, generation)
    }
    let record = TypedTaskRecord<R>(
        slot: id?.slot,
        scope: scope,
        placement: placement,
        vcus: vcus ?? 0,
        memory: memory ?? 0,
        synchronous: synchronous,
        asynchronous: asynchronous,
        origin: file,
        originLine: line
    )
    return (record, 0)
}

/// Why the record's placement can never be satisfied in this run (a device it does not have, more
/// resources than any allowed device has), or `nil`.
@inline(__always)
private func checkPlacement(of record: TaskRecord, in scope: RunScope) -> ParlaError? {
    switch record.placement {
    case .one(let device) where !scope.has(device):
        return .noSuchDevice(task: record.name, device: device, available: scope.devices)
    case .several(let devices):
        if let missing = devices.first(where: { !scope.has($0) }) {
            return .noSuchDevice(task: record.name, device: missing, available: scope.devices)
        }
    case .groups(let groups):
        if let missing = groups.joined().first(where: { !scope.has($0) }) {
            return .noSuchDevice(task: record.name, device: missing, available: scope.devices)
        }
    default:
        break
    }
    guard record.vcus > 0 || record.memory > 0 else { return nil }
    let candidates: [Device]
    switch record.placement {
    case .any: candidates = scope.devices
    case .one(let device): candidates = [device]
    case .several(let devices): candidates = devices
    case .groups(let groups):
        // (A group fits when each of its devices does.)
        let reasons = groups.map { group in
            group.lazy.compactMap {
                scope.ledger.unplaceableReason(vcus: record.vcus, memory: record.memory, candidates: [$0])
            }.first
        }
        guard !reasons.contains(where: { $0 == nil }), let reason = reasons.first ?? nil else { return nil }
        return .unsatisfiableResources(task: record.name, detail: reason)
    }
    return scope.ledger.unplaceableReason(vcus: record.vcus, memory: record.memory, candidates: candidates).map {
        .unsatisfiableResources(task: record.name, detail: $0)
    }
}

/// Claims the id `slot` for `record`: the tasks spawned earlier that depend on the id now wait for
/// it, and barriers waiting for its spawn wake. Returns `false` when the id was taken already.
private func claim(_ slot: TaskSlot, for record: TaskRecord, in scope: RunScope) -> Bool {
    if let space = slot.space { scope.stalls.noteSpace(space) }
    let claimed = slot.state.withLock { state -> (dependents: [TaskRecord], waiters: [Waiter])? in
        if state.record != nil || state.finished != nil { return nil }
        state.record = record
        defer {
            state.dependents = []
            state.spawnWaiters = []
        }
        return (state.dependents, state.spawnWaiters)
    }
    guard let claimed else { return false }
    for dependent in claimed.dependents {
        if scope.dependencyMode == .explicit { dependent.notePredecessor(record, generation: nil) }
        let traced = scope.trace == nil ? 0 : record.traceNumber
        if !record.addSuccessor(dependent) {
            dependent.releaseOne()
        } else if traced > 0 {
            traceDependency(of: dependent, onNumber: traced, in: scope)
        }
    }
    for waiter in claimed.waiters { waiter.wake() }
    return true
}

/// Makes `record` wait for its explicit dependencies; with `trackPending`, notes which are still
/// running (for prefetching).
@inline(__always)
private func registerDependencies(
    _ dependencies: [any TaskDependency],
    of record: TaskRecord,
    in scope: RunScope,
    trackPending: Bool
) -> PendingWaits {
    var waits = PendingWaits()
    // (By position: an element is not copied out of the array.)
    for index in dependencies.indices {
        dependencies[index].forEachTarget { target in
            switch target.kind {
            case .record(let predecessor, let predecessorGeneration):
                if scope.dependencyMode == .explicit {
                    record.notePredecessor(predecessor, generation: predecessorGeneration)
                }
                record.remaining.add(1, ordering: .relaxed)
                // (Read before: once it has a successor, the predecessor may finish and its record be reused.)
                let traced = scope.trace == nil ? 0 : predecessor.traceNumber
                if predecessor.addSuccessor(record, generation: predecessorGeneration) {
                    if trackPending { waits.dependencies.insert(ObjectIdentifier(predecessor)) }
                    if traced > 0 { traceDependency(of: record, onNumber: traced, in: scope) }
                } else {
                    record.remaining.subtract(1, ordering: .relaxed)
                }
            case .slot(let slot):
                if let space = slot.space { scope.stalls.noteSpace(space) }
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
                    let traced = scope.trace == nil ? 0 : spawned.traceNumber
                    if spawned.addSuccessor(record) {
                        if trackPending { waits.dependencies.insert(ObjectIdentifier(spawned)) }
                        if traced > 0 { traceDependency(of: record, onNumber: traced, in: scope) }
                    } else {
                        record.remaining.subtract(1, ordering: .relaxed)
                    }
                } else {
                    waits.unspawned = true
                }
            }
        }
    }
    return waits
}

/// Lists the regions the task declared in its record, in order: inputs, outputs, then inOuts.
@inline(__always)
private func declareAccesses(
    input: [any PArrayAccess],
    output: [any PArrayAccess],
    inOut: [any PArrayAccess],
    of record: TaskRecord
) {
    // (A reused record keeps the capacity of its list.)
    record.accesses.reserveCapacity(input.count + output.count + inOut.count)
    for access in input { record.accesses.append(DeclaredAccess(access.declaredRegion, .input)) }
    for access in output { record.accesses.append(DeclaredAccess(access.declaredRegion, .output)) }
    for access in inOut { record.accesses.append(DeclaredAccess(access.declaredRegion, .inOut)) }
}

/// Stops when the task's regions and its devices do not fit together: a region for a device position
/// it does not have (`forDevice(2)` on a task of two devices); in a multi-device task, a write that
/// does not name its device, or a region written on one device that the task also uses on another (one
/// of the two copies would be stale).
private func checkDevicePositions(of record: TaskRecord) {
    let count = record.placement.deviceCount
    func describe(_ entry: DeclaredAccess) -> String {
        "\(entry.access.label) region \(entry.access.region)"
            + (entry.deviceIndex.map { " for device \($0) (forDevice(\($0)))" } ?? " on every device")
    }
    for entry in record.accesses {
        if let index = entry.deviceIndex {
            parlaPrecondition(
                index < count,
                "task \(record.name) declares \(describe(entry)), and it runs on \(count) device\(count == 1 ? "" : "s")"
            )
        } else if count > 1 && entry.mode.writes {
            parlaPrecondition(
                false,
                "task \(record.name) runs on \(count) devices and writes \(entry.access.label) region \(entry.access.region) without naming the device: declare \(entry.access.label).forDevice(i) (Parla: (A, i))"
            )
        }
    }
    guard count > 1 else { return }
    for (position, written) in record.accesses.enumerated() where written.mode.writes {
        for (otherPosition, other) in record.accesses.enumerated() where otherPosition != position {
            guard other.access.storageIdentity == written.access.storageIdentity,
                other.deviceIndex != written.deviceIndex,
                other.access.region.intersects(written.access.region)
            else { continue }
            parlaPreconditionFailure(
                "task \(record.name) writes \(describe(written)) and also uses \(describe(other)): a region written on one device of a task cannot be used on another (its copy there would be stale)"
            )
        }
    }
}

/// Declares the task's data accesses (moved in before its body runs); with inferred dependencies they
/// also order the task after earlier tasks whose accesses conflict with its own, and in `.explicit`
/// runs such conflicts become race candidates, checked when it is about to run. Returns the failure of
/// an array in use by another run.
@inline(__always)
private func registerAccesses(
    of record: TaskRecord,
    generation: UInt32,
    in scope: RunScope,
    waits: inout PendingWaits
) -> ParlaError? {
    var sharingFailure: ParlaError? = nil
    // In runs whose devices may evict, the accesses are also uses to come, in spawn order.
    let upcomingOrder = scope.mayEvict ? RunScope.nextSpawnOrder() : nil
    // (By position: entries are not copied, which would retain their arrays.)
    for position in record.accesses.indices {
        let mode = record.accesses[position].mode
        var conflicting = record.accesses[position].access.inferDependencies(
            of: record,
            generation: generation,
            run: scope.serial,
            mode: mode,
            keepFinished: scope.dependencyMode == .explicit,
            upcomingOrder: upcomingOrder
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
                let traced = scope.trace == nil ? 0 : conflict.task.traceNumber
                if conflict.task.addSuccessor(record, generation: conflict.generation) {
                    waits.dependencies.insert(ObjectIdentifier(conflict.task))
                    if traced > 0 { traceDependency(of: record, onNumber: traced, in: scope) }
                    // `input` regions are prefetched (an `inOut` region moves when its task starts, so
                    // that the states a program prints between tasks stay those of the task order).
                    if mode == .input && conflict.mode.writes {
                        waits.producersOfInput[position, default: []].append((conflict.task, conflict.generation))
                    }
                } else {
                    record.remaining.subtract(1, ordering: .relaxed)
                }
            }
        } else {
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
    return sharingFailure
}

/// Prefetch: when a task placed on one device waits for more than the producers of the data it reads,
/// its input copies start as soon as those producers have finished.
@inline(__always)
private func startPrefetches(
    for record: TaskRecord,
    generation: UInt32,
    waits: PendingWaits,
    in scope: RunScope,
    file: StaticString,
    line: UInt
) {
    guard case .one(let device) = record.placement, scope.dependencyMode == .inferred,
        waits.unspawned || !waits.dependencies.isEmpty
    else { return }
    for (position, entry) in record.accesses.enumerated() where entry.mode == .input {
        let producers = waits.producersOfInput[position] ?? []
        let producerIDs = Set(producers.map { ObjectIdentifier($0.0) })
        if waits.unspawned || !waits.dependencies.isSubset(of: producerIDs) {
            spawnPrefetch(
                entry.access,
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

/// Spawns the hidden task that brings `access` to `device` for `task` (use `generation` of its record)
/// once `producers` have finished; it moves nothing once the task has started (the task then moves its
/// data itself, and may already be followed by a writer of the region).
private func spawnPrefetch(
    _ access: any DeclaredRegion,
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
            // Prefetches never evict: one that might need more memory than the device has free now
            // leaves the move to the task (a ready task's move may evict the copies prefetches made).
            if let free = scope.freeMemory(on: device), free < access.bufferBytes { return }
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
    scope.accounting.taskSpawned()
    for (producer, generation) in producers {
        prefetch.remaining.add(1, ordering: .relaxed)
        if !producer.addSuccessor(prefetch, generation: generation) {
            prefetch.remaining.subtract(1, ordering: .relaxed)
        }
    }
    prefetch.releaseOne()
}

/// In a traced run: records that `record` waits for the task numbered `predecessor` in the trace (read
/// before the predecessor was given its successor: after that it may finish and its record be reused).
private func traceDependency(of record: TaskRecord, onNumber predecessor: Int, in scope: RunScope) {
    guard let recorder = scope.recorder, record.traceNumber > 0 else { return }
    recorder._withUnsafeGuaranteedRef { $0.recordDependency(from: predecessor, to: record.traceNumber) }
}

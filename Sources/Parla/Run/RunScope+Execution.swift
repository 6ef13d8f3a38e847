import Dispatch
import ParlaDevices

/// Execution: a ready task is placed on a device, its declared data is made valid there, its body
/// runs (on the worker thread, or as a Swift task for an asynchronous body), and it completes.
extension RunScope {
    /// Runs `record` on the calling worker thread (or, for an asynchronous body, starts its Swift task).
    /// Returns whether the task finished in this call (not parked for resources, not asynchronous).
    @discardableResult
    func execute(_ record: TaskRecord) -> Bool {
        record.checkLifecycle(becoming: .running)
        if record.hasFailedDependency.load(ordering: .acquiring),
            let failure = record.state.withLock({ $0.dependencyFailure })
        {
            record.complete(failure: failure, onWorkerLoop: true)
            return true
        }
        var requiredDevice: Device? = nil
        if record.releasedAtLaunch.load(ordering: .acquiring) {
            switch self.runaheadDecision(for: record) {
            case .run(let device):
                requiredDevice = device
            case .fail(let failure):
                record.complete(failure: failure, onWorkerLoop: true)
                return true
            case .parked:
                return false  // (submitted again when the predecessor completes)
            }
        }
        // A task with declared data that may run on several devices goes where its data is (see
        // `RunScope+Locality.swift`); others are spread by load alone.
        var ranked: [Device]? = nil
        if requiredDevice == nil && !record.accesses.isEmpty,
            let candidates = self.severalCandidates(of: record.placement)
        {
            ranked = self.rankedByLocality(record, among: candidates)
        }
        guard let device = self.ledger.place(record, restrictedTo: requiredDevice, ranked: ranked) else {
            record.checkLifecycle(becoming: .pending)  // (parked: submitted again later)
            return false
        }
        record.device = device
        let slot = self.position(of: device)
        // (Counted as running from now on, also while it waits for room: the mapping sees it.)
        if record.groupDevices.isEmpty {
            self.ledger.taskStarted(on: slot)
        } else {
            self.ledger.taskStarted(onEachOf: record.groupDevices)
        }
        let traceStarted = self.recorder?._withUnsafeGuaranteedRef { $0.now } ?? 0
        if !record.accesses.isEmpty {
            // Timed for the device's average task (which the mapping weighs) in runs of several devices.
            if self.devices.count > 1 { record.startedAt = DispatchTime.now().uptimeNanoseconds }
            self.pinDeclaredArrays(of: record, on: device)
        }
        if record.memory > 0 {
            if record.groupDevices.isEmpty {
                self.makeRoomForReservation(of: record, on: device)
            } else {
                for member in record.groupDevices { self.makeRoomForReservation(of: record, on: member) }
            }
        }
        if let race = self.unorderedConflict(of: record) {
            self.finish(record, slot: slot, failure: race)
            return true
        }
        let moveFailure = self.moveDataIn(for: record, to: device)
        if let recorder = self.recorder, record.traceNumber > 0 {
            recorder._withUnsafeGuaranteedRef { trace in
                trace.recordStart(
                    number: record.traceNumber,
                    started: traceStarted,
                    dataIn: record.accesses.isEmpty ? traceStarted : trace.now,
                    asynchronous: record.isAsync
                )
            }
        }
        if let failure = moveFailure {
            self.finish(record, slot: slot, failure: failure)
            return true
        }
        if record.isAsync {
            self.startAsynchronousBody(of: record, on: device, slot: slot)
            return false
        }
        var failure: (any Error)? = nil
        let lane: ComputeLane?
        do {
            lane = try self.openLane(for: record, on: device, slot: slot)
        } catch {
            self.finish(record, slot: slot, failure: error)
            return true
        }
        let context = ThreadContext.current
        // The body may check its data accesses against the current task (the record outlives the body).
        context.enterTaskBody(device: device, task: Unmanaged.passUnretained(record), lane: lane?.tag ?? .none)
        do {
            try record.runSynchronousBody()
        } catch {
            failure = error
        }
        context.leaveTaskBody()
        if let lane, let joinFailure = self.closeLane(lane, of: record) { failure = failure ?? joinFailure }
        if record.hasDeviceFailure.load(ordering: .relaxed) { failure = record.deviceFailureOfBody() }
        if !record.groupDevices.isEmpty {
            // A multi-device task's worker waits for the work it queued on each of its devices.
            if failure == nil {
                do { try self.waitForDeviceWork(of: record, on: slot) } catch { failure = error }
            }
            if failure == nil { failure = self.deviceWorkCheckFailure(of: record, on: device) }
        } else if failure == nil && self.completesAsynchronously[slot] {
            // Finished later, when the device has run the work the body queued, unless it has already.
            if !self.finishWhenDeviceWorkCompletes(record, on: device, slot: slot) { return false }
            do { try self.waitForDeviceWork(of: record, on: slot) } catch { failure = error }
            if failure == nil { failure = self.deviceWorkCheckFailure(of: record, on: device) }
        }
        self.finish(record, slot: slot, failure: failure)
        return true
    }

    /// In `.explicit` mode: the race of `record` with a task whose accesses conflict with its own and
    /// that no dependency orders before or after it (one way or the other: a task may depend on one
    /// spawned after it), if there is one.
    private func unorderedConflict(of record: TaskRecord) -> ParlaError? {
        for (other, conflict) in record.raceCandidates where !record.hasAncestor(other) && !other.hasAncestor(record) {
            return .race(first: other.name, second: record.name, access: conflict)
        }
        return nil
    }

    /// Makes the regions `record` declared valid on `device` (and writable, for its writes); returns the
    /// task's failure when a move fails.
    private func moveDataIn(for record: TaskRecord, to device: Device) -> ParlaError? {
        guard !record.accesses.isEmpty else { return nil }
        // Set before any array's lock is taken: a prefetch that plans after this sees it, and one that
        // planned before has registered its move, which this task's own move waits for.
        record.hasStarted.store(true, ordering: .releasing)
        if !record.groupDevices.isEmpty { return self.moveGroupDataIn(for: record) }
        // By position, and reads of arrays valid here decided without copying the entry (a copy retains
        // the array: a reference count the workers running its tasks contend for). A task that waited
        // for room without its pins makes its moves again (see `RunScope+DeviceMemory.swift`).
        var index = record.accesses.startIndex
        while index < record.accesses.endIndex {
            defer { index += 1 }
            // (Trivial fields read in place: the entry is not copied.)
            let validity = record.accesses[index].wholeValidity
            if record.accesses[index].mode == .input && validity._withUnsafeGuaranteedRef({ $0.isValid(on: device) }) {
                continue
            }
            let entry = record.accesses[index]
            do {
                if try !self.prepare(entry, of: record, on: device) { index = record.accesses.startIndex - 1 }
            } catch {
                return self.moveFailure(of: record, entry, on: device, error)
            }
        }
        return nil
    }

    /// ``moveDataIn(for:to:)`` for a multi-device task: each region goes to the device it was declared
    /// for (`forDevice(_:)`), a plain input to each of the task's devices.
    private func moveGroupDataIn(for record: TaskRecord) -> ParlaError? {
        var index = record.accesses.startIndex
        while index < record.accesses.endIndex {
            defer { index += 1 }
            let entry = record.accesses[index]
            let targets = entry.deviceIndex.map { [record.groupDevices[$0]] } ?? record.groupDevices
            for target in targets {
                if entry.mode == .input && entry.wholeValidity._withUnsafeGuaranteedRef({ $0.isValid(on: target) }) {
                    continue
                }
                do {
                    if try !self.prepare(entry, of: record, on: target) {
                        index = record.accesses.startIndex - 1
                        break
                    }
                } catch {
                    return self.moveFailure(of: record, entry, on: target, error)
                }
            }
        }
        return nil
    }

    /// The task's failure when moving `entry` to `device` failed with `error`.
    private func moveFailure(
        of record: TaskRecord,
        _ entry: DeclaredAccess,
        on device: Device,
        _ error: DeviceError
    ) -> ParlaError {
        if case .outOfMemory = error, let capacity = self.ledger.capacity(of: self.position(of: device)) {
            let workingSet = self.workingSetBytes(of: record, on: device)
            if workingSet > capacity {
                return .unsatisfiableResources(
                    task: record.name,
                    detail:
                        "its declared data and memory request (\(workingSet) bytes) do not fit in the \(capacity) bytes of \(device)"
                )
            }
        }
        return .deviceFailed(
            task: record.name,
            device: device,
            operation: "moving \(entry.access.label) region \(entry.access.region) to \(device) (\(entry.mode))",
            error: error
        )
    }

    /// Moves one declared access of `record` to `device`; when a device is out of memory, copies no
    /// running task uses give way (or the task waits for running tasks to give memory back), and the
    /// move is tried again (see `RunScope+DeviceMemory.swift`). Returns `false` when the task waited
    /// without its pins: its earlier moves are to be made again.
    private func prepare(_ entry: DeclaredAccess, of record: TaskRecord, on device: Device) throws(DeviceError) -> Bool
    {
        let tracked = self.residency.tracks(self.position(of: device))
        while true {
            let releases = tracked ? self.residency.releaseCount : 0
            do {
                try entry.access.prepare(
                    on: device,
                    mode: entry.mode,
                    run: self,
                    writer: entry.mode.writes ? record : nil,
                    isObsolete: nil
                )
                return true
            } catch {
                guard case .outOfMemory(let full, let requested, _) = error, full == device else { throw error }
                switch self.makeRoomForMove(of: record, on: device, needing: requested, releases: releases) {
                case .retry: continue
                case .restartMoves: return false
                case .fail: throw error
                }
            }
        }
    }

    /// Starts the Swift task that runs `record`'s asynchronous body with its context bound, and finishes
    /// the task when the body (and the device work it queued) has.
    private func startAsynchronousBody(of record: TaskRecord, on device: Device, slot: Int) {
        Task {
            var failure: (any Error)? = nil
            do {
                let lane = try self.openLane(for: record, on: device, slot: slot)
                let context = TaskContext(
                    registry: self.registry,
                    run: self,
                    task: record,
                    device: device,
                    lane: lane?.tag ?? .none
                )
                do {
                    try await TaskContext.$current.withValue(context) { try await record.runAsynchronousBody() }
                } catch {
                    failure = error
                }
                if let lane, let joinFailure = self.closeLane(lane, of: record) { throw failure ?? joinFailure }
                if let failure { throw failure }
                try self.waitForDeviceWork(of: record, on: slot)
            } catch {
                failure = error
            }
            let outcome = record.deviceFailureOfBody() ?? failure
            // A task that ran ahead of an earlier task's work on this GPU completes after that task:
            // behind it on the launched-work queue.
            if let launched = self.launchedWork[slot], !record.state.withLock({ $0.runaheadPredecessors.isEmpty }) {
                launched.add(
                    LaunchedWorkQueue.Entry(completion: .completed) { _ in
                        var failure = outcome
                        if failure == nil { failure = record.failedRunaheadPredecessor() }
                        if failure == nil { failure = self.deviceWorkCheckFailure(of: record, on: device) }
                        self.finish(record, slot: slot, failure: failure, onWorkerLoop: false)
                    }
                )
                return
            }
            self.finish(record, slot: slot, failure: outcome ?? self.deviceWorkCheckFailure(of: record, on: device))
        }
    }

    /// On a device whose work completes asynchronously (a CUDA GPU), a task is finished when the
    /// kernels it queued are.
    /// (A multi-device task's: on each of its devices.)
    @inline(__always)
    private func waitForDeviceWork(of record: TaskRecord, on slot: Int) throws(ParlaError) {
        if !record.groupDevices.isEmpty {
            for member in record.groupDevices where self.position(of: member) != slot {
                try self.waitForDeviceWork(ofOneDevice: record, on: self.position(of: member))
            }
        }
        try self.waitForDeviceWork(ofOneDevice: record, on: slot)
    }

    /// ``waitForDeviceWork(of:on:)`` on one device.
    @inline(__always)
    private func waitForDeviceWork(ofOneDevice record: TaskRecord, on slot: Int) throws(ParlaError) {
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

    /// The failure a check of the device's results (a factorization's status) reports, once the
    /// task's device work has finished.
    func deviceWorkCheckFailure(of record: TaskRecord, on device: Device) -> (any Error)? {
        guard let failure = record.runDeviceWorkChecks() else { return nil }
        if let error = failure as? DeviceError {
            return ParlaError.deviceFailed(
                task: record.name,
                device: device,
                operation: "reading the results of the task's device work",
                error: error
            )
        }
        return failure
    }

    /// Ends the task's writes and its hold on the device, and completes it.
    ///
    /// - Parameter onWorkerLoop: called by a worker that goes back to its loop right after (see
    ///   ``TaskRecord/complete(failure:onWorkerLoop:)``).
    func finish(_ record: TaskRecord, slot: Int, failure: (any Error)?, onWorkerLoop: Bool = true) {
        // A failed task's checks of its device results are run for what they hold (status words).
        if failure != nil { _ = record.runDeviceWorkChecks() }
        for index in record.accesses.indices where record.accesses[index].mode.writes {
            record.accesses[index].access.endWrite(by: record, failed: failure != nil)
        }
        if record.startedAt != 0 {
            self.ledger.noteTaskTime(nanoseconds: DispatchTime.now().uptimeNanoseconds &- record.startedAt, on: slot)
            record.startedAt = 0
        }
        self.unpinDeclaredArrays(of: record, on: record.device)
        if let recorder = self.recorder, record.traceNumber > 0 {
            recorder._withUnsafeGuaranteedRef { trace in
                if record.placement.deviceCount > 1 {
                    trace.recordEnd(number: record.traceNumber, devices: record.groupDevices)
                } else {
                    trace.recordEnd(number: record.traceNumber, device: record.device)
                }
            }
        }
        self.ledger.taskEnded(record, on: slot)
        record.complete(failure: failure, onWorkerLoop: onWorkerLoop)
    }
}

import ParlaDevices

extension PArrayStorage {
    /// Makes `region` valid on `device` for an access of `mode`: allocates the device's buffer if needed
    /// and copies in the freshest pieces the protocol names (none for `output`).
    ///
    /// The copies run outside the array's lock, so that reads of one array on several devices move
    /// their data at the same time; a read into a device that a move is already filling waits for that
    /// move instead. A read that only the host can serve, while tasks on other GPUs wait to read the same
    /// region, may be served together with theirs (see ``planSharedRead(_:on:copies:links:run:state:)``).
    /// The protocol's state changes only once every copy of a move has completed: when one fails (or a
    /// buffer cannot be allocated), the array is as it was, and the error is thrown.
    ///
    /// - Parameters:
    ///   - region: the region (computed only past the fast path: a view's region takes the lock).
    ///   - registry: the devices of the run (or, outside runs, the current ones): where buffers are
    ///     allocated, and how fast each link is (the protocol fetches each piece over the fastest).
    ///   - run: the run whose movement log counts the bytes (and whose waiting readers a shared read
    ///     serves, in `.inferred` mode).
    ///   - writer: the task that will write the region, recorded as a running writer (see
    ///     ``beginWrite(_:by:in:)``) before anything moves, in the same hold of the lock.
    ///   - isObsolete: checked under the lock before anything is planned: when it says so, nothing
    ///     moves (a prefetch whose task has started).
    func prepare(
        _ region: @autoclosure () -> Box,
        on device: Device,
        mode: AccessMode,
        registry: DeviceRegistry,
        run: RunScope?,
        writer: TaskRecord? = nil,
        isObsolete: (() -> Bool)? = nil
    ) throws(DeviceError) {
        // Fast path without the lock: reading where the whole array is already valid changes nothing
        // (many workers preparing one array would otherwise queue on its lock).
        if mode == .input && isObsolete == nil && self.wholeValidity.isValid(on: device) { return }
        let box = region()
        var sharing = true
        while true {
            let step = try self.plan(
                box,
                on: device,
                mode: mode,
                registry: registry,
                run: run,
                writer: writer,
                sharing: sharing,
                isObsolete: isObsolete
            )
            switch step {
            case .done:
                return
            case .wait(let move):
                move.waitUntilFinished()
            case .unshare(let unsharing):
                try self.unshare(unsharing)
            case .copy(let move, let shape, let phases):
                do throws(DeviceError) {
                    let applied = try self.carryOut(move, shape: shape, phases: phases, run: run) { state in
                        for destination in move.destinations {
                            _ = state.coherence.access(move.box, on: destination, mode: move.mode)
                        }
                    }
                    if applied { return }
                } catch {
                    // A shared read that failed (on another GPU, say) is tried again alone: this task's
                    // own move fails only for a reason of its own.
                    guard move.destinations.count > 1 else { throw error }
                    sharing = false
                }
            }
        }
    }

    /// What ``prepare(_:on:mode:registry:run:isObsolete:)`` does next.
    private enum PreparationStep: @unchecked Sendable {
        // @unchecked Sendable: the transfers name this array's memories, handed from the lock's holder
        // to the thread that copies between them; the move registered with them keeps others out.
        case done
        case wait(PendingMove)
        /// Copy a buffer shared with the program first (outside the lock), then plan again.
        case unshare(Unsharing)
        case copy(PendingMove, shape: [Int], phases: MovePhases)
    }

    /// A move's copies, phase after phase, holding the memories of the buffers they go between until
    /// the move ends (``carryOut(_:shape:phases:run:commit:)`` lets them go under the array's lock, as
    /// it ends the move). Were the thread that moved to hold them a while longer, a buffer an eviction
    /// drops right after the move would stay allocated meanwhile: memory in use on the device that a
    /// task looking for room there could neither evict nor wait for.
    final class MovePhases {
        private(set) var phases: [[Transfer]]
        /// The copies, for what is recorded once the memories are let go.
        let copies: [CoherenceProtocol.Copy]

        init(_ phases: [[Transfer]]) {
            self.phases = phases
            self.copies = phases.joined().map(\.copy)
        }

        /// Lets the buffers' memories go.
        func release() { self.phases = [] }
    }

    /// One copy of a move, with the memories of the two whole-array buffers it goes between (not the
    /// buffers: holding one would make the next write to it copy it, leaving the move behind).
    struct Transfer {
        let copy: CoherenceProtocol.Copy
        let source: (allocation: DeviceAllocation, elementOffset: Int)
        let destination: (allocation: DeviceAllocation, elementOffset: Int)

        /// `copy`, between the current buffers of its source and destination.
        init(_ copy: CoherenceProtocol.Copy, in state: borrowing State) {
            self.copy = copy
            self.source = state.buffers[copy.source]!.memory
            self.destination = state.buffers[copy.destination]!.memory
        }
    }

    /// Under the lock: applies the access when it needs no copy; otherwise allocates the buffers and
    /// registers the move (or finds the move to wait for first). With `sharing`, a read may be shared
    /// with other GPUs' waiting readers.
    private func plan(
        _ box: Box,
        on device: Device,
        mode: AccessMode,
        registry: DeviceRegistry,
        run: RunScope?,
        writer: TaskRecord?,
        sharing: Bool,
        isObsolete: (() -> Bool)?
    ) throws(DeviceError) -> PreparationStep {
        try self.state.withLock { (state) throws(DeviceError) -> PreparationStep in
            if let isObsolete, isObsolete() { return .done }
            // A move into this device's buffer may replace the buffer (below): one at a time. A write
            // also waits for moves that read or fill the region elsewhere.
            if let busy = state.moves.first(where: { $0.blocks(box, on: device, writing: mode.writes) }) {
                return .wait(busy)
            }
            let copies = state.coherence.copies(for: box, on: device, mode: mode, links: registry.links)
            try self.ensureBuffer(&state, on: device, of: registry, run: run)
            if (mode.writes || !copies.isEmpty) && Self.bufferIsShared(on: device, in: &state) {
                // Written below or by the task: the buffer must not be shared with an NDArray the program
                // holds (a wrapped array, or an earlier `.array`).
                return .unshare(self.beginUnsharing(on: device, in: &state))
            }
            if copies.isEmpty {
                // (A writer is recorded with the pieces the access found before changing them.)
                var earlier: [(box: Box, holders: DeviceSet)]? = writer == nil ? nil : []
                _ = state.coherence.access(box, on: device, mode: mode, links: registry.links, earlier: &earlier)
                if let writer { self.beginWrite(box, by: writer, before: earlier, in: &state) }
                self.publishWholeValidity(state)
                return .done
            }
            if let writer { self.beginWrite(box, by: writer, in: &state) }
            var destinations = [device]
            var phases = [copies]
            if mode == .input, sharing, let run, run.dependencyMode == .inferred,
                let shared = self.planSharedRead(
                    box,
                    on: device,
                    copies: copies,
                    links: registry.links,
                    run: run.serial,
                    state: state
                )
            {
                do throws(DeviceError) {
                    var othersReady = true
                    for other in shared.devices where other != device {
                        try self.ensureBuffer(&state, on: other, of: registry, run: run)
                        // (A buffer the program shares is made the array's own by that GPU's task.)
                        if Self.bufferIsShared(on: other, in: &state) { othersReady = false }
                    }
                    if othersReady {
                        destinations = shared.devices
                        phases = shared.phases
                    }
                } catch {
                    // Another GPU has no room: this read goes alone (that GPU's task reports it).
                }
            }
            let move = PendingMove(destinations: destinations, box: box, mode: mode, epoch: state.epoch)
            state.moves.append(move)
            let transfers = phases.map { $0.map { Transfer($0, in: state) } }
            return .copy(move, shape: state.coherence.shape, phases: MovePhases(transfers))
        }
    }

    /// Outside the lock: makes a move's copies, phase after phase, and waits for them; then, under the
    /// lock, `commit`s what they did to the protocol and ends the move. Returns whether the copies were
    /// applied: not when an `update` replaced the array meanwhile, nor when a destination buffer was
    /// replaced (a write to another region of it copied a buffer the program shares) and the data must
    /// be copied again.
    @discardableResult
    func carryOut(
        _ move: PendingMove,
        shape: [Int],
        phases: MovePhases,
        run: RunScope?,
        commit: (inout State) -> Void
    ) throws(DeviceError) -> Bool {
        self.checkLockNotHeld(copying: "a region")
        var failure: DeviceError? = nil
        let recorder = run?.recorder
        for phase in phases.phases where failure == nil {
            let started = recorder?._withUnsafeGuaranteedRef { $0.now } ?? 0
            var events: [DeviceEvent] = []
            for transfer in phase {
                do {
                    try Self.copy(
                        transfer.copy.box,
                        shape: shape,
                        from: transfer.source,
                        to: transfer.destination,
                        startingInto: &events
                    )
                } catch {
                    failure = error
                    break
                }
            }
            // Every copy started is waited for, also after a failure: nothing may still write a buffer
            // once the move has ended.
            for event in events {
                do { try event.wait() } catch { failure = failure ?? error }
            }
            if let recorder, failure == nil {
                let ended = recorder._withUnsafeGuaranteedRef { $0.now }
                for transfer in phase {
                    let bytes = transfer.copy.box.count * MemoryLayout<Element>.stride
                    let copy = TracedCopy(
                        source: transfer.copy.source,
                        destination: transfer.copy.destination,
                        bytes: bytes,
                        started: started,
                        ended: ended
                    )
                    recorder._withUnsafeGuaranteedRef { $0.recordCopy(copy) }
                }
            }
        }
        let applied = self.state.withLock { state -> Bool in
            state.moves.removeAll { $0 === move }
            defer { phases.release() }
            // (An `update` since replaced the array: what was copied belongs to its old contents.)
            guard failure == nil, state.epoch == move.epoch,
                phases.phases.joined().allSatisfy({ transfer in
                    state.buffers[transfer.copy.destination]?.memory.allocation === transfer.destination.allocation
                })
            else { return false }
            commit(&state)
            self.publishWholeValidity(state)
            return true
        }
        move.finish()
        if let failure { throw failure }
        if !applied { return false }
        for copy in phases.copies {
            DataMovementLog.record(
                copy.box.count * MemoryLayout<Element>.stride,
                from: copy.source,
                to: copy.destination,
                run: run
            )
        }
        return true
    }

    /// Starts copying the elements of `box` between two whole-array buffers (contiguous, same shape,
    /// given by their memory): one copy per contiguous run of the box, each run's event appended to
    /// `events` as it starts (so that the runs started before a failing one are still waited for).
    static func copy(
        _ box: Box,
        shape: [Int],
        from source: (allocation: DeviceAllocation, elementOffset: Int),
        to destination: (allocation: DeviceAllocation, elementOffset: Int),
        startingInto events: inout [DeviceEvent]
    ) throws(DeviceError) {
        let size = MemoryLayout<Element>.stride
        func run(at offset: Int, count: Int) throws(DeviceError) -> DeviceEvent {
            // The tasks that wrote the source have completed (readers elsewhere wait for writers'
            // completion; accesses outside tasks and evictions wait for running writers).
            try DeviceCopies.copy(
                from: source.allocation,
                at: (source.elementOffset + offset) * size,
                to: destination.allocation,
                at: (destination.elementOffset + offset) * size,
                byteCount: count * size,
                sourceIsSettled: true
            )
        }
        let rank = shape.count
        if rank == 0 {
            events.append(try run(at: 0, count: 1))
            return
        }
        // The run: trailing axes the box covers whole, plus the next axis (partially).
        var runAxis = rank - 1
        while runAxis > 0 && box.lower[runAxis] == 0 && box.upper[runAxis] == shape[runAxis] { runAxis -= 1 }
        let strides = KernelLayout.contiguousStrides(for: shape)
        let runLength = (box.upper[runAxis] - box.lower[runAxis]) * strides[runAxis]
        var index = box.lower
        while true {
            let offset = zip(index, strides).reduce(0) { $0 + $1.0 * $1.1 }
            events.append(try run(at: offset, count: runLength))
            // Next combination of the axes before the run axis.
            var axis = runAxis - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < box.upper[axis] { break }
                index[axis] = box.lower[axis]
                axis -= 1
            }
            if axis < 0 { break }
        }
    }

}

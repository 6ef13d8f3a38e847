import ParlaDevices

extension PArrayStorage {
    /// What `evict` does next.
    private enum EvictionStep: @unchecked Sendable {
        // @unchecked Sendable: the transfers name this array's memories, handed from the lock's holder
        // to the thread that copies between them; the move registered with them keeps others out.
        case refused, evicted
        case wait(PendingMove)
        case unshare(Unsharing)
        /// Copies to the fallback: of what only `device` holds, and of what running writers found only
        /// there before they started (``earlierDataOnly(on:present:in:)``).
        case copy(PendingMove, [Int], MovePhases, sole: [Box], earlier: [Box])
    }

    /// Drops `device`'s copy (see ``PArray/evict(from:keepOneCopy:)``). Waits for running writers and
    /// moves in progress first; the copies that keep data only `device` holds run outside the lock, and
    /// nothing changes unless they all succeed. Their bytes count for `run` (by default, the run the
    /// caller awaits in, if any). Without `waitingForRunningWriters`, tasks writing the array on other
    /// devices go on (the caller knows none writes `device`'s copy: a task pins the copies it uses).
    func evict(
        _ device: Device,
        keepOneCopy: Bool,
        fallback: Device,
        registry: DeviceRegistry,
        run: RunScope? = RunScope.awaiterScope,
        waitingForRunningWriters: Bool = true
    ) throws(DeviceError) -> Bool {
        if waitingForRunningWriters { self.waitForRunningWriters(overlapping: nil) }
        while true {
            let step = try self.state.withLock { (state) throws(DeviceError) -> EvictionStep in
                if let busy = state.moves.first { return .wait(busy) }
                var planned = state.coherence
                guard let copies = planned.evict(device, keepOneCopy: keepOneCopy, fallback: fallback) else {
                    return .refused
                }
                let earlier =
                    waitingForRunningWriters
                    ? []
                    : self.earlierDataOnly(
                        on: device,
                        present: DeviceSet(Set(state.buffers.keys)),
                        fallback: fallback,
                        in: state
                    )
                if copies.isEmpty && earlier.isEmpty {
                    state.coherence = planned
                    state.buffers[device] = nil
                    self.publishWholeValidity(state)
                    return .evicted
                }
                try self.ensureBuffer(&state, on: fallback, of: registry, run: run)
                if Self.bufferIsShared(on: fallback, in: &state) {
                    return .unshare(self.beginUnsharing(on: fallback, in: &state))
                }
                // The fallback becomes the holder of what only `device` had: a move into it, for reading.
                let move = PendingMove(
                    destinations: [fallback],
                    box: state.coherence.whole,
                    mode: .input,
                    epoch: state.epoch
                )
                state.moves.append(move)
                let toFallback = { (box: Box) in CoherenceProtocol.Copy(box: box, source: device, destination: fallback)
                }
                let transfers =
                    copies.map { Transfer($0, in: state) } + earlier.map { Transfer(toFallback($0), in: state) }
                return .copy(
                    move,
                    state.coherence.shape,
                    MovePhases([transfers]),
                    sole: copies.map(\.box),
                    earlier: earlier
                )
            }
            switch step {
            case .refused: return false
            case .evicted: return true
            case .wait(let move): move.waitUntilFinished()
            case .unshare(let unsharing): try self.unshare(unsharing)
            case .copy(let move, let shape, let phases, let sole, let earlier):
                // The fallback now holds what only `device` had too, and running writers fall back on
                // it rather than on `device`; the next round evicts.
                try self.carryOut(move, shape: shape, phases: phases, run: run) { state in
                    for box in sole {
                        _ = state.coherence.access(box, on: fallback, mode: .input)
                    }
                    if !earlier.isEmpty {
                        self.moveEarlierData(
                            of: earlier,
                            from: device,
                            to: fallback,
                            epoch: state.epoch
                        )
                    }
                }
            }
        }
    }
}

extension PArrayStorage {
    /// Parts of the regions that running writers (on other devices) found valid only on `device`, or
    /// on `device` and devices no longer `present`, before they started: what restores the array if
    /// one fails (see `endWrite(by:failed:)`). `device`'s buffer still holds them (the writers write
    /// their own devices' buffers), so evicting it copies them to `fallback` first, except where
    /// `fallback` holds valid data of its own there (a writer running on it: its writes are not
    /// overwritten, and a failure of that writer then keeps them).
    func earlierDataOnly(on device: Device, present: DeviceSet, fallback: Device, in state: borrowing State) -> [Box] {
        let epoch = state.epoch
        return self.runningWriters.withLock { writers in
            var boxes: [Box] = []
            for writer in writers where writer.epoch == epoch {
                for (box, holders) in writer.before where holders.contains(device) {
                    var elsewhere = holders
                    elsewhere.remove(device)
                    elsewhere.mask &= present.mask
                    if elsewhere.mask == 0 && !state.coherence.holdsAny(of: box, on: fallback) { boxes.append(box) }
                }
            }
            return boxes
        }
    }

    /// After ``earlierDataOnly(on:present:in:)``'s parts were copied from `device` to `fallback`:
    /// the running writers whose earlier data they are fall back on `fallback` instead.
    func moveEarlierData(of boxes: [Box], from device: Device, to fallback: Device, epoch: Int) {
        self.runningWriters.withLock { writers in
            for index in writers.indices where writers[index].epoch == epoch {
                writers[index].before = writers[index].before.map { piece in
                    guard piece.holders.contains(device), boxes.contains(piece.box) else { return piece }
                    var holders = piece.holders
                    holders.insert(fallback)
                    return (piece.box, holders)
                }
            }
        }
    }
}

import ParlaDevices

extension PArrayStorage {
    /// What `evict` does next.
    private enum EvictionStep: @unchecked Sendable {
        // @unchecked Sendable: the transfers name this array's memories, handed from the lock's holder
        // to the thread that copies between them; the move registered with them keeps others out.
        case refused, evicted
        case wait(PendingMove)
        case unshare(Unsharing)
        case copy(PendingMove, [Int], [Transfer])
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
                if copies.isEmpty {
                    state.coherence = planned
                    state.buffers[device] = nil
                    self.publishWholeValidity(state)
                    return .evicted
                }
                try Self.ensureBuffer(&state, on: fallback, of: registry)
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
                return .copy(move, state.coherence.shape, copies.map { Transfer($0, in: state) })
            }
            switch step {
            case .refused: return false
            case .evicted: return true
            case .wait(let move): move.waitUntilFinished()
            case .unshare(let unsharing): try self.unshare(unsharing)
            case .copy(let move, let shape, let transfers):
                // The fallback now holds what only `device` had too; the next round evicts.
                try self.carryOut(move, shape: shape, phases: [transfers], run: run) { state in
                    for transfer in transfers {
                        _ = state.coherence.access(transfer.copy.box, on: fallback, mode: .input)
                    }
                }
            }
        }
    }
}

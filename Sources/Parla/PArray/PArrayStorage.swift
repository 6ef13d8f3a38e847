import ParlaDevices
import Synchronization

/// The shared part of a `PArray` and all its views: one buffer per device (allocated on first use,
/// the whole array's shape), the coherence protocol that says which parts of which buffer are valid,
/// and the recent accesses from which dependencies are inferred.
final class PArrayStorage<Element: NDElement>: @unchecked Sendable {
    // @unchecked Sendable: all mutable state is behind `state`, a Mutex of this array alone (copies
    // for one array never wait on another array's lock).

    struct State: ~Copyable {
        var shape: [Int]
        /// The whole array as a box (kept, so that accesses to the whole array allocate none).
        var wholeBox: Box
        var coherence: CoherenceProtocol
        var buffers: [Device: NDArray<Element>]
        /// Accesses by tasks not known to be superseded, for inferring dependencies.
        /// Recent reading-only accesses (conflict only with writes).
        var readers: [RecordedAccess] = []
        /// Recent writing accesses (conflict with everything overlapping).
        var writers: [RecordedAccess] = []
        /// Finished tasks are pruned from a list when it grows past this length (then it doubles).
        var pruneAt = 64
        /// Copies in progress outside the lock, each into one device's buffer.
        var moves: [PendingMove] = []
        /// Raised when `update` replaces the contents: moves of older contents are not applied.
        var epoch = 0

        init(shape: [Int], coherence: CoherenceProtocol, buffers: [Device: NDArray<Element>]) {
            self.shape = shape
            self.wholeBox = Box(shape: shape)
            self.coherence = coherence
            self.buffers = buffers
        }
    }

    let state: Mutex<State>

    /// A name for messages: `PArray<Double>[2, 2] #1`.
    let label: String

    init(wrapping array: NDArray<Element>) {
        let contiguous = array.contiguous()
        defer { self.wholeValidity.publish(WholeValidity.bit(contiguous.device)) }
        self.state = Mutex(
            State(
                shape: contiguous.shape,
                coherence: CoherenceProtocol(shape: contiguous.shape, home: contiguous.device),
                buffers: [contiguous.device: contiguous]
            )
        )
        let number = _PArrayNumbers.next.add(1, ordering: .relaxed).newValue
        self.label = "PArray #\(number) <\(Element.self)>"
    }

    /// The current shape of the whole array.
    var shape: [Int] { self.state.withLock { $0.shape } }

    /// The whole array as a box.
    var wholeBox: Box { self.state.withLock { $0.wholeBox } }

    /// Makes `region` valid on `device` for an access of `mode`: allocates the device's buffer if needed
    /// and copies in the freshest pieces the protocol names (none for `output`).
    ///
    /// The copies run outside the array's lock, so that reads of one array on several devices move
    /// their data at the same time; a read into a device that a move is already filling waits for that
    /// move instead. The protocol's state changes only once every copy has completed: when one fails
    /// (or the buffer cannot be allocated), the array is as it was, and the error is thrown.
    ///
    /// - Parameters:
    ///   - region: the region (computed only past the fast path: a view's region takes the lock).
    ///   - links: how fast each link is (the protocol fetches each piece over the fastest).
    ///   - run: the run whose movement log counts the bytes.
    ///   - isObsolete: checked under the lock before anything is planned: when it says so, nothing
    ///     moves (a prefetch whose task has started).
    func prepare(
        _ region: @autoclosure () -> Box,
        on device: Device,
        mode: AccessMode,
        links: DeviceLinks,
        run: RunScope?,
        isObsolete: (() -> Bool)? = nil
    ) throws(DeviceError) {
        // Fast path without the lock: reading where the whole array is already valid changes nothing
        // (many workers preparing one array would otherwise queue on its lock).
        if mode == .input && isObsolete == nil && self.wholeValidity.isValid(on: device) { return }
        let box = region()
        while true {
            switch try self.plan(box, on: device, mode: mode, links: links, isObsolete: isObsolete) {
            case .done:
                return
            case .wait(let move):
                move.waitUntilFinished()
            case .copy(let move, let shape, let transfers):
                let applied = try self.carryOut(move, shape: shape, transfers: transfers, run: run) { state in
                    _ = state.coherence.access(move.box, on: move.destination, mode: move.mode)
                }
                if applied { return }
            }
        }
    }

    /// What ``prepare(_:on:mode:links:run:isObsolete:)`` does next.
    private enum PreparationStep: @unchecked Sendable {
        // @unchecked Sendable: the buffers are NDArrays of this array, handed from the lock's holder to
        // the thread that copies between them; the move registered with them keeps others out.
        case done
        case wait(PendingMove)
        case copy(PendingMove, shape: [Int], transfers: [Transfer])
    }

    /// One copy of a move, with the memories of the two whole-array buffers it goes between (not the
    /// buffers: holding one would make the next write to it copy it, leaving the move behind).
    struct Transfer {
        let copy: CoherenceProtocol.Copy
        let source: (allocation: DeviceAllocation, elementOffset: Int)
        let destination: (allocation: DeviceAllocation, elementOffset: Int)

        init(_ copy: CoherenceProtocol.Copy, from source: NDArray<Element>, to destination: NDArray<Element>) {
            self.copy = copy
            self.source = source.memory
            self.destination = destination.memory
        }
    }

    /// Under the lock: applies the access when it needs no copy; otherwise allocates the buffers and
    /// registers the move (or finds the move to wait for first).
    private func plan(
        _ box: Box,
        on device: Device,
        mode: AccessMode,
        links: DeviceLinks,
        isObsolete: (() -> Bool)?
    ) throws(DeviceError) -> PreparationStep {
        try self.state.withLock { (state) throws(DeviceError) -> PreparationStep in
            if let isObsolete, isObsolete() { return .done }
            // A move into this device's buffer may replace the buffer (below): one at a time. A write
            // also waits for moves that read or fill the region elsewhere.
            if let busy = state.moves.first(where: { $0.blocks(box, on: device, writing: mode.writes) }) {
                return .wait(busy)
            }
            var planned = state.coherence
            let copies = planned.access(box, on: device, mode: mode, links: links)
            try Self.ensureBuffer(&state, on: device)
            if mode.writes || !copies.isEmpty {
                // Written below or by the task: the buffer must not be shared with an NDArray the program
                // holds (a wrapped array, or an earlier `.array`).
                state.buffers[device]!._ensureUniqueStorage()
            }
            if copies.isEmpty {
                state.coherence = planned
                self.publishWholeValidity(state)
                return .done
            }
            let move = PendingMove(destination: device, box: box, mode: mode, epoch: state.epoch)
            state.moves.append(move)
            let transfers = copies.map { Transfer($0, from: state.buffers[$0.source]!, to: state.buffers[device]!) }
            return .copy(move, shape: state.shape, transfers: transfers)
        }
    }

    /// Outside the lock: makes a move's copies and waits for them; then, under the lock, `commit`s what
    /// they did to the protocol and ends the move. Returns whether the copies were applied: not when an
    /// `update` replaced the array meanwhile, nor when the destination buffer was replaced (a write to
    /// another region of it copied a buffer the program shares) and the data must be copied again.
    @discardableResult
    func carryOut(
        _ move: PendingMove,
        shape: [Int],
        transfers: [Transfer],
        run: RunScope?,
        commit: (inout State) -> Void
    ) throws(DeviceError) -> Bool {
        var failure: DeviceError? = nil
        var events: [DeviceEvent] = []
        for transfer in transfers {
            do {
                events += try Self.copy(
                    transfer.copy.box,
                    shape: shape,
                    from: transfer.source,
                    to: transfer.destination
                )
            } catch {
                failure = error
                break
            }
        }
        // Every copy started is waited for, also after a failure: nothing may still write the buffer
        // once the move has ended.
        for event in events {
            do { try event.wait() } catch { failure = failure ?? error }
        }
        let applied = self.state.withLock { state -> Bool in
            state.moves.removeAll { $0 === move }
            // (An `update` since replaced the array: what was copied belongs to its old contents.)
            guard failure == nil, state.epoch == move.epoch,
                let buffer = state.buffers[move.destination],
                transfers.allSatisfy({ $0.destination.allocation === buffer.memory.allocation })
            else { return false }
            commit(&state)
            self.publishWholeValidity(state)
            return true
        }
        move.finish()
        if let failure { throw failure }
        if !applied { return false }
        for transfer in transfers {
            DataMovementLog.record(
                transfer.copy.box.count * MemoryLayout<Element>.stride,
                from: transfer.copy.source,
                to: transfer.copy.destination,
                run: run
            )
        }
        return true
    }

    /// The device's buffer, allocated (uninitialized: the protocol knows nothing there is valid).
    static func ensureBuffer(_ state: inout State, on device: Device) throws(DeviceError) {
        if state.buffers[device] != nil { return }
        let backend = try DeviceRegistry.current.backend(for: device)
        state.buffers[device] = try NDArray<Element>(uninitializedShape: state.shape, on: backend)
    }

    /// Starts copying the elements of `box` between two whole-array buffers (contiguous, same shape,
    /// given by their memory): one copy per contiguous run of the box.
    static func copy(
        _ box: Box,
        shape: [Int],
        from source: (allocation: DeviceAllocation, elementOffset: Int),
        to destination: (allocation: DeviceAllocation, elementOffset: Int)
    ) throws(DeviceError) -> [DeviceEvent] {
        let size = MemoryLayout<Element>.stride
        func run(at offset: Int, count: Int) throws(DeviceError) -> DeviceEvent {
            try DeviceCopies.copy(
                from: source.allocation,
                at: (source.elementOffset + offset) * size,
                to: destination.allocation,
                at: (destination.elementOffset + offset) * size,
                byteCount: count * size
            )
        }
        let rank = shape.count
        if rank == 0 { return [try run(at: 0, count: 1)] }
        // The run: trailing axes the box covers whole, plus the next axis (partially).
        var runAxis = rank - 1
        while runAxis > 0 && box.lower[runAxis] == 0 && box.upper[runAxis] == shape[runAxis] { runAxis -= 1 }
        let strides = KernelLayout.contiguousStrides(for: shape)
        let runLength = (box.upper[runAxis] - box.lower[runAxis]) * strides[runAxis]
        var events: [DeviceEvent] = []
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
        return events
    }

    /// Forgets every copy and keeps `array` (on its device) as the only one.
    func replace(with array: NDArray<Element>) {
        let contiguous = array.contiguous()
        self.state.withLock { state in
            state.epoch += 1
            state.shape = contiguous.shape
            state.wholeBox = Box(shape: contiguous.shape)
            state.coherence = CoherenceProtocol(shape: contiguous.shape, home: contiguous.device)
            state.buffers = [contiguous.device: contiguous]
            self.publishWholeValidity(state)
        }
    }

    /// Per device: whether the whole array is valid there and its buffer exists.
    let wholeValidity = WholeValidity()

    /// Recomputes ``wholeValidity`` (called with the lock held).
    func publishWholeValidity(_ state: borrowing State) {
        var mask: UInt64 = 0
        let whole = state.coherence.whole
        for device in state.buffers.keys where state.coherence.state(of: whole, on: device) != .invalid {
            mask |= WholeValidity.bit(device)
        }
        self.wholeValidity.publish(mask)
    }

    /// The earlier accesses a new one conflicts with (overlapping, at least one writing), recording the
    /// new one. `box` `nil` means the whole array. With `keepFinished`, finished tasks stay recorded
    /// (`.explicit` mode checks races with them too, however the timing went). Accesses of earlier runs
    /// are dropped: those runs have finished.
    func inferDependencies(
        of task: TaskRecord,
        generation: UInt32,
        run: Int,
        box: Box?,
        mode: AccessMode,
        keepFinished: Bool
    ) -> [AccessConflict] {
        self.state.withLock { state in
            let box = box ?? state.wholeBox
            var conflicts: [AccessConflict] = []
            var sawEarlierRun = false
            for access in state.writers where access.task !== task && access.box.intersection(box) != nil {
                if access.run != run {
                    sawEarlierRun = true
                    continue
                }
                conflicts.append(AccessConflict(task: access.task, generation: access.generation, mode: access.mode))
            }
            if mode.writes {
                for access in state.readers where access.task !== task && access.box.intersection(box) != nil {
                    if access.run != run {
                        sawEarlierRun = true
                        continue
                    }
                    conflicts.append(
                        AccessConflict(task: access.task, generation: access.generation, mode: access.mode)
                    )
                }
                // Accesses this write covers are ordered before it; later accesses conflict with it instead.
                Self.remove(from: &state.readers) { box.contains($0.box) }
                Self.remove(from: &state.writers) { box.contains($0.box) }
                state.writers.append(RecordedAccess(task: task, generation: generation, run: run, box: box, mode: mode))
            } else {
                state.readers.append(RecordedAccess(task: task, generation: generation, run: run, box: box, mode: mode))
            }
            if sawEarlierRun {
                Self.remove(from: &state.readers) { $0.run != run }
                Self.remove(from: &state.writers) { $0.run != run }
            }
            if !keepFinished && state.readers.count + state.writers.count > state.pruneAt {
                // Finished tasks order nothing new. Pruning only past a growing threshold keeps the
                // cost per access constant on average.
                Self.remove(from: &state.readers) { $0.task.isCompleted(generation: $0.generation) }
                Self.remove(from: &state.writers) { $0.task.isCompleted(generation: $0.generation) }
                state.pruneAt = Swift.max(64, 2 * (state.readers.count + state.writers.count))
            }
            return conflicts
        }
    }
}

extension PArrayStorage {
    /// Removes the accesses `shouldRemove` picks, keeping the others in order, in place.
    @inline(__always)
    static func remove(from list: inout [RecordedAccess], where shouldRemove: (RecordedAccess) -> Bool) {
        var kept = 0
        for index in list.indices where !shouldRemove(list[index]) {
            if kept != index { list.swapAt(kept, index) }
            kept += 1
        }
        if kept < list.count { list.removeLast(list.count - kept) }
    }
}

/// A task's access to an array, remembered to order later conflicting accesses after it. (Not nested
/// in the generic `PArrayStorage`: a nested type is generic too, and its copies went through value
/// witnesses.)
struct RecordedAccess {
    /// The task's record, and which use of it (a record reused since means the task finished).
    var task: TaskRecord
    var generation: UInt32
    /// The run it belongs to (``RunScope/serial``): earlier runs have finished.
    var run: Int
    var box: Box
    var mode: AccessMode
}

/// An earlier access that a new one conflicts with: the task (the use `generation` of its record) and
/// how it accessed the array.
struct AccessConflict {
    var task: TaskRecord
    var generation: UInt32
    var mode: AccessMode
}

/// Numbers PArrays for messages.
enum _PArrayNumbers {
    static let next = Atomic<Int>(0)
}

extension NDArray {
    /// A whole-array buffer of `shape` on `backend`'s device, its elements not initialized.
    init(uninitializedShape shape: [Int], on backend: any DeviceBackend) throws(DeviceError) {
        self = try NDArray._allocate(shape: shape, on: backend)
    }
}

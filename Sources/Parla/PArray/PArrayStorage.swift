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
        /// Tasks running now that write the array, with their regions (see `beginWrite`).
        var runningWriters: [RunningWriter] = []

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

    /// The device's buffer, allocated on `registry`'s device (uninitialized: the protocol knows nothing
    /// there is valid).
    static func ensureBuffer(_ state: inout State, on device: Device, of registry: DeviceRegistry) throws(DeviceError) {
        if state.buffers[device] != nil { return }
        let backend = try registry.backend(for: device)
        state.buffers[device] = try NDArray<Element>(uninitializedShape: state.shape, on: backend)
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
    /// (`.explicit` mode checks races with them too, however the timing went). Accesses of other runs
    /// are dropped; an unfinished one (of a run still in progress) is returned as a conflict marked
    /// ``AccessConflict/isOfAnotherRun``, which fails the new task: two runs may not share an array.
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
                    if !access.task.isCompleted(generation: access.generation) {
                        conflicts.append(AccessConflict(access, ofAnotherRun: true))
                    }
                    continue
                }
                conflicts.append(AccessConflict(task: access.task, generation: access.generation, mode: access.mode))
            }
            if mode.writes {
                for access in state.readers where access.task !== task && access.box.intersection(box) != nil {
                    if access.run != run {
                        sawEarlierRun = true
                        if !access.task.isCompleted(generation: access.generation) {
                            conflicts.append(AccessConflict(access, ofAnotherRun: true))
                        }
                        continue
                    }
                    conflicts.append(
                        AccessConflict(task: access.task, generation: access.generation, mode: access.mode)
                    )
                }
                // Accesses this write covers are ordered before it; later accesses conflict with it instead.
                Self.remove(from: &state.readers) { box.contains($0.box) }
                Self.remove(from: &state.writers) { box.contains($0.box) }
                state.writers.append(
                    RecordedAccess(task: task, generation: generation, run: run, box: box, mode: mode, device: nil)
                )
            } else {
                var device: Device? = nil
                if case .one(let placed) = task.placement { device = placed }
                state.readers.append(
                    RecordedAccess(task: task, generation: generation, run: run, box: box, mode: mode, device: device)
                )
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
    /// For a reader, the one device its task may run on, if it has one (read at spawn, where the
    /// record's placement may be read).
    var device: Device?
}

/// An earlier access that a new one conflicts with: the task (the use `generation` of its record) and
/// how it accessed the array.
struct AccessConflict {
    var task: TaskRecord
    var generation: UInt32
    var mode: AccessMode
    /// Whether the task belongs to another run still in progress (which nothing can order against).
    var isOfAnotherRun = false

    init(task: TaskRecord, generation: UInt32, mode: AccessMode) {
        self.task = task
        self.generation = generation
        self.mode = mode
    }

    init(_ access: RecordedAccess, ofAnotherRun: Bool) {
        self.init(task: access.task, generation: access.generation, mode: access.mode)
        self.isOfAnotherRun = ofAnotherRun
    }
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

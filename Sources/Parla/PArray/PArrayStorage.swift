import ParlaDevices
import Synchronization

/// The shared part of a `PArray` and all its views: one buffer per device (allocated on first use,
/// the whole array's shape), the coherence protocol that says which parts of which buffer are valid,
/// and the recent accesses from which dependencies are inferred.
final class PArrayStorage<Element: NDElement>: @unchecked Sendable {
    // @unchecked Sendable: all mutable state is behind this array's own locks (`state`, and the
    // smaller `runningWriters`, `history` and `currentShape`); copies for one array never wait on
    // another array's lock.

    struct State: ~Copyable {
        /// Which devices hold valid copies of which parts (and the array's shape: `coherence.shape`).
        var coherence: CoherenceProtocol
        var buffers: [Device: NDArray<Element>]
        /// Copies in progress outside the lock, each into one device's buffer.
        var moves: [PendingMove] = []
        /// Raised when `update` replaces the contents: moves of older contents are not applied.
        var epoch = 0

        init(coherence: CoherenceProtocol, buffers: [Device: NDArray<Element>]) {
            self.coherence = coherence
            self.buffers = buffers
        }
    }

    let state: AdaptiveMutex<State>

    /// Tasks running now that write the array, with their regions (see `beginWrite`). A lock of its
    /// own, so that a task ending does not wait for the workers moving the array's data (taken after
    /// `state` where both are needed, never before).
    let runningWriters = AdaptiveMutex<[RunningWriter]>([])

    /// The accesses by tasks not known to be superseded, for inferring dependencies. A lock of its
    /// own: spawning a task records its accesses here without waiting for the workers that move the
    /// array's data (taken after `state` where both are needed, never before).
    let history: AdaptiveMutex<AccessHistory>

    /// A name for messages: `PArray<Double>[2, 2] #1`.
    let label: String

    init(wrapping array: NDArray<Element>) {
        let contiguous = array.contiguous()
        // The runtime's moves read a buffer without waiting for work queued on its device (the tasks
        // that write buffers complete first): an array some queued kernel still produces is waited for.
        Self.waitForQueuedWork(on: contiguous)
        defer { self.wholeValidity.publish(DeviceSet(contiguous.device)) }
        self.state = AdaptiveMutex(
            State(
                coherence: CoherenceProtocol(shape: contiguous.shape, home: contiguous.device),
                buffers: [contiguous.device: contiguous]
            )
        )
        self.history = AdaptiveMutex(AccessHistory(rank: contiguous.shape.count))
        self.currentShape = AdaptiveMutex(contiguous.shape)
        let number = _PArrayNumbers.next.add(1, ordering: .relaxed).newValue
        self.label = "PArray #\(number) <\(Element.self)>"
    }

    /// The current shape of the whole array.
    var shape: [Int] { self.currentShape.withLock { $0 } }

    /// The shape behind a lock of its own (`state.coherence.shape` is the same): making a view reads
    /// it, with ``shapeVersion``, without waiting for the workers that hold `state` (changed under
    /// both, `state` first).
    let currentShape: AdaptiveMutex<[Int]>

    /// The shape and its ``shapeVersion``, read together.
    var shapeAndVersion: (shape: [Int], version: Int) {
        self.currentShape.withLock { ($0, self.shapeVersion.load(ordering: .relaxed)) }
    }

    /// The device's buffer, allocated on `registry`'s device (uninitialized: the protocol knows nothing
    /// there is valid) unless it has one; `run`'s books record it (see
    /// `RunScope.allocateResident(_:on:_:)`).
    func ensureBuffer(
        _ state: inout State,
        on device: Device,
        of registry: DeviceRegistry,
        run: RunScope?
    ) throws(DeviceError) {
        if state.buffers[device] != nil { return }
        let backend = try registry.backend(for: device)
        let shape = state.coherence.shape
        guard let run else {
            state.buffers[device] = try NDArray<Element>(uninitializedShape: shape, on: backend)
            return
        }
        try run.allocateResident(self, on: device) { () throws(DeviceError) in
            state.buffers[device] = try NDArray<Element>(uninitializedShape: shape, on: backend)
        }
    }

    /// Index nodes and entries the array's coherence protocol and dependency inference have looked at
    /// so far (for tests of the cost per access).
    var bookkeepingVisits: Int {
        self.state.withLock { $0.coherence.visits } + self.history.withLock { $0.visits }
    }

    /// Whether `device`'s buffer is shared with an `NDArray` the program holds (a wrapped array, an
    /// earlier `.array`): before anything writes into it, it must become this array's own, by a copy
    /// made outside the lock (``beginUnsharing(on:in:)``). (Through the dictionary's values: its
    /// optional subscript's accessor allocated a frame on every use.)
    static func bufferIsShared(on device: Device, in state: inout State) -> Bool {
        guard let index = state.buffers.index(forKey: device) else { return false }
        return state.buffers.values[index].storageIsShared()
    }

    /// Under the lock: registers the move that keeps other accesses out of `device`'s shared buffer
    /// while ``unshare(_:)`` copies it, outside the lock.
    func beginUnsharing(on device: Device, in state: inout State) -> Unsharing {
        let move = PendingMove(destinations: [device], box: state.coherence.whole, mode: .input, epoch: state.epoch)
        state.moves.append(move)
        return Unsharing(move: move, device: device, buffer: state.buffers[device]!)
    }

    /// Stops (in builds with internal checks) when the calling thread holds the array's lock while it
    /// makes or waits for copies: every other task of the array would wait for them.
    @inline(__always)
    func checkLockNotHeld(copying what: @autoclosure () -> String) {
        parlaInvariant(
            !self.state.isHeldByCurrentThread,
            "copies of \(what()) of \(self.label) were made with the array's lock held"
        )
    }

    /// A shared buffer being copied into memory of the array's own (see ``unshare(_:)``).
    struct Unsharing: @unchecked Sendable {
        // @unchecked Sendable: handed from the lock's holder to the same thread, outside the lock.
        let move: PendingMove
        let device: Device
        let buffer: NDArray<Element>
    }

    /// Outside the lock: copies a shared buffer into memory of the array's own, then installs the copy
    /// (unless an `update` replaced the array, or the buffer was replaced, meanwhile) and ends the move
    /// that kept other accesses to the buffer waiting. The copy is made without the array's lock held,
    /// so that no other task of the array waits for it unless it needs that very buffer.
    func unshare(_ unsharing: Unsharing) throws(DeviceError) {
        self.checkLockNotHeld(copying: "a shared buffer")
        var copy = unsharing.buffer
        var failure: DeviceError? = nil
        do throws(DeviceError) {
            // (`copy` shares the storage with the state's buffer: it is always copied.)
            try copy.makeStorageUnique()
            // On a GPU the copy is a kernel queued on the device, which copies into the new buffer on
            // other streams (the moves of other regions) do not wait for: it finishes first.
            let backend = copy.memory.allocation.backend
            if backend.completesAsynchronously { try backend.completionOfQueuedWork().wait() }
        } catch {
            failure = error
        }
        self.state.withLock { state in
            state.moves.removeAll { $0 === unsharing.move }
            guard failure == nil, state.epoch == unsharing.move.epoch,
                let index = state.buffers.index(forKey: unsharing.device),
                state.buffers.values[index].memory.allocation === unsharing.buffer.memory.allocation
            else { return }
            state.buffers.values[index] = copy
        }
        unsharing.move.finish()
        if let failure { throw failure }
    }

    /// Forgets every copy and keeps `array` (on its device) as the only one.
    func replace(with array: NDArray<Element>) {
        let contiguous = array.contiguous()
        // (Inside a task, the task's completion waits for its work; other tasks read after it.)
        if RunScope.currentTask == nil { Self.waitForQueuedWork(on: contiguous) }
        self.state.withLock { state in
            state.epoch += 1
            if state.coherence.shape != contiguous.shape {
                self.currentShape.withLock { current in
                    current = contiguous.shape
                    self.shapeVersion.add(1, ordering: .releasing)
                }
            }
            state.coherence = CoherenceProtocol(shape: contiguous.shape, home: contiguous.device)
            state.buffers = [contiguous.device: contiguous]
            self.publishWholeValidity(state)
        }
    }

    /// Waits until the work queued on `array`'s device (which may still produce it) has run. A device
    /// failure is left for the operations that use the array to report.
    static func waitForQueuedWork(on array: NDArray<Element>) {
        let backend = array.memory.allocation.backend
        guard backend.completesAsynchronously else { return }
        _ = try? backend.completionOfQueuedWork().wait()
    }

    /// Per device: whether the whole array is valid there and its buffer exists.
    let wholeValidity = WholeValidity()

    /// Moves (under both locks) when `update` changes the shape, so that views know, without the lock,
    /// whether the region they computed still stands.
    let shapeVersion = Atomic<Int>(0)

    /// Recomputes ``wholeValidity`` (called with the lock held).
    func publishWholeValidity(_ state: borrowing State) {
        var devices = DeviceSet()
        for device in state.buffers.keys where state.coherence.holdsWhole(on: device) { devices.insert(device) }
        self.wholeValidity.publish(devices)
    }

    /// The earlier accesses a new one of `box` (the whole array when `isWhole`) conflicts with (see
    /// ``AccessHistory/record(_:isWhole:mode:by:generation:run:device:keepFinished:)``), recording the
    /// new one; with `upcomingOrder` (the task's spawn order), also as a use to come (see
    /// ``UpcomingUses``).
    func inferDependencies(
        of task: TaskRecord,
        generation: UInt32,
        run: Int,
        box: Box,
        isWhole: Bool,
        mode: AccessMode,
        keepFinished: Bool,
        upcomingOrder: UInt64?
    ) -> [AccessConflict] {
        // A reader's one device, if it has one (read here, at spawn, where the placement may be read).
        var device: Device? = nil
        if !mode.writes, case .one(let placed) = task.placement { device = placed }
        return self.history.withLock { history in
            if let upcomingOrder { history.upcoming.append(order: upcomingOrder, task: task, generation: generation) }
            return history.record(
                box,
                isWhole: isWhole,
                mode: mode,
                by: task,
                generation: generation,
                run: run,
                device: device,
                keepFinished: keepFinished
            )
        }
    }
}

/// Numbers PArrays for messages.
enum _PArrayNumbers {
    static let next = Atomic<Int>(0)
}

extension NDArray {
    /// A whole-array buffer of `shape` on `backend`'s device, its elements not initialized.
    init(uninitializedShape shape: [Int], on backend: any DeviceBackend) throws(DeviceError) {
        self = try NDArray.allocate(shape: shape, on: backend)
    }
}

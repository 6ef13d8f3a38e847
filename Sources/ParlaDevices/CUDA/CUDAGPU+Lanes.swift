import CCUDADriver
import Synchronization

/// Compute lanes: streams of their own for tasks that share a GPU (tasks that declare `vcus` or
/// `memory`), so that their kernels run at the same time instead of one after the other on the GPU's
/// compute stream.
///
/// The compute stream stays the GPU's backbone: copies, frees and task completions are ordered by
/// it. A lane forks from it when its task's body starts (the lane waits for everything queued on the
/// compute stream by then: the task's data moved in, earlier tasks' work) and joins it when the body
/// returns (the compute stream waits for the lane's work). In between, the lane's thread launches its
/// kernels and library calls on the lane; whenever it orders anything against the compute stream
/// (a copy out of the GPU, a free, a status word), the lane joins first, and whatever the compute
/// stream is made to wait for, the lane waits for too. A reused block's fence is waited for by the
/// lane before the lane can touch the block. So every rule the backend keeps for the compute stream
/// holds for the lane's work too, and lanes overlap only with each other and with later work.
///
/// Parla (Python) equivalent: the per-task CuPy streams of colocated tasks (lesson 5).
extension CUDAGPU {
    /// At most this many lanes per GPU; a task that finds them all taken runs on the compute stream.
    static let laneLimit = 8

    /// A lane for a task's body (1 or more), forked from the compute stream, or 0 when every lane is
    /// taken (the body's work then goes on the compute stream).
    package func openLane() throws(DeviceError) -> Int {
        let lane = try self.lanes.withLock { (lanes) throws(DeviceError) -> Int in
            if let free = lanes.free.popLast() { return free }
            guard lanes.streams.count < Self.laneLimit else { return 0 }
            try self.makeCurrent()
            lanes.streams.append(try self.driver.createStream(device: self.device))
            return lanes.streams.count
        }
        guard lane > 0 else { return 0 }
        do {
            try self.makeCurrent()
            let forked = try CUDAEvent(gpu: self)
            try self.driver.record(forked.handle, on: self.stream(.compute), device: self.device)
            try self.driver.makeStream(self.laneStream(lane), wait: forked.handle, device: self.device)
        } catch {
            self.lanes.withLock { $0.free.append(lane) }
            throw error
        }
        return lane
    }

    /// Joins `lane` into the compute stream (which then waits for the lane's work) and gives the lane
    /// back; the task's completion follows the compute stream from then on.
    /// (A lane whose join failed is not used again: later fences would not cover its work.)
    package func closeLane(_ lane: Int) throws(DeviceError) {
        guard lane > 0 else { return }
        try self.join(lane)
        self.lanes.withLock { $0.free.append(lane) }
    }

    /// Makes the compute stream wait for the work queued on `lane` so far.
    ///
    /// The wait counts as an operation queued on the compute stream: the lane's launches were counted
    /// before they were on it, and an event another task's completion recorded meanwhile (on the
    /// compute stream alone) counts them as finished; only an event after this wait may.
    func join(_ lane: Int) throws(DeviceError) {
        try self.makeCurrent()
        let joined = try CUDAEvent(gpu: self)
        try self.driver.record(joined.handle, on: self.laneStream(lane), device: self.device)
        try self.driver.makeStream(self.stream(.compute), wait: joined.handle, device: self.device)
        self.noteQueuedOnComputeStream()
    }

    /// The stream of `lane` (1 or more).
    func laneStream(_ lane: Int) -> CUstream {
        self.lanes.withLock { $0.streams[lane - 1] }
    }

    /// The stream of `lane`, the compute stream for 0.
    func stream(ofLane lane: Int) -> CUstream {
        lane == 0 ? self.stream(.compute) : self.laneStream(lane)
    }

    /// The lane of the task body running on the calling thread, when that lane is this GPU's (0:
    /// none, or the compute stream).
    var currentLane: Int {
        let tag: ComputeLaneTag
        if let context = TaskContext.current, context.device != nil {
            tag = context.lane
        } else if let thread = ThreadContext.unretained {
            tag = thread._withUnsafeGuaranteedRef { $0.lane }
        } else {
            return 0
        }
        return tag.owner == ObjectIdentifier(self) ? tag.number : 0
    }

    /// The tag of this GPU's `lane`, for a task body's context.
    package func laneTag(_ lane: Int) -> ComputeLaneTag {
        lane == 0 ? .none : ComputeLaneTag(number: lane, owner: ObjectIdentifier(self))
    }

    /// The stream the calling thread's kernels and library calls go on: its task's lane, else the
    /// compute stream.
    var launchStream: CUstream { self.stream(ofLane: self.currentLane) }
}

/// A GPU's lane streams, made on first use and kept, and those not in use.
struct LaneStreams: @unchecked Sendable {
    // @unchecked Sendable: opaque stream handles of the GPU's context, used under its `lanes` lock.
    var streams: [CUstream] = []
    var free: [Int] = []
}

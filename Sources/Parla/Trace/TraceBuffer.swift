import Synchronization

/// One thread's events of one traced run, a list per kind. Appended to only by its thread, without a
/// lock.
final class TraceBuffer: @unchecked Sendable {
    // @unchecked Sendable: appended to only by the one thread it belongs to (a worker's, by its number,
    // or the thread that registered it), and read or emptied only once the run has ended, after
    // every append (see `TraceRecorder.buffers`).

    /// (Padding on both sides: the buffers of different workers, made one after the other, would
    /// otherwise share cache lines, and each append writes its list's count.)
    private let leadingPadding: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    @exclusivity(unchecked) var spawns = ChunkedEvents<TaskSpawned>()
    @exclusivity(unchecked) var starts = ChunkedEvents<TaskStarted>()
    @exclusivity(unchecked) var ends = ChunkedEvents<TaskEnded>()
    @exclusivity(unchecked) var copies = ChunkedEvents<TracedCopy>()
    @exclusivity(unchecked) var dependencies = ChunkedEvents<TracedDependency>()
    private let trailingPadding: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)

    /// Lets go of every event (their chunks go back to the pool).
    func removeAll() {
        self.spawns.removeAll()
        self.starts.removeAll()
        self.ends.removeAll()
        self.copies.removeAll()
        self.dependencies.removeAll()
    }
}

/// Events of one kind in chunks of ``TraceChunkPool`` memory: an append stores the event and counts it
/// (no reference counted, no copy-on-write check, no reallocation: what is recorded never moves).
struct ChunkedEvents<Event>: ~Copyable {
    /// The full chunks, each of ``capacity`` events.
    private var full: [UnsafeMutablePointer<Event>] = []
    /// The chunk being filled (`nil` before the first event).
    private var current: UnsafeMutablePointer<Event>? = nil
    /// The events in `current` (``capacity`` when there is none, so that the first append takes one).
    private var count = Self.capacity

    /// Events per chunk.
    static var capacity: Int { TraceChunkPool.chunkBytes / MemoryLayout<Event>.stride }

    init() {}

    deinit { self.giveBackChunks() }

    @inline(__always)
    mutating func append(_ event: Event) {
        if self.count == Self.capacity { self.startChunk() }
        // (A chunk is current once one append has started it.)
        (self.current.unsafelyUnwrapped + self.count).initialize(to: event)
        self.count += 1
    }

    /// Files the current chunk (if any) among the full ones and takes an empty one.
    @inline(never)
    private mutating func startChunk() {
        precondition(Self.capacity > 0, "a trace event of \(MemoryLayout<Event>.stride) bytes does not fit in a chunk")
        if let current = self.current { self.full.append(current) }
        self.current = TraceChunkPool.take().bindMemory(to: Event.self, capacity: Self.capacity)
        self.count = 0
    }

    /// Calls `body` with every event, in the order they were recorded.
    func forEachEvent(_ body: (Event) -> Void) {
        for chunk in self.full {
            for index in 0..<Self.capacity { body(chunk[index]) }
        }
        if let current = self.current {
            for index in 0..<self.count { body(current[index]) }
        }
    }

    /// Lets go of every event; the chunks go back to the pool.
    mutating func removeAll() {
        self.giveBackChunks()
        self.full = []
        self.current = nil
        self.count = Self.capacity
    }

    private func giveBackChunks() {
        for chunk in self.full {
            chunk.deinitialize(count: Self.capacity)
            TraceChunkPool.giveBack(UnsafeMutableRawPointer(chunk))
        }
        if let current = self.current {
            current.deinitialize(count: self.count)
            TraceChunkPool.giveBack(UnsafeMutableRawPointer(current))
        }
    }
}

/// The memory trace events are recorded into, in chunks of one size, kept between traced runs (up to
/// ``keptBytes``): a run that follows a traced run records into memory already mapped, instead of
/// taking a page fault every few dozen tasks.
enum TraceChunkPool {
    /// The size of a chunk.
    static var chunkBytes: Int { 64 << 10 }
    /// The most memory kept for later runs.
    static var keptBytes: Int { 16 << 20 }

    /// Chunks given back, for the next ones taken.
    private static let free = Mutex<[FreeChunk]>([])

    /// A chunk no list holds.
    private struct FreeChunk: @unchecked Sendable {
        // @unchecked Sendable: memory no thread uses while it is in the pool.
        let memory: UnsafeMutableRawPointer
    }

    /// A chunk, from the pool or new.
    static func take() -> UnsafeMutableRawPointer {
        Self.free.withLock { $0.popLast()?.memory } ?? .allocate(byteCount: Self.chunkBytes, alignment: 64)
    }

    /// Returns `chunk` to the pool, or frees it when the pool is full.
    static func giveBack(_ chunk: UnsafeMutableRawPointer) {
        let kept = Self.free.withLock { free -> Bool in
            guard free.count < Self.keptBytes / Self.chunkBytes else { return false }
            free.append(FreeChunk(memory: chunk))
            return true
        }
        if !kept { chunk.deallocate() }
    }
}

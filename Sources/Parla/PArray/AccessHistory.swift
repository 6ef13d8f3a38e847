/// The accesses to one array that may still order later tasks, from which a new access's dependencies
/// are inferred: the recent writes of each region, and the reads since. Accesses to regions are kept
/// in spatial indexes (``BoxTree``), so a task accessing one row of an array whose other 100,000 rows
/// have their own tasks looks at the few accesses near its row, not at all of them. Accesses to the
/// whole array meet every other access, so they are kept in plain lists, where recording one
/// allocates nothing most of the time.
struct AccessHistory {
    /// Reading-only accesses of regions (conflict only with writes).
    private(set) var readers: BoxTree<RecordedAccess>
    /// Writing accesses of regions (conflict with everything overlapping).
    private(set) var writers: BoxTree<RecordedAccess>
    /// Reading-only accesses of the whole array.
    private(set) var wholeReaders: [RecordedAccess] = []
    /// Writing accesses of the whole array.
    private(set) var wholeWriters: [RecordedAccess] = []
    /// Finished tasks are pruned when the accesses grow past this number (then it doubles).
    private var pruneAt = 64
    /// Index entries looked at by searches, and by indexes since replaced.
    private var searchVisits = 0
    /// The tasks spawned and not started that will use the array (recorded only in runs whose devices
    /// may evict it): when it is next needed.
    var upcoming = UpcomingUses()

    /// No accesses yet, to an array of `rank` axes.
    init(rank: Int) {
        self.readers = BoxTree(rank: rank)
        self.writers = BoxTree(rank: rank)
    }

    /// Index nodes and entries looked at so far (for tests of the cost per access).
    var visits: Int { self.searchVisits + self.readers.visits + self.writers.visits }

    /// The number of accesses remembered.
    var count: Int { self.readers.count + self.writers.count + self.wholeReaders.count + self.wholeWriters.count }

    /// The earlier accesses a new one (by `task`, use `generation` of its record, in run `run`) of
    /// `box` (the whole array when `isWhole`) conflicts with (overlapping, at least one writing),
    /// recording the new one. With `keepFinished`, finished tasks stay recorded (`.explicit` mode
    /// checks races with them too, however the timing went). Accesses of other runs are dropped; an
    /// unfinished one (of a run still in progress) is returned as a conflict marked
    /// ``AccessConflict/isOfAnotherRun``.
    ///
    /// An access of no elements conflicts with nothing. One whose box has another number of axes than
    /// the recorded regions (the array's shape changed with `update`) conflicts with all of them, and
    /// they are forgotten after.
    mutating func record(
        _ box: Box,
        isWhole: Bool,
        mode: AccessMode,
        by task: TaskRecord,
        generation: UInt32,
        run: Int,
        device: Device?,
        keepFinished: Bool
    ) -> [AccessConflict] {
        if box.isEmpty { return [] }
        var conflicts: [AccessConflict] = []
        var sawEarlierRun = false
        func consider(_ access: RecordedAccess) {
            guard access.task !== task else { return }
            if access.run != run {
                sawEarlierRun = true
                if !access.task.isCompleted(generation: access.generation) {
                    conflicts.append(AccessConflict(access, ofAnotherRun: true))
                }
                return
            }
            conflicts.append(AccessConflict(task: access.task, generation: access.generation, mode: access.mode))
        }
        let access = RecordedAccess(task: task, generation: generation, run: run, mode: mode, device: device)
        // Accesses of the whole array meet this one, whatever it is.
        for earlier in self.wholeWriters { consider(earlier) }
        if mode.writes { for earlier in self.wholeReaders { consider(earlier) } }
        if isWhole {
            // ... and this one meets every access of a region.
            self.writers.forEachEntry { _, earlier in consider(earlier) }
            if mode.writes {
                self.readers.forEachEntry { _, earlier in consider(earlier) }
                // Everything is ordered before this write; later accesses conflict with it instead.
                self.readers.removeAll()
                self.writers.removeAll()
                self.wholeReaders.removeAll(keepingCapacity: true)
                self.wholeWriters.removeAll(keepingCapacity: true)
                self.wholeWriters.append(access)
            } else {
                self.wholeReaders.append(access)
            }
        } else if box.rank != self.writers.rank {
            self.writers.forEachEntry { _, earlier in consider(earlier) }
            self.readers.forEachEntry { _, earlier in consider(earlier) }
            let visits = self.visits
            (self.readers, self.writers) = (BoxTree(rank: box.rank), BoxTree(rank: box.rank))
            self.searchVisits = visits
            if mode.writes { self.writers.insert(box, access) } else { self.readers.insert(box, access) }
        } else {
            self.searchVisits += self.writers.forEach(intersecting: box) { _, earlier in
                consider(earlier)
                return true
            }
            if mode.writes {
                self.searchVisits += self.readers.forEach(intersecting: box) { _, earlier in
                    consider(earlier)
                    return true
                }
                // Accesses this write covers are ordered before it; later accesses conflict with it
                // instead. (Whole-array ones stay: ordering after them again is redundant, not wrong.)
                self.readers.remove(intersecting: box) { earlier, _ in box.contains(earlier) }
                self.writers.remove(intersecting: box) { earlier, _ in box.contains(earlier) }
                self.writers.insert(box, access)
            } else {
                self.readers.insert(box, access)
            }
        }
        if sawEarlierRun { self.forget { $0.run != run } }
        if !keepFinished && self.count > self.pruneAt {
            // Finished tasks order nothing new. Pruning only past a growing threshold keeps the
            // cost per access constant on average.
            self.forget { $0.task.isCompleted(generation: $0.generation) }
            self.pruneAt = Swift.max(64, 2 * self.count)
        }
        return conflicts
    }

    /// Drops the accesses `isForgotten` picks.
    private mutating func forget(_ isForgotten: (RecordedAccess) -> Bool) {
        self.wholeReaders.removeAll(where: isForgotten)
        self.wholeWriters.removeAll(where: isForgotten)
        if !self.readers.isEmpty { self.readers.remove(intersecting: nil) { isForgotten($1) } }
        if !self.writers.isEmpty { self.writers.remove(intersecting: nil) { isForgotten($1) } }
    }

    /// Calls `body` with every recorded read of run `run` whose box contains `box`.
    func forEachRead(containing box: Box, run: Int, _ body: (RecordedAccess) -> Void) {
        for read in self.wholeReaders where read.run == run { body(read) }
        guard box.rank == self.readers.rank else { return }
        self.readers.forEach(intersecting: box) { readBox, read in
            if read.run == run && readBox.contains(box) { body(read) }
            return true
        }
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

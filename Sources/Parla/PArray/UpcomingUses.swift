/// The tasks spawned and not started yet that declared one array, with their spawn order: when the
/// array is next needed, which eviction weighs (the copy needed furthest in the future goes first).
/// Entries of tasks that have started (or finished without running) are dropped as they are found.
struct UpcomingUses {
    /// The uses, with the tasks not kept alive (records would outlive their runs in these lists).
    private var entries: [Entry] = []

    private struct Entry {
        var order: UInt64
        weak var task: TaskRecord?
        var generation: UInt32
    }
    /// Started tasks are dropped when the entries grow past this number (then it doubles), so that the
    /// cost per spawn stays constant on average.
    private var pruneAt = 32

    /// Records that `task` (use `generation` of its record), spawned `order`-th, will use the array.
    mutating func append(order: UInt64, task: TaskRecord, generation: UInt32) {
        self.entries.append(Entry(order: order, task: task, generation: generation))
        if self.entries.count > self.pruneAt {
            self.pruneStarted()
            self.pruneAt = Swift.max(32, 2 * self.entries.count)
        }
    }

    /// The spawn order of the earliest-spawned task that will still use the array, or `nil` when none
    /// will.
    mutating func next() -> UInt64? {
        self.pruneStarted()
        return self.entries.lazy.map(\.order).min()
    }

    private mutating func pruneStarted() {
        self.entries.removeAll { entry in
            guard let task = entry.task else { return true }
            return task.hasStarted(generation: entry.generation) || task.isCompleted(generation: entry.generation)
        }
    }
}

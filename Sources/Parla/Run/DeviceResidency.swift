import Dispatch
import ParlaDevices
import Synchronization

/// Per device of bounded memory, the `PArray` copies a run keeps there: which arrays hold a buffer on
/// the device, which of them running tasks use (pinned: never evicted), when each was last used, and
/// which are being evicted. Eviction picks its victims here (see `RunScope+DeviceMemory.swift`), and a
/// task that found no room waits here until running tasks give some back.
///
/// Devices of unbounded memory (the CPU, virtual GPUs without a capacity) are not tracked: nothing is
/// ever evicted from them, and their tasks pay nothing for it.
final class DeviceResidency: Sendable {
    /// Per device (by position): its books, behind a lock of their own; `nil` for unbounded devices.
    private let slots: [Books?]

    /// An array with a buffer on the device.
    struct Resident {
        /// The array (not kept alive by the run).
        weak var array: (any ResidentArray)?
        /// Running tasks that declared it (the same task twice, for two of its regions).
        var pins = 0
        /// When a task last started or finished using it (the device's use count then).
        var lastUse: UInt64 = 0
        /// Left when the eviction of its copy in progress ends.
        var eviction: DispatchGroup? = nil
        /// Whether the array allocated a buffer on the device again while its copy was being evicted
        /// (a prefetch, a shared read): the entry then outlives the eviction.
        var reallocated = false
    }

    /// One device's books. They belong to the device's backend, not to a run: copies a run leaves on
    /// a device are known to the next runs that use it, and evicted when they need the room.
    private final class Books: Sendable {
        let lock = Mutex(Slot())
        /// The backend whose memory the books describe (not kept alive by them).
        weak let backend: (any DeviceBackend)?

        init(backend: any DeviceBackend) { self.backend = backend }
    }

    /// The books of every device of bounded memory that runs have used, by backend.
    private static let booksByBackend = Mutex<[ObjectIdentifier: Books]>([:])

    /// The books of `backend`'s device (made on first use).
    private static func books(of backend: any DeviceBackend) -> Books {
        booksByBackend.withLock { table in
            let key = ObjectIdentifier(backend)
            if let books = table[key], books.backend != nil { return books }
            // (Backends of registries that are gone leave their books behind: dropped here.)
            table = table.filter { $0.value.backend != nil }
            let books = Books(backend: backend)
            table[key] = books
            return books
        }
    }

    private struct Slot: ~Copyable {
        var residents: [ObjectIdentifier: Resident] = [:]
        /// The bytes the pinning tasks reserved (their working sets).
        var reserved = 0
        /// Numbers the uses of the device's copies, for least-recently-used order.
        var clock: UInt64 = 0

        mutating func tick() -> UInt64 {
            self.clock &+= 1
            return self.clock
        }
    }

    /// What tasks waiting for room wait for, for the whole run (simpler than per device, and waiting is
    /// rare: a waiter wakes on every release, and looks again): taken after a device's lock, never
    /// before.
    private struct Waiting: ~Copyable {
        /// Raised whenever memory may have been given back (a task stopped using its arrays, a copy was
        /// evicted): a task waiting for room looks again.
        var releases: UInt64 = 0
        /// Threads waiting for ``releases`` to move, each with the task whose pins it keeps meanwhile
        /// (`nil`: none; a multi-device task may wait on several threads, one per device).
        var waiters: [(semaphore: DispatchSemaphore, pinningTask: ObjectIdentifier?)] = []
        /// Tasks holding pins, how many of them wait for room inside their bodies (still pinned), and
        /// how many have asynchronous bodies suspended on an await of another task or id (which may
        /// be one waiting for room): none of those gives memory back until something else does.
        var pinningTasks = 0
        var suspendedTasks = 0
        /// Evictions in progress (each may give memory back).
        var evictions = 0

        /// Memory may have been given back: the waiters to wake (no longer counted as waiting).
        mutating func release() -> [DispatchSemaphore] {
            self.releases &+= 1
            defer { self.waiters = [] }
            return self.waiters.map(\.semaphore)
        }

        /// The tasks holding pins that wait for room (on one thread or more), with `task` among them.
        func blockedTasks(with task: ObjectIdentifier?) -> Int {
            var blocked = Set(self.waiters.compactMap(\.pinningTask))
            if let task { blocked.insert(task) }
            return blocked.count
        }
    }

    /// The run's: a task waits only for its own run's tasks (runs in progress at once on one GPU do
    /// not wait for each other's memory: a task that finds no room with its run's tasks done fails).
    private let waiting = Mutex(Waiting())

    /// The books of the devices of `backends` (by position) that have a bounded memory.
    init(backends: [(any DeviceBackend)?]) {
        self.slots = backends.map { backend in
            guard let backend, backend.memoryCapacity != nil else { return nil }
            return Self.books(of: backend)
        }
    }

    /// Whether the device at `slot` is tracked (has bounded memory).
    @inline(__always)
    func tracks(_ slot: Int) -> Bool { self.slots[slot] != nil }

    /// Whether `resident` is the entry of `array`, not of an array that is gone and whose address the
    /// new one reuses (the books outlive runs, and their arrays).
    private static func isCurrent(_ resident: Resident?, for array: any ResidentArray) -> Bool {
        resident?.array.map { $0 === array } ?? false
    }

    /// Makes `array`'s buffer on the device at `slot` (`allocate`) and records it, as one step for
    /// tasks looking for room there (they read the books under the same lock): memory the buffer
    /// takes is never in use without its copy in the books. (A task finding no room would otherwise
    /// see memory it can neither evict nor wait for, and fail.)
    func allocateResident(
        _ array: any ResidentArray,
        on slot: Int,
        _ allocate: () throws(DeviceError) -> Void
    ) throws(DeviceError) {
        guard let books = self.slots[slot] else { return try allocate() }
        try books.lock.withLock { (books) throws(DeviceError) in
            try allocate()
            let now = books.tick()
            let key = ObjectIdentifier(array)
            if !Self.isCurrent(books.residents[key], for: array) {
                books.residents[key] = Resident(array: array, lastUse: now)
            } else if books.residents[key]!.eviction != nil {
                books.residents[key]!.reallocated = true
            }
        }
    }

    /// What ``pin(_:on:reserving:capacity:force:)`` did.
    enum PinOutcome {
        /// The arrays are pinned, and the bytes reserved.
        case pinned
        /// One of the arrays is being evicted: nothing was pinned; wait for this, then try again.
        case evicting(DispatchGroup)
        /// The tasks running there have reserved too much for this one to fit beside them: nothing was
        /// pinned; wait for a release after `releases` (``waitForRelease(since:holdingPinsOf:)``).
        case full(releases: UInt64)
    }

    /// Pins the arrays of `accesses` on the device at `slot` for a task about to use them, reserving `bytes` of the
    /// device's `capacity` for its working set: a task is admitted beside the running ones only when
    /// all their reservations fit together (or none runs, or `force`).
    func pin(
        _ accesses: [DeclaredAccess],
        on slot: Int,
        reserving bytes: Int,
        capacity: Int,
        force: Bool
    ) -> PinOutcome {
        guard let books = self.slots[slot] else { return .pinned }
        return books.lock.withLock { books -> PinOutcome in
            let now = books.tick()
            for access in accesses {
                if let eviction = books.residents[ObjectIdentifier(access.access.resident)]?.eviction {
                    return .evicting(eviction)
                }
            }
            if !force && books.reserved > 0 && books.reserved + bytes > capacity {
                return .full(releases: self.waiting.withLock { $0.releases })
            }
            Self.addPins(of: accesses, to: &books, at: now)
            self.waiting.withLock { $0.pinningTasks += 1 }
            books.reserved += bytes
            return .pinned
        }
    }

    /// ``pin(_:on:reserving:capacity:force:)`` on several devices at once, each for its own
    /// accesses, all or none (a multi-device task): their books are locked together, in the order of their positions (no
    /// other code holds two devices' books), so that nothing is pinned, and given back, only to find
    /// one device full. The task counts once.
    func pin(
        onEach targets: [(slot: Int, accesses: [DeclaredAccess], bytes: Int, capacity: Int)],
        force: Bool
    ) -> PinOutcome {
        let ordered = targets.filter { self.slots[$0.slot] != nil }.sorted { $0.slot < $1.slot }
        guard !ordered.isEmpty else { return .pinned }
        // Checks the device at `position` (and, holding its books, those after it), then pins there.
        func pinFrom(_ position: Int) -> PinOutcome {
            if position == ordered.count {
                // (Every device checked, every books locked: the pins below will all be made.)
                self.waiting.withLock { $0.pinningTasks += 1 }
                return .pinned
            }
            let target = ordered[position]
            return self.slots[target.slot]!.lock.withLock { books -> PinOutcome in
                for access in target.accesses {
                    if let eviction = books.residents[ObjectIdentifier(access.access.resident)]?.eviction {
                        return .evicting(eviction)
                    }
                }
                if !force && books.reserved > 0 && books.reserved + target.bytes > target.capacity {
                    return .full(releases: self.waiting.withLock { $0.releases })
                }
                let outcome = pinFrom(position + 1)
                guard case .pinned = outcome else { return outcome }
                Self.addPins(of: target.accesses, to: &books, at: books.tick())
                books.reserved += target.bytes
                return .pinned
            }
        }
        return pinFrom(0)
    }

    /// Pins the arrays of `accesses` in a device's `books` (under their lock), used at `now`.
    private static func addPins(of accesses: [DeclaredAccess], to books: inout Slot, at now: UInt64) {
        for access in accesses {
            let array = access.access.resident
            let key = ObjectIdentifier(array)
            if !Self.isCurrent(books.residents[key], for: array) {
                books.residents[key] = Resident(array: array)
            }
            books.residents[key]!.pins += 1
            books.residents[key]!.lastUse = now
        }
    }

    /// A task stops using the arrays of `accesses` on the device at `slot` (it finished, or it gives them up while it
    /// waits for room), and gives back the `bytes` it reserved: tasks waiting for room look again. Returns the ``releaseCount`` before and
    /// after. `countingTask`: the task stops counting as one holding pins (for a multi-device task, with
    /// its last device's unpin).
    @discardableResult
    func unpin(
        _ accesses: [DeclaredAccess],
        on slot: Int,
        reserved bytes: Int,
        countingTask: Bool = true
    ) -> (before: UInt64, after: UInt64) {
        guard let books = self.slots[slot] else { return (0, 0) }
        let (counts, waiters) = books.lock.withLock { books -> ((UInt64, UInt64), [DispatchSemaphore]) in
            let now = books.tick()
            for access in accesses {
                let key = ObjectIdentifier(access.access.resident)
                books.residents[key]?.pins -= 1
                books.residents[key]?.lastUse = now
            }
            books.reserved -= bytes
            return self.waiting.withLock { waiting in
                if countingTask { waiting.pinningTasks -= 1 }
                let before = waiting.releases
                let waiters = waiting.release()
                return ((before, waiting.releases), waiters)
            }
        }
        for waiter in waiters { waiter.signal() }
        return counts
    }

    /// The arrays with a buffer on the device at `slot` that no running task uses and no eviction is
    /// dropping, except those of `sparing`, each with when it was last used.
    func idleResidents(
        on slot: Int,
        sparing: Set<ObjectIdentifier>
    ) -> [(array: any ResidentArray, lastUse: UInt64)] {
        guard let books = self.slots[slot] else { return [] }
        return books.lock.withLock { books in
            books.residents = books.residents.filter { $0.value.array != nil }
            return books.residents.compactMap { key, resident in
                guard resident.pins == 0, resident.eviction == nil, !sparing.contains(key),
                    let array = resident.array
                else { return nil }
                return (array, resident.lastUse)
            }
        }
    }

    /// Marks `array`'s copy on the device at `slot` as being evicted, unless a task has pinned it since
    /// (or another eviction took it): returns whether the caller may evict it.
    func beginEviction(of array: any ResidentArray, on slot: Int) -> Bool {
        guard let books = self.slots[slot] else { return false }
        return books.lock.withLock { books in
            let key = ObjectIdentifier(array)
            guard let resident = books.residents[key], resident.pins == 0, resident.eviction == nil else {
                return false
            }
            let group = DispatchGroup()
            group.enter()
            books.residents[key]!.eviction = group
            self.waiting.withLock { $0.evictions += 1 }
            return true
        }
    }

    /// Ends an eviction begun with ``beginEviction(of:on:)``: tasks that wait to pin the array go on,
    /// and, when the copy was dropped, tasks waiting for room look again.
    func endEviction(of array: any ResidentArray, on slot: Int, dropped: Bool) {
        guard let books = self.slots[slot] else { return }
        let (group, waiters) = books.lock.withLock { books -> (DispatchGroup?, [DispatchSemaphore]) in
            let key = ObjectIdentifier(array)
            let group = books.residents[key]?.eviction
            books.residents[key]?.eviction = nil
            if books.residents[key]?.reallocated == true {
                books.residents[key]!.reallocated = false
            } else if dropped {
                books.residents[key] = nil
            }
            return self.waiting.withLock { waiting in
                waiting.evictions -= 1
                // (A copy that stayed gives nothing back: waiters looking again would find what they found.)
                return (group, dropped ? waiting.release() : [])
            }
        }
        group?.leave()
        for waiter in waiters { waiter.signal() }
    }

    /// A task holding pins suspends its asynchronous body on an await (`true`) or resumes it: while
    /// suspended it counts as unable to give memory back, and tasks waiting for room look again (they
    /// may be what it awaits).
    func noteSuspension(_ suspended: Bool) {
        let waiters = self.waiting.withLock { waiting -> [DispatchSemaphore] in
            waiting.suspendedTasks += suspended ? 1 : -1
            return suspended ? waiting.release() : []
        }
        for waiter in waiters { waiter.signal() }
    }

    /// How many times memory may have been given back so far (read before trying to allocate, and
    /// handed to ``waitForRelease(since:holdingPinsOf:)``).
    var releaseCount: UInt64 { self.waiting.withLock { $0.releases } }

    /// Blocks until memory may have been given back since `releases` (see ``releaseCount``), when a
    /// task can still give some: one holding pins that is not itself waiting, or an eviction in
    /// progress. Returns `false` at once when none can (waiting would never end); the other threads of
    /// the caller's task waiting then wake, to find the same. `task`: the task whose pins the caller
    /// keeps while it waits (inside its body), or `nil`.
    func waitForRelease(since releases: UInt64, holdingPinsOf task: ObjectIdentifier?) -> Bool {
        let semaphore = DispatchSemaphore(value: 0)
        var siblings: [DispatchSemaphore] = []
        let outcome = self.waiting.withLock { waiting -> Bool? in
            if waiting.releases != releases { return true }
            let others = waiting.pinningTasks - waiting.blockedTasks(with: task) - waiting.suspendedTasks
            guard others > 0 || waiting.evictions > 0 else {
                if let task {
                    siblings = waiting.waiters.filter { $0.pinningTask == task }.map(\.semaphore)
                    waiting.waiters.removeAll { $0.pinningTask == task }
                }
                return false
            }
            waiting.waiters.append((semaphore, task))
            return nil
        }
        for sibling in siblings { sibling.signal() }
        if let outcome { return outcome }
        semaphore.wait()
        return true
    }

}

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
    /// Numbers uses, for least-recently-used order.
    private let clock = Atomic<UInt64>(0)

    /// An array with a buffer on the device.
    struct Resident {
        /// The array (not kept alive by the run).
        weak var array: (any ResidentArray)?
        /// Running tasks that declared it (the same task twice, for two of its regions).
        var pins = 0
        /// When a task last started or finished using it (``DeviceResidency/clock``).
        var lastUse: UInt64 = 0
        /// Left when the eviction of its copy in progress ends.
        var eviction: DispatchGroup? = nil
    }

    /// One device's books.
    private final class Books: Sendable {
        let lock = Mutex(Slot())
    }

    private struct Slot: ~Copyable {
        var residents: [ObjectIdentifier: Resident] = [:]
        /// Raised whenever memory may have been given back (a task stopped using its arrays, a copy was
        /// evicted): a task waiting for room looks again.
        var releases: UInt64 = 0
        /// Tasks waiting for ``releases`` to move, and whether each keeps its pins meanwhile.
        var waiters: [(semaphore: DispatchSemaphore, holdsPins: Bool)] = []
        /// Tasks holding pins, and how many of them wait for room inside their bodies (still pinned).
        var pinningTasks = 0
        var blockedTasks = 0
        /// Evictions in progress (each will give memory back).
        var evictions = 0
    }

    /// Books for the devices of `capacities` (by position) that have a bounded memory.
    init(capacities: [Int?]) {
        self.slots = capacities.map { $0 == nil ? nil : Books() }
    }

    /// Whether the device at `slot` is tracked (has bounded memory).
    @inline(__always)
    func tracks(_ slot: Int) -> Bool { self.slots[slot] != nil }

    private func tick() -> UInt64 { self.clock.add(1, ordering: .relaxed).newValue }

    /// Records that `array` holds a buffer on the device at `slot`.
    func noteResident(_ array: any ResidentArray, on slot: Int) {
        guard let books = self.slots[slot] else { return }
        let now = self.tick()
        books.lock.withLock { books in
            let key = ObjectIdentifier(array)
            if books.residents[key] == nil { books.residents[key] = Resident(array: array, lastUse: now) }
        }
    }

    /// Pins `arrays` on the device at `slot` for a task about to use them; or, when one of them is being
    /// evicted, pins nothing and returns what to wait for before trying again.
    func pin(_ arrays: [any ResidentArray], on slot: Int) -> DispatchGroup? {
        guard let books = self.slots[slot] else { return nil }
        let now = self.tick()
        return books.lock.withLock { books -> DispatchGroup? in
            for array in arrays {
                if let eviction = books.residents[ObjectIdentifier(array)]?.eviction { return eviction }
            }
            for array in arrays {
                let key = ObjectIdentifier(array)
                if books.residents[key] == nil {
                    books.residents[key] = Resident(array: array)
                }
                books.residents[key]!.pins += 1
                books.residents[key]!.lastUse = now
            }
            books.pinningTasks += 1
            return nil
        }
    }

    /// A task stops using `arrays` on the device at `slot` (it finished, or it gives them up while it
    /// waits for room): tasks waiting for room look again. Returns the ``releaseCount(on:)`` before and
    /// after.
    @discardableResult
    func unpin(_ arrays: [any ResidentArray], on slot: Int) -> (before: UInt64, after: UInt64) {
        guard let books = self.slots[slot] else { return (0, 0) }
        let now = self.tick()
        let (counts, waiters) = books.lock.withLock { books -> ((UInt64, UInt64), [DispatchSemaphore]) in
            for array in arrays {
                let key = ObjectIdentifier(array)
                books.residents[key]?.pins -= 1
                books.residents[key]?.lastUse = now
            }
            books.pinningTasks -= 1
            let before = books.releases
            let waiters = Self.release(&books)
            return ((before, books.releases), waiters)
        }
        for waiter in waiters { waiter.signal() }
        return counts
    }

    /// Memory may have been given back: the waiters to wake (no longer counted as waiting).
    private static func release(_ books: inout Slot) -> [DispatchSemaphore] {
        books.releases &+= 1
        defer { books.waiters = [] }
        for waiter in books.waiters where waiter.holdsPins { books.blockedTasks -= 1 }
        return books.waiters.map(\.semaphore)
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
            guard let resident = books.residents[key], resident.pins == 0, resident.eviction == nil else { return false }
            let group = DispatchGroup()
            group.enter()
            books.residents[key]!.eviction = group
            books.evictions += 1
            return true
        }
    }

    /// Ends an eviction begun with ``beginEviction(of:on:)``: tasks that wait to pin the array go on,
    /// and tasks waiting for room look again.
    func endEviction(of array: any ResidentArray, on slot: Int, dropped: Bool) {
        guard let books = self.slots[slot] else { return }
        let (group, waiters) = books.lock.withLock { books -> (DispatchGroup?, [DispatchSemaphore]) in
            let key = ObjectIdentifier(array)
            let group = books.residents[key]?.eviction
            books.residents[key]?.eviction = nil
            if dropped { books.residents[key] = nil }
            books.evictions -= 1
            return (group, Self.release(&books))
        }
        group?.leave()
        for waiter in waiters { waiter.signal() }
    }

    /// How many times memory may have been given back on the device at `slot` so far (read before
    /// trying to allocate, and handed to ``waitForRelease(on:since:holdingPins:)``).
    func releaseCount(on slot: Int) -> UInt64 {
        self.slots[slot]?.lock.withLock { $0.releases } ?? 0
    }

    /// Blocks until memory may have been given back on the device at `slot` since `releases` (see
    /// ``releaseCount(on:)``), when a task can still give some: one holding pins that is not itself
    /// waiting, or an eviction in progress. Returns `false` at once when none can (waiting would never
    /// end). `holdingPins`: the caller keeps its own pins while it waits (inside its body).
    func waitForRelease(on slot: Int, since releases: UInt64, holdingPins: Bool) -> Bool {
        guard let books = self.slots[slot] else { return false }
        let semaphore = DispatchSemaphore(value: 0)
        let outcome = books.lock.withLock { books -> Bool? in
            if books.releases != releases { return true }
            let others = books.pinningTasks - books.blockedTasks - (holdingPins ? 1 : 0)
            guard others > 0 || books.evictions > 0 else { return false }
            books.waiters.append((semaphore, holdingPins))
            if holdingPins { books.blockedTasks += 1 }
            return nil
        }
        if let outcome { return outcome }
        semaphore.wait()
        return true
    }

    /// Forgets every array (the run has ended).
    func removeAll() {
        for books in self.slots { books?.lock.withLock { $0.residents = [:] } }
    }
}

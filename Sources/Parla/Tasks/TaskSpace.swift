import ParlaDevices
import Synchronization

/// A named, lazily filled space of task ids. Parla (Python) equivalent: `TaskSpace("T")`.
///
/// `T[i]`, `T[i, j]` give a ``TaskID`` named `"T_i"`, `"T_i_j"`; ranges (`T[0..<4]`, `T[0...3]`,
/// `T[0..<2, 3]`) give a ``TaskSet``, the Cartesian product in row-major order. Accessing an id creates
/// its entry; nothing is spawned by access. `try await T.wait()` waits for every entry accessed so far.
public final class TaskSpace: Sendable, CustomStringConvertible {
    /// The name ids are prefixed with.
    public let name: String

    /// The ids accessed so far.
    let entries = Mutex(Entries())

    /// The ids of a space. Ids `T[i]` with `0 <= i` not far past the highest one yet are kept in a
    /// dense array; others in a dictionary. An id whose task has finished, and that nothing but the
    /// space refers to, keeps only the task's outcome (a million finished ids cost 16 MB, not a million
    /// objects): it gets an entry object again when it is next accessed.
    struct Entries: ~Copyable {
        var dense: [Entry] = []
        var sparse: [TaskIndex: Entry] = [:]
        /// The dictionary's indices in the order they were first accessed.
        var sparseOrder: [TaskIndex] = []
        /// Entry objects made since finished ones were last given up.
        var madeSinceCompaction = 0
        /// Give finished entries up once this many have been made since the last time.
        var compactAt = 4096
    }

    /// One id of the space.
    enum Entry {
        /// Not accessed (a gap in the dense array).
        case unused
        /// Accessed: its entry object.
        case slot(TaskSlot)
        /// Its task finished, and nothing referred to the entry object any more.
        case finished(FinishedTask)
    }

    /// A space whose ids are named `"\(name)_i"`.
    public init(_ name: String) {
        self.name = name
    }

    /// The slot for `index`, created on first access (or again, after it was given up).
    func slot(_ index: TaskIndex) -> TaskSlot {
        self.entries.withLock { entries in
            if let position = index.densePosition, position < entries.dense.count + 4096 {
                if position >= entries.dense.count {
                    entries.dense.append(contentsOf: repeatElement(.unused, count: position + 1 - entries.dense.count))
                }
                let (slot, isNew) = self.object(for: &entries.dense[position], at: index)
                if isNew { self.noteMade(&entries) }
                return slot
            }
            var entry = entries.sparse[index] ?? .unused
            let (slot, isNew) = self.object(for: &entry, at: index)
            entries.sparse[index] = entry
            if isNew {
                entries.sparseOrder.append(index)
                self.noteMade(&entries)
            }
            return slot
        }
    }

    /// The entry object of `entry` (id `index`): the one it holds, or one made for an id whose task
    /// finished, or one made for an id not accessed before (`isNew`).
    private func object(for entry: inout Entry, at index: TaskIndex) -> (slot: TaskSlot, isNew: Bool) {
        switch entry {
        case .slot(let slot):
            return (slot, false)
        case .finished(let outcome):
            let slot = TaskSlot(space: self, index: index, finished: outcome)
            entry = .slot(slot)
            return (slot, false)
        case .unused:
            let slot = TaskSlot(space: self, index: index)
            entry = .slot(slot)
            return (slot, true)
        }
    }

    /// Counts an entry object made; every so often, gives up those of finished tasks that nothing else
    /// refers to (amortized: the sweep is as long as the objects made since the last one, at least).
    private func noteMade(_ entries: inout Entries) {
        entries.madeSinceCompaction += 1
        guard entries.madeSinceCompaction >= entries.compactAt else { return }
        Self.compact(&entries)
    }

    /// Gives up the entry objects of finished tasks that nothing else refers to (done when a run that
    /// used the space ends).
    func compact() { self.entries.withLock { Self.compact(&$0) } }

    private static func compact(_ entries: inout Entries) {
        var kept = 0
        func compact(_ entry: inout Entry) {
            guard case .slot(var slot) = entry else { return }
            entry = .unused
            if isKnownUniquelyReferenced(&slot), let outcome = slot.finishedOutcome {
                entry = .finished(outcome)
            } else {
                entry = .slot(slot)
                kept += 1
            }
        }
        for position in entries.dense.indices { compact(&entries.dense[position]) }
        for index in entries.sparseOrder { compact(&entries.sparse[index]!) }
        entries.madeSinceCompaction = 0
        entries.compactAt = Swift.max(4096, kept)
    }

    /// Every id accessed so far (the dense ones in index order, then the others in the order they were
    /// first accessed); the ids of finished tasks get entry objects for the caller only.
    var allSlots: [TaskSlot] {
        self.entries.withLock { entries in
            var slots: [TaskSlot] = []
            func add(_ entry: Entry, _ index: TaskIndex) {
                switch entry {
                case .unused: break
                case .slot(let slot): slots.append(slot)
                case .finished(let outcome): slots.append(TaskSlot(space: self, index: index, finished: outcome))
                }
            }
            for (position, entry) in entries.dense.enumerated() { add(entry, TaskIndex(position)) }
            for index in entries.sparseOrder { add(entries.sparse[index]!, index) }
            return slots
        }
    }

    /// The ids whose tasks have not finished (or were not spawned), for the report of tasks that can
    /// never run.
    var unfinishedSlots: [TaskSlot] {
        self.entries.withLock { entries in
            var slots: [TaskSlot] = []
            for entry in entries.dense { if case .slot(let slot) = entry { slots.append(slot) } }
            for index in entries.sparseOrder { if case .slot(let slot) = entries.sparse[index]! { slots.append(slot) } }
            return slots
        }
    }

    /// The id `T[i]`.
    public subscript(_ index: Int) -> TaskID {
        TaskID(slot: self.slot(TaskIndex(index)))
    }

    /// The id `T[i, j]`.
    public subscript(_ i: Int, _ j: Int) -> TaskID {
        TaskID(slot: self.slot(TaskIndex([i, j])))
    }

    /// The id `T[i, j, k, ...]`.
    public subscript(_ indices: Int...) -> TaskID {
        parlaPrecondition(!indices.isEmpty, "a task id needs at least one index (TaskSpace \(self.name))")
        return TaskID(slot: self.slot(TaskIndex(indices)))
    }

    /// The id `T["left"]`, `T[0, "a"]`: keys of any `Hashable` type, strings say, alone or mixed with
    /// integers (named `"T_left"`, `"T_0_a"`). Parla (Python) equivalent: `T["left"]`, `T[(0, "a")]`.
    /// (Integers alone, and ranges, take the subscripts above: `T[0..<2]` is a set of ids.)
    /// Integers of any type are the same indices as `Int`s (`T[Int32(1)]` is `T[1]`). A range, a list
    /// of indices or an optional is not a key: it stops with a message (where one id is expected,
    /// `T[0..<4]` would otherwise name a single id).
    @_disfavoredOverload
    public subscript(_ keys: any Hashable & Sendable...) -> TaskID {
        parlaPrecondition(!keys.isEmpty, "a task id needs at least one index (TaskSpace \(self.name))")
        let normalized = keys.map { key -> any Hashable & Sendable in
            if let integer = key as? any BinaryInteger {
                guard let value = Int(exactly: integer) else {
                    parlaPreconditionFailure(
                        "task id index \(integer) of TaskSpace \(self.name) does not fit in an Int"
                    )
                }
                return value
            }
            parlaPrecondition(
                !(key is any TaskIndexComponent),
                "\(self.name)[\(key)] selects several ids: it is a TaskSet (T[0..<4]), not one task id"
            )
            parlaPrecondition(
                Mirror(reflecting: key).displayStyle != .optional,
                "an optional (\(key)) is not a task id key of TaskSpace \(self.name): unwrap it first"
            )
            return key
        }
        if let integers = normalized as? [Int] { return TaskID(slot: self.slot(TaskIndex(integers))) }
        return TaskID(slot: self.slot(TaskIndex(keys: normalized.map(TaskKey.init))))
    }

    /// The ids `T[a..<b]`, `T[a...b]`, `T[0..<2, 3]`: the Cartesian product of the components.
    public subscript(_ components: any TaskIndexComponent...) -> TaskSet {
        let axes = components.map(\.taskIndexValues)
        var ids: [TaskID] = []
        func build(_ axis: Int, _ prefix: [Int]) {
            if axis == axes.count {
                ids.append(TaskID(slot: self.slot(TaskIndex(prefix))))
                return
            }
            for value in axes[axis] { build(axis + 1, prefix + [value]) }
        }
        build(0, [])
        return TaskSet(ids)
    }

    /// The number of entries accessed so far.
    public var count: Int {
        self.entries.withLock { entries in
            entries.dense.reduce(0) { count, entry in
                if case .unused = entry { return count }
                return count + 1
            } + entries.sparseOrder.count
        }
    }

    /// `TaskSpace(T, entries: n)`.
    public var description: String { "TaskSpace(\(self.name), entries: \(self.count))" }
}

/// A component of a task-space subscript that selects several indices: a range, or an integer.
public protocol TaskIndexComponent: Sendable {
    /// The indices selected along this axis, in order.
    var taskIndexValues: [Int] { get }
}

extension Int: TaskIndexComponent {
    /// The index itself.
    public var taskIndexValues: [Int] { [self] }
}

extension Range: TaskIndexComponent where Bound == Int {
    /// `lowerBound..<upperBound`.
    public var taskIndexValues: [Int] { Array(self) }
}

extension ClosedRange: TaskIndexComponent where Bound == Int {
    /// `lowerBound...upperBound`.
    public var taskIndexValues: [Int] { Array(self) }
}

extension PartialRangeUpTo: TaskIndexComponent where Bound == Int {
    /// `0..<upperBound`.
    public var taskIndexValues: [Int] { Array(0..<self.upperBound) }
}

extension PartialRangeThrough: TaskIndexComponent where Bound == Int {
    /// `0...upperBound`.
    public var taskIndexValues: [Int] { Array(0...self.upperBound) }
}

extension Array: TaskIndexComponent where Element == Int {
    /// The listed indices, in order (NumPy-style fancy index: `T[[1, 3], 2]`).
    public var taskIndexValues: [Int] { self }
}

/// The index tuple of a task id; small ranks of integers are stored inline.
struct TaskIndex: Hashable, Sendable, CustomStringConvertible {
    private let storage: Storage

    private enum Storage: Hashable, Sendable {
        case one(Int)
        case two(Int, Int)
        case many([Int])
        /// Keys that are not all integers (`T["left"]`, `T[0, "a"]`).
        case keys([TaskKey])
    }

    init(keys: [TaskKey]) { self.storage = .keys(keys) }

    init(_ values: [Int]) {
        switch values.count {
        case 1: self.storage = .one(values[0])
        case 2: self.storage = .two(values[0], values[1])
        default: self.storage = .many(values)
        }
    }

    init(_ value: Int) { self.storage = .one(value) }

    /// The position of a one-index id `i >= 0` in a space's dense array.
    var densePosition: Int? {
        if case .one(let value) = self.storage, value >= 0 { return value }
        return nil
    }

    /// The integers of the index (for keys, those of them that are integers).
    var values: [Int] {
        switch self.storage {
        case .one(let a): return [a]
        case .two(let a, let b): return [a, b]
        case .many(let all): return all
        case .keys(let keys): return keys.compactMap { $0.value as? Int }
        }
    }

    /// The index's components (integers, or the keys as given).
    var keys: [any Hashable & Sendable] {
        guard case .keys(let keys) = self.storage else { return self.values }
        return keys.map(\.value)
    }

    /// `i_j_k` (a string key as it is: `left`).
    var description: String {
        guard case .keys(let keys) = self.storage else { return self.values.map(String.init).joined(separator: "_") }
        return keys.map(\.description).joined(separator: "_")
    }
}

/// One component of a task id that is not an integer: any `Hashable` value, compared and hashed as
/// `AnyHashable` (so `T[1, "a"]` is one id however it is reached).
struct TaskKey: Hashable, Sendable, CustomStringConvertible {
    let value: any Hashable & Sendable

    init(_ value: any Hashable & Sendable) { self.value = value }

    static func == (lhs: TaskKey, rhs: TaskKey) -> Bool { AnyHashable(lhs.value) == AnyHashable(rhs.value) }

    func hash(into hasher: inout Hasher) { hasher.combine(AnyHashable(self.value)) }

    /// A string as it is; anything else as `String(describing:)` prints it.
    var description: String { (self.value as? String) ?? String(describing: self.value) }
}

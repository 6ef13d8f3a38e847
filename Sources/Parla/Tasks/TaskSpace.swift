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

    /// Entries in the order they were first accessed.
    let entries = Mutex(Entries())

    struct Entries: ~Copyable {
        var slots: [TaskIndex: TaskSlot] = [:]
        var order: [TaskSlot] = []
    }

    /// A space whose ids are named `"\(name)_i"`.
    public init(_ name: String) {
        self.name = name
    }

    /// The slot for `index`, created on first access.
    func slot(_ index: TaskIndex) -> TaskSlot {
        self.entries.withLock { entries in
            if let slot = entries.slots[index] { return slot }
            let slot = TaskSlot(space: self, index: index)
            entries.slots[index] = slot
            entries.order.append(slot)
            return slot
        }
    }

    /// Every entry accessed so far.
    var allSlots: [TaskSlot] { self.entries.withLock { $0.order } }

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
    public var count: Int { self.entries.withLock { $0.order.count } }

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

/// The index tuple of a task id; small ranks are stored inline.
struct TaskIndex: Hashable, Sendable, CustomStringConvertible {
    private let storage: Storage

    private enum Storage: Hashable, Sendable {
        case one(Int)
        case two(Int, Int)
        case many([Int])
    }

    init(_ values: [Int]) {
        switch values.count {
        case 1: self.storage = .one(values[0])
        case 2: self.storage = .two(values[0], values[1])
        default: self.storage = .many(values)
        }
    }

    init(_ value: Int) { self.storage = .one(value) }

    var values: [Int] {
        switch self.storage {
        case .one(let a): return [a]
        case .two(let a, let b): return [a, b]
        case .many(let all): return all
        }
    }

    /// `i_j_k`.
    var description: String { self.values.map(String.init).joined(separator: "_") }
}

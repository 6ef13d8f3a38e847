import ParlaDevices
import Synchronization

/// Splits arrays over logical devices in a sequence: `count` blocks along the first axis, logical
/// device `i` mapped to the `i`-th device of the placement (round robin when there are fewer devices
/// than blocks). Use it inside a run (its devices are the run's).
///
/// ```swift
/// let mapper = DeviceSequenceBlocked(2, placement: [cpu, gpu(0)])
/// let view = mapper.partition(A)          // A's first half on the CPU, the second on gpu(0)
/// spawn(placement: gpu(0)) {
///     let sum = view[0] + view[1]         // both halves, copied to gpu(0) as they are read
/// }
/// ```
///
/// Parla (Python) equivalent: `LDeviceSequenceBlocked(2, placement=[cpu, gpu])` and its
/// `partition_tensor(A)`. (PArrays do the same with regions declared per task, and keep one coherent
/// array; the partitioners are Parla's older way, kept for programs written against it.)
public struct DeviceSequenceBlocked: Sendable {
    /// The number of blocks (logical devices).
    public let count: Int
    /// The devices the blocks go to, in order.
    public let devices: [Device]

    /// A sequence of `count` logical devices over `placement`'s devices (any GPU by default: all the
    /// run's GPUs, or the CPU when it has none).
    public init(_ count: Int, placement: [Device]? = nil) {
        parlaPrecondition(count > 0, "a partitioner needs at least one block, not \(count)")
        self.count = count
        self.devices = placement ?? Partitioning.defaultDevices()
        parlaPrecondition(!self.devices.isEmpty, "a partitioner needs at least one device")
    }

    /// The device of logical device `index`.
    public func device(of index: Int) -> Device { self.devices[index % self.devices.count] }

    /// `array` in `count` blocks along its first axis (the first blocks one row larger when the rows do
    /// not divide), each copied to its device. Parla: `mapper.partition_tensor(array)`.
    public func partition<Element: NDElement>(_ array: NDArray<Element>) -> PartitionedArray<Element> {
        parlaPrecondition(array.shape.count >= 1, "a partitioner splits along the first axis: a scalar has none")
        let rows = Partitioning.cuts(array.shape[0], into: self.count)
        let parts = rows.enumerated().map { index, range in array[range].copy().to(self.device(of: index)) }
        return PartitionedArray(parts: parts, grid: [self.count])
    }
}

/// Splits matrices over a grid of logical devices: `rows × columns` blocks, logical device `(i, j)`
/// mapped to the devices of the placement in row-major order (round robin when there are fewer).
///
/// Parla (Python) equivalent: `LDeviceGridBlocked(rows, columns, placement=...)`.
public struct DeviceGridBlocked: Sendable {
    /// The grid's rows and columns of blocks.
    public let rows: Int
    public let columns: Int
    /// The devices the blocks go to, in row-major order of the grid.
    public let devices: [Device]

    /// A `rows × columns` grid of logical devices over `placement`'s devices (by default all the run's
    /// GPUs, or the CPU when it has none).
    public init(_ rows: Int, _ columns: Int, placement: [Device]? = nil) {
        parlaPrecondition(rows > 0 && columns > 0, "a grid needs at least one block, not \(rows) × \(columns)")
        self.rows = rows
        self.columns = columns
        self.devices = placement ?? Partitioning.defaultDevices()
        parlaPrecondition(!self.devices.isEmpty, "a partitioner needs at least one device")
    }

    /// The device of logical device `(row, column)`.
    public func device(of row: Int, _ column: Int) -> Device {
        self.devices[(row * self.columns + column) % self.devices.count]
    }

    /// `matrix` in `rows × columns` blocks, each copied to its device (`view[i, j]`).
    public func partition<Element: NDElement>(_ matrix: NDArray<Element>) -> PartitionedArray<Element> {
        parlaPrecondition(matrix.shape.count == 2, "a grid partitions a matrix, not an array of shape \(matrix.shape)")
        let rowRanges = Partitioning.cuts(matrix.shape[0], into: self.rows)
        let columnRanges = Partitioning.cuts(matrix.shape[1], into: self.columns)
        var parts: [NDArray<Element>] = []
        for (i, rows) in rowRanges.enumerated() {
            for (j, columns) in columnRanges.enumerated() {
                parts.append(matrix[rows, columns].copy().to(self.device(of: i, j)))
            }
        }
        return PartitionedArray(parts: parts, grid: [self.rows, self.columns])
    }
}

/// An array split by a partitioner: its blocks, each kept on its logical device. Reading a block
/// (`view[i]`, `view[i, j]`) gives it on the calling task's device, copied there when it lives
/// elsewhere; assigning one copies the value to the block's device.
///
/// Tasks do not declare blocks: the runtime infers no order between tasks that write a block and tasks
/// that read it, and keeps no other copies coherent. Order them with explicit dependencies (as Parla's
/// lesson 4 does), or use PArrays, which do both.
///
/// Parla (Python) equivalent: the `PartitionedTensor` of `partition_tensor`, whose `__getitem__`
/// calls `clone_here`.
public final class PartitionedArray<Element: NDElement>: Sendable {
    /// The blocks (row-major for a grid), each on its device.
    private let parts: Mutex<[NDArray<Element>]>
    /// The grid's extents (one for a sequence).
    public let grid: [Int]

    init(parts: [NDArray<Element>], grid: [Int]) {
        self.parts = Mutex(parts)
        self.grid = grid
    }

    /// The number of blocks.
    public var count: Int { self.parts.withLock { $0.count } }

    /// The device block `index` (row-major) lives on.
    public func device(ofBlock index: Int) -> Device { self.parts.withLock { $0[index].device } }

    /// Block `indices` (one index for a sequence, two for a grid) on the calling task's device; when
    /// assigned, the value is copied to the block's device.
    public subscript(_ indices: Int...) -> NDArray<Element> {
        get {
            let part = self.parts.withLock { $0[self.position(indices)] }
            return part.to(Device.current)
        }
        set {
            let position = self.position(indices)
            let old = self.parts.withLock { $0[position] }
            parlaPrecondition(
                newValue.shape == old.shape,
                "block \(indices) has shape \(old.shape); a value of shape \(newValue.shape) cannot replace it"
            )
            // (Copied outside the lock: reads of the other blocks go on meanwhile.)
            let moved = newValue.to(old.device)
            self.parts.withLock { $0[position] = moved }
        }
    }

    /// The row-major position of block `indices`, checked.
    private func position(_ indices: [Int]) -> Int {
        parlaPrecondition(
            indices.count == self.grid.count,
            "a partition of \(self.grid.count == 1 ? "a sequence" : "a grid") takes \(self.grid.count) index\(self.grid.count == 1 ? "" : "es"), not \(indices.count)"
        )
        var position = 0
        for (axis, index) in indices.enumerated() {
            parlaPrecondition(
                (0..<self.grid[axis]).contains(index),
                "block index \(index) is out of range for a partition of \(self.grid[axis]) block\(self.grid[axis] == 1 ? "" : "s") on axis \(axis)"
            )
            position = position * self.grid[axis] + index
        }
        return position
    }
}

/// What the partitioners share.
enum Partitioning {
    /// All the current run's GPUs, or the CPU when it has none.
    static func defaultDevices() -> [Device] {
        let gpus = Parla.devices.filter { $0.kind == .gpu }
        return gpus.isEmpty ? [.cpu] : gpus
    }

    /// `0..<extent` cut into `count` consecutive ranges, the first ones one longer when `count` does not
    /// divide `extent` (as NumPy's `array_split`).
    static func cuts(_ extent: Int, into count: Int) -> [Range<Int>] {
        let (base, extra) = extent.quotientAndRemainder(dividingBy: count)
        var start = 0
        return (0..<count).map { index in
            let length = base + (index < extra ? 1 : 0)
            defer { start += length }
            return start..<(start + length)
        }
    }
}

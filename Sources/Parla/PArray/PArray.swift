import ParlaDevices

/// An N-dimensional array with a copy on every device that uses it, kept coherent automatically: a
/// task that declares it (or a region of it) in `input`, `output` or `inOut` finds the freshest data on
/// its device when it starts.
///
/// Parla (Python) equivalent: `parray.asarray(...)` / `parray.array(...)`.
///
/// `PArray` is a reference type: views (`A[0]`, `A[1..<3, 2...]`) are regions of the same array.
/// Outside any task, `.array` brings a valid copy to the CPU.
public final class PArray<Element: NDElement>: @unchecked Sendable, CustomStringConvertible {
    // @unchecked Sendable: immutable references to the shared storage (which synchronises itself)
    // and the view's region.

    let storage: PArrayStorage<Element>

    /// The subscript of the root array this view selects (empty for the whole array). A region of a
    /// region is resolved into one subscript of the root when it is made.
    let components: [NDIndexComponent]

    /// The region as computed when the view was made, for the root array's shape of then: valid while
    /// the array's ``PArrayStorage/shapeVersion`` has not moved (an `update` to another shape moves it),
    /// so that using a view takes no lock.
    private let madeRegion: Box
    private let madeShapeVersion: Int

    /// Wraps `array` without copying it: its device holds the only copy. Parla: `parray.asarray(a)`.
    /// An array on a CUDA GPU that kernels still queued there produce is waited for first.
    public init(_ array: NDArray<Element>) {
        let storage = PArrayStorage(wrapping: array)
        self.storage = storage
        self.components = []
        self.madeRegion = Box(shape: array.shape)
        self.madeShapeVersion = 0
    }

    /// A 1-D array from `values` (copied). Parla: `parray.array([...])`.
    public convenience init(_ values: [Element]) { self.init(NDArray(values)) }

    /// A 2-D array from rows of equal length (copied). Parla: `parray.array([[...]])`.
    public convenience init(_ rows: [[Element]]) { self.init(NDArray(rows)) }

    /// A 3-D array from nested arrays (copied). Parla: `parray.array([[[...]]])`.
    public convenience init(_ planes: [[[Element]]]) { self.init(NDArray(planes)) }

    /// The view of `components` of `storage`'s root array (checked now: a bad subscript stops here,
    /// naming the array).
    init(storage: PArrayStorage<Element>, components: [NDIndexComponent]) {
        self.storage = storage
        self.components = components
        let (shape, version) = storage.shapeAndVersion
        self.madeRegion = Self.region(of: components, in: shape, label: storage.label)
        self.madeShapeVersion = version
    }

    /// The region of the root array this view covers.
    var box: Box {
        if self.storage.shapeVersion.load(ordering: .acquiring) == self.madeShapeVersion { return self.madeRegion }
        // The array's shape changed since the view was made: its subscript means another region now.
        return Self.region(of: self.components, in: self.storage.shape, label: self.storage.label)
    }

    /// The box `components` select of an array of `shape`, stopping with a message naming the array
    /// (`label`) when they do not select a box of it.
    static func region(of components: [NDIndexComponent], in shape: [Int], label: String) -> Box {
        checkIndexCount(components, shape: shape, label: label)
        var box = Box(shape: shape)
        for (axis, component) in components.enumerated() {
            let (start, step, count, _) = component.positions(inAxisOf: shape[axis], axis: axis)
            parlaPrecondition(
                step == 1 || count <= 1,
                "PArray regions are boxes: a step of \(step) on axis \(axis) is not supported (\(label))"
            )
            box.setRange(axis, start, start + count)
        }
        return box
    }

    /// The array (or this view's region) on `Device.current`: inside a task, the task's device, where
    /// the runtime has made it valid; outside, a valid copy brought to the CPU. A view, no copy.
    ///
    /// Parla (Python) equivalent: `A.array`.
    public var array: NDArray<Element> {
        guard let device = Device.taskDevice else {
            // Outside tasks: make the region valid on the CPU first.
            self.moveForAccess(on: .cpu, mode: .input)
            return self.view(on: .cpu)
        }
        self.checkDeclared(writing: false)
        return self.view(on: device)
    }

    /// Inside a task, stops unless the task declared this region (for writing: in `output` or `inOut`;
    /// for reading and writing, an update in place: in `inOut`), naming the task, the array and the
    /// access (`operation`, by default "reads" or "writes", and how, `manner`: "in place (+=)").
    func checkDeclared(writing: Bool, reading: Bool = false, operation: String? = nil, manner: String? = nil) {
        guard let task = RunScope.currentTask else { return }
        let box = self.box
        let identity = ObjectIdentifier(self.storage)
        // (In a multi-device task: the device of the body, or of its `forEachDevice` iteration.)
        let device = Device.taskDevice ?? task.device
        let covers = { (entry: DeclaredAccess) in
            entry.access.storageIdentity == identity && entry.access.region.contains(box)
                && entry.isFor(device, of: task)
        }
        // (Made only for a message.)
        func access() -> String {
            "task \(task.name) \(operation ?? (writing ? "writes" : "reads")) \(self.storage.label) region \(box)"
                + (manner.map { " " + $0 } ?? "") + (task.groupDevices.isEmpty ? "" : " on \(device)")
        }
        parlaPrecondition(
            task.accesses.contains(where: covers),
            "\(access()), which it did not declare in input, output or inOut"
        )
        if writing {
            parlaPrecondition(
                task.accesses.contains { covers($0) && $0.mode.writes },
                "\(access()), which it declared only as input"
            )
        }
        if writing && reading {
            parlaPrecondition(
                task.accesses.contains { covers($0) && $0.mode == .inOut },
                "\(access()), which reads and writes it: declare it in inOut"
            )
        }
    }

    /// The region of the device's buffer.
    func view(on device: Device) -> NDArray<Element> {
        if let buffer = self.storage.state.withLock({ $0.buffers[device] }) {
            return self.components.isEmpty ? buffer : buffer.view(self.components)
        }
        guard let task = RunScope.currentTask else {
            parlaPreconditionFailure("\(self.storage.label) has no copy on \(device)")
        }
        // The task declared the region (checked before), and its copy was made valid when the task
        // started; it has been evicted since. A read brings it back.
        let run = task.withScope { $0 }
        do throws(DeviceError) {
            try self.storage.prepare(self.box, on: device, mode: .input, registry: run.registry, run: run)
        } catch {
            let what =
                "bringing back \(self.storage.label) region \(self.box), evicted from \(device) while the task ran"
            task.recordDeviceFailure(error, operation: what)
            // The task fails when its body returns; until then it reads zeros.
            let whole = NDArray<Element>.zeros(self.storage.shape)
            return self.components.isEmpty ? whole : whole.view(self.components)
        }
        return self.view(on: device)
    }

    /// Makes this region valid on `device` for an access of `mode`, stopping with the device's message
    /// when it cannot.
    func moveForAccess(on device: Device, mode: AccessMode) {
        // A task writing the region now would leave this access (and the copies it makes) stale.
        self.storage.waitForRunningWriters(overlapping: self.box)
        do {
            // Outside tasks: counted for the run whose body this is, if any.
            try self.storage.prepare(
                self.box,
                on: device,
                mode: mode,
                registry: DeviceRegistry.current,
                run: RunScope.awaiterScope
            )
        } catch {
            fatalError("cannot bring \(self.storage.label) region \(self.box) to \(device): \(error)")
        }
    }

    /// Replaces the contents (the shape may change) with `new`, on the current device; every other
    /// copy becomes invalid. Parla (Python) equivalent: `A.update(new)`.
    ///
    /// - Precondition: called on the whole array, not a view. Inside a task, the task declared the whole
    ///   array in `output` or `inOut` (outside tasks, `update` is always allowed).
    public func update(_ new: NDArray<Element>) {
        parlaPrecondition(
            self.components.isEmpty,
            "update replaces a whole PArray; assign to a region instead (\(self.storage.label))"
        )
        self.checkDeclared(writing: true, operation: "replaces (update)")
        let moved = new.to(Device.current)
        // A task whose device work has failed replaces nothing: the array keeps what it held.
        if let task = RunningTask.sink, task.hasRecordedDeviceFailure { return }
        self.storage.replace(with: moved)
    }

    /// Stops unless `components` has at most one index per axis of an array of `shape`, naming the
    /// array (`label`), the indices and the shape: `A[0, 99]` of a 1-D array is not `A[0]`.
    static func checkIndexCount(_ components: [NDIndexComponent], shape: [Int], label: String) {
        parlaPrecondition(
            components.count <= shape.count,
            "too many indices for \(label): \(components.count) given ([\(components.map(_describe).joined(separator: ", "))]) for an array of \(shape.count) dimension\(shape.count == 1 ? "" : "s") (shape \(shape))"
        )
    }

    /// The shape of this array or view (integer indices drop their axis, as in NumPy). Moves no data.
    public var shape: [Int] {
        let shape = self.storage.shape
        Self.checkIndexCount(self.components, shape: shape, label: self.storage.label)
        var result: [Int] = []
        for axis in 0..<shape.count {
            guard axis < self.components.count else {
                result.append(shape[axis])
                continue
            }
            let (_, _, count, keepsAxis) = self.components[axis].positions(inAxisOf: shape[axis], axis: axis)
            if keepsAxis { result.append(count) }
        }
        return result
    }

    /// The coherence state of this array's (or view's) copy on `device`.
    public func state(on device: Device) -> CoherenceState {
        let box = self.box
        return self.storage.state.withLock { $0.coherence.state(of: box, on: device) }
    }

    /// Drops the copy on `device`; with `keepOneCopy`, data only `device` holds moves to the CPU first
    /// (to a GPU holding nothing else, when `device` is the CPU). Returns whether the copy was dropped
    /// (without `keepOneCopy`, it is not when it holds the only valid data).
    @discardableResult
    public func evict(from device: Device, keepOneCopy: Bool = true) -> Bool {
        let fallback: Device = device == .cpu ? .gpu(0) : .cpu
        do {
            return try self.storage.evict(
                device,
                keepOneCopy: keepOneCopy,
                fallback: fallback,
                registry: DeviceRegistry.current
            )
        } catch {
            fatalError("cannot evict \(self.storage.label) from \(device): \(error)")
        }
    }

    /// A dictionary of the copies, GPUs in ascending order then `-1` for the CPU, `nil` where a device
    /// holds no valid copy: `{0: [[1, 2], [3, 4]], 1: nil, -1: [[1, 2], [3, 4]]}`. A device holding part
    /// of the region shows the valid parts: `1: {[0..<1, 0..<2]: [[1, 2]]}`.
    public var description: String {
        let devices = DeviceRegistry.current.devices
        let box = self.box
        let (pieces, buffers) = self.storage.state.withLock { ($0.coherence.pieces, $0.buffers) }
        var entries: [String] = []
        for device in devices {
            let key = "\(device.index)"
            let valid = pieces.filter { $0.holders.contains(device) }.compactMap { $0.box.intersection(box) }
            let covered = valid.reduce(0) { $0 + $1.count }
            guard let buffer = buffers[device], covered > 0 else {
                entries.append("\(key): nil")
                continue
            }
            if covered == box.count {
                let view = self.components.isEmpty ? buffer : buffer.view(self.components)
                entries.append("\(key): \(view)")
            } else {
                let parts = valid.map { part -> String in
                    let region = zip(part.lower, part.upper).map {
                        NDIndexComponent.slice(NDSlice(lowerBound: $0, upperBound: $1))
                    }
                    return "\(part): \(buffer.view(region))"
                }
                entries.append("\(key): {\(parts.joined(separator: ", "))}")
            }
        }
        return "{" + entries.joined(separator: ", ") + "}"
    }
}

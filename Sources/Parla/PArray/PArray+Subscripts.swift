import ParlaDevices

extension PArray {
    /// A region of the array, for `input`/`output`/`inOut` lists and for reading and writing inside
    /// tasks: `A[0]`, `A[1..<3]`, `A[0, 1...]`. Regions are boxes (integer indices and ranges).
    ///
    /// Parla (Python) equivalent: `A[0]`, `A[1:3]`.
    public subscript(_ indices: any NDIndex...) -> PArray {
        self.region(indices)
    }

    /// The region on the current device as an `NDArray` (`let x: NDArray<Double> = A[0]`), or, when
    /// assigned, writes the value (broadcast as in NumPy) into the current device's copy: `A[0] = x`.
    @_disfavoredOverload
    public subscript(_ indices: any NDIndex...) -> NDArray<Element> {
        get { self.region(indices).array }
        set { self.region(indices).write(newValue) }
    }

    /// One element (`let x: Double = B[0, 1]`), or, when assigned, the value written into every element
    /// of the region: `B[0, 1] = 5`.
    @_disfavoredOverload
    public subscript(_ indices: any NDIndex...) -> Element {
        get {
            let region = self.region(indices)
            let value = region.array
            parlaPrecondition(
                value.count == 1,
                "\(self.storage.label)[\(region.components.map(_describe).joined(separator: ", "))] is read as one element, but the region has shape \(value.shape) (to update a region in place, name it as a PArray: let region: PArray = A[...]; region += 1)"
            )
            return value.item()
        }
        set { self.region(indices).write(NDArray(newValue)) }
    }

    /// The region `indices` select, for indices built at run time (`A.region([0, 1..<3])` is `A[0, 1..<3]`).
    ///
    /// On a region, the indices select within it, as with `NDArray` views: `A[2..<6][1]` is row 3 of
    /// `A`, and `A[2..<6, 4...][1, 0]` is `A[3, 4]`.
    public func region(_ indices: [any NDIndex]) -> PArray {
        let components = indices.map(\.ndIndexComponent)
        if self.components.isEmpty { return PArray(storage: self.storage, components: components) }
        let composed = Self.compose(
            self.components,
            then: components,
            shape: self.storage.shape,
            label: self.storage.label
        )
        return PArray(storage: self.storage, components: composed)
    }

    /// The subscript of the root array (of `shape`) that `inner` selects within the region `outer`
    /// selects: integer indices of `outer` stay, and `inner` indexes the axes `outer` keeps, in order.
    static func compose(
        _ outer: [NDIndexComponent],
        then inner: [NDIndexComponent],
        shape: [Int],
        label: String
    ) -> [NDIndexComponent] {
        // Per axis of the root: where the outer region starts, how long it is, and whether it keeps
        // the axis (a region is a box, so its steps are 1).
        let outerBox = Self.region(of: outer, in: shape, label: label)
        var composed: [NDIndexComponent] = []
        var kept: [Int] = []
        for axis in shape.indices {
            let keepsAxis: Bool
            if axis < outer.count, case .position = outer[axis] { keepsAxis = false } else { keepsAxis = true }
            if keepsAxis {
                kept.append(axis)
                composed.append(
                    .slice(NDSlice(lowerBound: outerBox.lower[axis], upperBound: outerBox.upper[axis]))
                )
            } else {
                composed.append(.position(outerBox.lower[axis]))
            }
        }
        let regionShape = kept.map { outerBox.upper[$0] - outerBox.lower[$0] }
        parlaPrecondition(
            inner.count <= kept.count,
            "too many indices for a region \(outerBox) of \(label): \(inner.count) given ([\(inner.map(_describe).joined(separator: ", "))]) for a region of \(kept.count) dimension\(kept.count == 1 ? "" : "s") (shape \(regionShape))"
        )
        for (position, component) in inner.enumerated() {
            let axis = kept[position]
            let (start, step, count, keepsAxis) = component.positions(inAxisOf: regionShape[position], axis: position)
            parlaPrecondition(
                step == 1 || count <= 1,
                "PArray regions are boxes: a step of \(step) on axis \(position) of region \(outerBox) is not supported (\(label))"
            )
            let lower = outerBox.lower[axis] + start
            composed[axis] =
                keepsAxis ? .slice(NDSlice(lowerBound: lower, upperBound: lower + count)) : .position(lower)
        }
        return composed
    }

    /// The region `indices` select, on the current device, or, when assigned, written there (for
    /// indices built at run time: `A[indices: [0, 1..<3]] = x`).
    public subscript(indices indices: [any NDIndex]) -> NDArray<Element> {
        get { self.region(indices).array }
        set { self.region(indices).write(newValue) }
    }

    /// Writes `value` into this region of the current device's copy. Outside tasks the write happens on
    /// the CPU (after making the region valid there); inside a task the task declared the region.
    func write(_ value: NDArray<Element>) {
        let device = Device.taskDevice ?? .cpu
        let value = value.to(device)
        self.modifyInPlace("writes") { buffer, components in buffer.assign(value, to: components) }
    }

    /// Runs `update` on the current device's copy of the whole array (with this region's components),
    /// under the array's lock, once the copy is the array's own: what writes and in-place operations do.
    /// Outside tasks this happens on the CPU (after making the region valid there); inside a task the
    /// task declared the region for writing (`operation` names the access in the message otherwise).
    func modifyInPlace(
        _ operation: String,
        _ update: (inout NDArray<Element>, [NDIndexComponent]) -> Void
    ) {
        let taskDevice = Device.taskDevice
        let device = taskDevice ?? .cpu
        if taskDevice != nil {
            self.checkDeclared(writing: true, operation: operation)
        } else {
            self.moveForAccess(on: .cpu, mode: .inOut)
        }
        let components = self.components
        let task = RunningTask.sink
        // A task whose device work has failed writes nothing more: the region keeps what it held.
        if let task, task.hasRecordedDeviceFailure { return }
        while true {
            // The buffer becomes this array's own first (copied outside the lock when the program shares
            // it), so that the write cannot replace it by a copy that fails half-way.
            let step = self.storage.state.withLock { state -> WriteStep in
                guard state.buffers[device] != nil else {
                    parlaPreconditionFailure(
                        "\(self.storage.label) has no copy on \(device); declare it in the task's output or inOut"
                    )
                }
                if PArrayStorage.bufferIsShared(on: device, in: &state) {
                    if let busy = state.moves.first(where: { $0.destinations.contains(device) }) { return .wait(busy) }
                    return .unshare(self.storage.beginUnsharing(on: device, in: &state))
                }
                if let record = RunScope.currentTask { self.storage.noteWrite(by: record, on: device, box: self.box) }
                update(&state.buffers[device]!, components)
                return .written
            }
            switch step {
            case .written:
                return
            case .wait(let move):
                move.waitUntilFinished()
            case .unshare(let unsharing):
                do throws(DeviceError) {
                    try self.storage.unshare(unsharing)
                } catch {
                    // (Inside a task, copies no running task uses give way, or the task waits for room.)
                    if case .outOfMemory(_, let requested, _) = error, let task,
                        task.makeRoom(on: device, needing: requested)
                    {
                        continue
                    }
                    let what = "making \(self.storage.label)'s copy on \(device) its own before a write"
                    guard let task else { fatalError("\(what) failed: \(error)") }
                    task.recordDeviceFailure(error, operation: what)
                    return
                }
            }
        }
    }

    /// What ``modifyInPlace(_:_:)`` does next.
    private enum WriteStep {
        case written
        case wait(PendingMove)
        case unshare(PArrayStorage<Element>.Unsharing)
    }

    // MARK: Forwarded queries (on the current device's copy)

    /// `array.sum(axis:)`: sums of `Int32`s and `UInt8`s are `Int`s, as in NumPy (see
    /// `NDElement.SumElement`).
    public func sum(axis: Int? = nil) -> NDArray<Element.SumElement> { self.array.sum(axis: axis) }
    /// `array.min(axis:)`.
    public func min(axis: Int? = nil) -> NDArray<Element> { self.array.min(axis: axis) }
    /// `array.max(axis:)`.
    public func max(axis: Int? = nil) -> NDArray<Element> { self.array.max(axis: axis) }
    /// `array.argmax(axis:)`. Parla (Python): `A.argmax(axis=1)`.
    public func argmax(axis: Int? = nil) -> NDArray<Int> { self.array.argmax(axis: axis) }
    /// `array.argmin(axis:)`.
    public func argmin(axis: Int? = nil) -> NDArray<Int> { self.array.argmin(axis: axis) }
    /// `array.ndim`.
    public var ndim: Int { self.shape.count }
    /// `array.count`.
    public var count: Int { self.shape.reduce(1, *) }
}

extension PArray where Element: NDFloatingElement {
    /// `array.mean(axis:)`.
    public func mean(axis: Int? = nil) -> NDArray<Element> { self.array.mean(axis: axis) }
}

extension PArray where Element: NDIntegerElement {
    /// `array.mean(axis:)`: the mean of integers, as `Double`s (as in NumPy).
    public func mean(axis: Int? = nil) -> NDArray<Double> { self.array.mean(axis: axis) }
}

/// A `PArray` or a region of one, as listed in a task's `input`, `output` or `inOut`.
///
/// `PArray` conforms, and ``TaskDeviceRegion`` (a region for one device of a multi-device task): the
/// requirement hands the runtime its view of the region.
public protocol PArrayAccess: Sendable {
    /// The region as a task's declaration of it: which array, which elements.
    var declaredRegion: PArrayAccessRegion { get }
}

/// A region of a `PArray` listed in a task's accesses, as the runtime reads it; only `PArray` makes
/// one (see ``PArrayAccess``).
public struct PArrayAccessRegion: Sendable {
    let base: any DeclaredRegion
    /// The position, among the task's devices, of the one device the region is for (`nil`: the
    /// task's device; for a multi-device task's input, each of its devices).
    let deviceIndex: Int?

    init(base: any DeclaredRegion, deviceIndex: Int? = nil) {
        self.base = base
        self.deviceIndex = deviceIndex
    }
}

extension PArray: PArrayAccess {
    /// This array or region.
    public var declaredRegion: PArrayAccessRegion { PArrayAccessRegion(base: self) }
}

/// What the runtime does with a listed `PArray` (internal: `PArrayAccess`'s requirement is opaque).
protocol DeclaredRegion: PArrayAccess {
    /// The array (shared by all its regions).
    var storageIdentity: ObjectIdentifier { get }
    /// The region.
    var region: Box { get }
    /// The array's per-device validity bits.
    var wholeValidity: WholeValidity { get }
    /// Makes the region valid on `device` for `mode`, counting the bytes moved for `run`; nothing moves
    /// when `isObsolete` says so (checked under the array's lock). A `writer` is recorded as writing
    /// the region from then until ``endWrite(by:failed:)`` (see `PArrayStorage.beginWrite`).
    func prepare(
        on device: Device,
        mode: AccessMode,
        run: RunScope,
        writer: TaskRecord?,
        isObsolete: (() -> Bool)?
    ) throws(DeviceError)
    /// A name for messages.
    var label: String { get }
    /// Records that `task`, which wrote the region, has finished (when it `failed`, the region is put
    /// back as it was before the task started).
    func endWrite(by task: TaskRecord, failed: Bool)
    /// The earlier tasks of run `run` whose accesses conflict with this one (and how they accessed),
    /// recording this one (by task `task`, use `generation` of its record); with `keepFinished`,
    /// finished tasks stay recorded (to check races in `.explicit` mode). With `upcomingOrder` (the
    /// task's spawn order, in runs whose devices may evict), the access is also recorded as a use to come.
    func inferDependencies(
        of task: TaskRecord,
        generation: UInt32,
        run: Int,
        mode: AccessMode,
        keepFinished: Bool,
        upcomingOrder: UInt64?
    ) -> [AccessConflict]
    /// The array, as the device memory books know it.
    var resident: any ResidentArray { get }
    /// The bytes of the array's whole buffer on a device.
    var bufferBytes: Int { get }
    /// What choosing each of `candidates` for a task declaring this region with `mode` would take: see
    /// ``AccessLocality``.
    func locality(mode: AccessMode, on candidates: [Device], links: DeviceLinks) -> [AccessLocality]
}

extension PArray: DeclaredRegion {
    var storageIdentity: ObjectIdentifier { ObjectIdentifier(self.storage) }
    var region: Box { self.box }
    var wholeValidity: WholeValidity { self.storage.wholeValidity }

    func prepare(
        on device: Device,
        mode: AccessMode,
        run: RunScope,
        writer: TaskRecord?,
        isObsolete: (() -> Bool)?
    ) throws(DeviceError) {
        try self.storage.prepare(
            self.box,
            on: device,
            mode: mode,
            registry: run.registry,
            run: run,
            writer: writer,
            isObsolete: isObsolete
        )
    }

    var label: String { self.storage.label }

    func endWrite(by task: TaskRecord, failed: Bool) { self.storage.endWrite(by: task, failed: failed) }

    func inferDependencies(
        of task: TaskRecord,
        generation: UInt32,
        run: Int,
        mode: AccessMode,
        keepFinished: Bool,
        upcomingOrder: UInt64?
    ) -> [AccessConflict] {
        self.storage.inferDependencies(
            of: task,
            generation: generation,
            run: run,
            box: self.box,
            isWhole: self.components.isEmpty,
            mode: mode,
            keepFinished: keepFinished,
            upcomingOrder: upcomingOrder
        )
    }

    var resident: any ResidentArray { self.storage }

    var bufferBytes: Int { self.storage.bufferBytes }

    func locality(mode: AccessMode, on candidates: [Device], links: DeviceLinks) -> [AccessLocality] {
        self.storage.locality(of: self.box, mode: mode, on: candidates, links: links)
    }
}

import ParlaDevices

extension NDArray {
    /// A new contiguous array of `shape` on `backend`'s device, elements not yet initialized.
    @usableFromInline
    init(_uninitializedShape shape: [Int], on backend: any DeviceBackend) {
        let count = _checkedCount(of: shape, Element.self)
        self.init(
            _storage: NDStorage(uninitializedCapacity: count, device: backend.device, backend: backend),
            shape: shape,
            strides: _contiguousStrides(for: shape),
            offset: 0
        )
    }

    /// The backend of the device holding the elements.
    @usableFromInline
    var _backend: any DeviceBackend { self._storage.allocation.backend }

    /// The kernels of the device, when the host cannot compute on its memory (a CUDA GPU).
    @usableFromInline
    var _deviceKernels: (any DeviceKernels)? {
        self._storage.isHostAddressable ? nil : self._backend.kernels
    }

    /// This array as a kernel operand, read with `strides` (its own, or broadcast ones).
    @usableFromInline
    func _operand(strides: [Int]? = nil) -> KernelOperand {
        self._storage.allocation.noteDeviceUse()
        return KernelOperand(
            allocation: self._storage.allocation,
            offset: self._offset,
            strides: strides ?? self.strides,
            dtype: Element.dtype
        )
    }

    /// Runs a device call. Inside a task, a failure is recorded for the task (which fails when its body
    /// returns), and once one is recorded the task's later device calls are skipped; outside tasks a
    /// failure stops with the device's message.
    @usableFromInline
    func _onDevice(_ what: String, _ body: () throws(DeviceError) -> Void) {
        let task = RunningTask.sink
        if let task, task.hasRecordedDeviceFailure { return }
        do {
            try body()
        } catch {
            guard let task else { fatalError("\(what) on \(self.device) failed: \(error)") }
            task.recordDeviceFailure(error, operation: "\(what) on \(self.device)")
        }
    }

    /// A copy of this array on `device` (the array itself when it is already there).
    ///
    /// Parla (Python) equivalent: `cupy.asarray(a)` / `a.get()`, or PArray's automatic movement.
    ///
    /// - Precondition: `device` exists in the current device selection. Outside tasks, it must also
    ///   have room for the copy, and the copy must succeed (use ``copy(to:)`` to handle those failures);
    ///   inside a task, either failure fails the task, and the result holds no data.
    public func to(_ device: Device) -> NDArray {
        if device == self.device { return self }
        let task = RunningTask.sink
        if let task, task.hasRecordedDeviceFailure {
            return NDArray(
                _uninitializedShape: self.shape,
                on: (try? DeviceRegistry.current.backend(for: device)) ?? self._backend
            )
        }
        do {
            return try self.copy(to: device)
        } catch {
            let what =
                "moving an array of shape \(self.shape) (\(self.count * MemoryLayout<Element>.stride) bytes) from \(self.device) to \(device)"
            if case .noSuchDevice = error { fatalError("\(what) failed: \(error)") }
            guard let task else { fatalError("\(what) failed: \(error)") }
            task.recordDeviceFailure(error, operation: what)
            return NDArray(
                _uninitializedShape: self.shape,
                on: (try? DeviceRegistry.current.backend(for: device)) ?? self._backend
            )
        }
    }

    /// A copy of this array on `device`, or the array itself when it is already there.
    ///
    /// - Throws: `DeviceError.noSuchDevice` when the device is not in the current
    ///   selection, `DeviceError.outOfMemory` when it has no room.
    public func copy(to device: Device) throws(DeviceError) -> NDArray {
        if device == self.device { return self }
        let target = try DeviceRegistry.current.backend(for: device)
        let source = self.contiguous()
        let result = NDArray(
            _storage: try NDStorage(makingRoomFor: source.count, on: target),
            shape: source.shape,
            strides: _contiguousStrides(for: source.shape),
            offset: 0
        )
        let bytes = source.count * MemoryLayout<Element>.stride
        let event = try DeviceCopies.copy(
            from: source._storage.allocation,
            at: source._offset * MemoryLayout<Element>.stride,
            to: result._storage.allocation,
            at: 0,
            byteCount: bytes
        )
        try event.wait()
        return result
    }

    /// A new contiguous array of `shape` on `backend`'s device whose elements are not initialized, or
    /// the device's allocation error. For the runtime's whole-array buffers.
    package static func allocate(shape: [Int], on backend: any DeviceBackend) throws(DeviceError) -> NDArray {
        let count = _checkedCount(of: shape, Element.self)
        return NDArray(
            _storage: try NDStorage(uninitializedCapacity: count, on: backend),
            shape: shape,
            strides: _contiguousStrides(for: shape),
            offset: 0
        )
    }

    /// The memory of this contiguous array and the position of its first element in it, for the
    /// runtime's moves between whole-array buffers (which hold the memory, not the storage: holding the
    /// storage would make the buffer's owner copy it on its next write).
    package var memory: (allocation: DeviceAllocation, elementOffset: Int) {
        parlaPrecondition(self.isContiguous, "the memory of a non-contiguous array has no single run of elements")
        return (self._storage.allocation, self._offset)
    }

    /// This array with its elements readable by the host: itself, or a copy on the CPU.
    @usableFromInline
    var _hostReadable: NDArray {
        self._storage.isHostAddressable ? self : self.to(.cpu)
    }

    // MARK: Device dispatch of element-wise operations

    /// `operation(self, other)` element by element with broadcasting: on the device's kernels, or on
    /// the host.
    @inlinable
    func _binary<Operation: BinaryOperation>(_ operation: Operation.Type, _ other: NDArray) -> NDArray {
        _checkSameDevice(self.device, other.device)
        guard let kernels = self._deviceKernels else {
            return self._zipMap(other) { Element._apply(Operation.self, $0, $1) }
        }
        let shape = _broadcastShape(self.shape, other.shape)
        let result = NDArray(_uninitializedShape: shape, on: self._backend)
        self._onDevice("\(Operation.kernelOperator)") { () throws(DeviceError) in
            try kernels.elementwise(
                .binary(Operation.kernelOperator),
                shape: shape,
                output: result._operand(),
                inputs: [
                    self._operand(strides: _broadcastStrides(shape: self.shape, strides: self.strides, to: shape)),
                    other._operand(strides: _broadcastStrides(shape: other.shape, strides: other.strides, to: shape)),
                ],
                scalar: nil
            )
        }
        return result
    }

    /// `operation(self, scalar)` (or `operation(scalar, self)` when `scalarFirst`) element by element.
    @inlinable
    func _binary<Operation: BinaryOperation>(
        _ operation: Operation.Type,
        scalar: Element,
        scalarFirst: Bool
    ) -> NDArray {
        guard let kernels = self._deviceKernels else {
            return scalarFirst
                ? self._map(with: scalar) { x, scalar in Element._apply(Operation.self, scalar, x) }
                : self._map(with: scalar) { x, scalar in Element._apply(Operation.self, x, scalar) }
        }
        let result = NDArray(_uninitializedShape: self.shape, on: self._backend)
        self._onDevice("\(Operation.kernelOperator)") { () throws(DeviceError) in
            try kernels.elementwise(
                scalarFirst
                    ? .binaryWithScalarLeft(Operation.kernelOperator)
                    : .binaryWithScalarRight(Operation.kernelOperator),
                shape: self.shape,
                output: result._operand(),
                inputs: [self._operand()],
                scalar: scalar._kernelScalar
            )
        }
        return result
    }

    /// `operation(self)` element by element.
    @inlinable
    func _unary<Operation: UnaryOperation>(_ operation: Operation.Type) -> NDArray {
        guard let kernels = self._deviceKernels else {
            return self._map(with: ()) { x, _ in Element._apply(Operation.self, x) }
        }
        let result = NDArray(_uninitializedShape: self.shape, on: self._backend)
        self._onDevice("\(Operation.kernelOperator)") { () throws(DeviceError) in
            try kernels.elementwise(
                .unary(Operation.kernelOperator),
                shape: self.shape,
                output: result._operand(),
                inputs: [self._operand()],
                scalar: nil
            )
        }
        return result
    }

    /// Writes `source` (same device, broadcast to this array's shape) into this array's elements on the
    /// device; the storage must already be uniquely referenced.
    @usableFromInline
    func _deviceAssign(from source: NDArray, kernels: any DeviceKernels) {
        self._onDevice("assignment") { () throws(DeviceError) in
            try kernels.elementwise(
                .unary(.copy),
                shape: self.shape,
                output: self._operand(),
                inputs: [
                    source._operand(
                        strides: _broadcastStrides(shape: source.shape, strides: source.strides, to: self.shape)
                    )
                ],
                scalar: nil
            )
        }
    }

    /// Writes `value` into every element of this array's view on the device.
    @usableFromInline
    func _deviceFill(_ value: Element, kernels: any DeviceKernels) {
        self._onDevice("fill") { () throws(DeviceError) in
            try kernels.elementwise(
                .fill,
                shape: self.shape,
                output: self._operand(),
                inputs: [],
                scalar: value._kernelScalar
            )
        }
    }
}

extension NDElement {
    /// The value as a kernel argument.
    @inlinable
    var _kernelScalar: KernelScalar {
        Self.dtype.isFloatingPoint ? .float(Double._converting(self)) : .integer(Int64(Int._converting(self)))
    }
}

extension NDArray {
    /// Calls `body` with the address of the first element of this array's view: a device address on
    /// a CUDA GPU (what CUDA libraries take), a host address on the CPU and virtual GPUs. The memory
    /// stays allocated while `body` runs; work queued on it must finish before the array is dropped
    /// (inside a task, on the task's `CUDAStream`, it does). Strides are in ``strides``.
    ///
    /// Parla (Python) equivalent: `a.data.ptr` of a CuPy array.
    public func withUnsafeDeviceAddress<R, Failure: Error>(
        _ body: (UInt64) throws(Failure) -> R
    ) throws(Failure) -> R {
        self._storage.allocation.noteDeviceUse()
        let address = self._storage.allocation.address + UInt64(self._offset * MemoryLayout<Element>.stride)
        return try withExtendedLifetime(self._storage) { () throws(Failure) -> R in try body(address) }
    }
}

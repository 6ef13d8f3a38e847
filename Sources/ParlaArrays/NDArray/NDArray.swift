import ParlaDevices

/// An N-dimensional array with NumPy semantics: a strided view (shape, strides, offset) over storage
/// on one device.
///
/// Parla (Python) equivalent: a NumPy `ndarray` on the CPU, a CuPy `ndarray` on a GPU.
///
/// `NDArray` is a value type with copy-on-write storage. Views (`a[0]`, `a.transposed`, broadcasts)
/// share storage with the array they come from and cost no copy; writing to either one copies the
/// storage first if it is shared, so a view never sees a later write to its source, and the other way
/// round. Assigning through a subscript (`a[0] = row`, `a[0..<2, 1] = 5`) writes into `a`.
///
/// It is deliberately not a `Collection`: `a[0]` of a 2-D array is row 0 (a view), as in NumPy.
///
/// ```swift
/// let a = NDArray([[1.0, 2.0], [3.0, 4.0]])
/// let b = sqrt(a + 1) * a.transposed
/// print(b.sum(axis: 0))
/// ```
public struct NDArray<Element: NDElement>: Sendable {
    @usableFromInline
    var _storage: NDStorage<Element>

    /// The extent of each axis.
    public let shape: [Int]

    /// The distance, in elements, between neighbours along each axis; `0` on a broadcast axis.
    public let strides: [Int]

    @usableFromInline
    let _offset: Int

    @inlinable
    init(_storage: NDStorage<Element>, shape: [Int], strides: [Int], offset: Int) {
        self._storage = _storage
        self.shape = shape
        self.strides = strides
        self._offset = offset
    }

    /// A new array of the given shape whose elements are not yet initialized; the caller writes them all.
    @inlinable
    init(_uninitializedShape shape: [Int]) {
        let count = _checkedCount(of: shape, Element.self)
        self.init(
            _storage: NDStorage(uninitializedCapacity: count),
            shape: shape,
            strides: _contiguousStrides(for: shape),
            offset: 0
        )
    }

    /// The number of axes. Parla/NumPy: `a.ndim`.
    @inlinable
    public var ndim: Int { self.shape.count }

    /// The number of elements (the product of the shape; 1 for a 0-d array). Parla/NumPy: `a.size`.
    @inlinable
    public var count: Int { self.shape.reduce(1, *) }

    /// The device whose memory holds the elements.
    public var device: Device { self._storage.device }

    /// Whether the elements lie in row-major order with no gaps (C-contiguous).
    @inlinable
    public var isContiguous: Bool {
        if self.shape.contains(0) { return true }
        var expected = 1
        for axis in stride(from: self.ndim - 1, through: 0, by: -1) where self.shape[axis] != 1 {
            if self.strides[axis] != expected { return false }
            expected *= self.shape[axis]
        }
        return true
    }

    /// The one element of an array of exactly one element. Parla/NumPy: `a.item()`.
    ///
    /// - Precondition: `count == 1`.
    public func item() -> Element {
        parlaPrecondition(
            self.count == 1,
            "item() needs an array of exactly one element, but this array has shape \(self.shape) (\(self.count) elements)"
        )
        let readable = self._hostReadable
        return readable._storage.base[readable._offset]
    }

    /// Makes the storage uniquely referenced (copying it when it is shared), so that it may be written.
    ///
    /// A broadcast array (a stride of 0 on an axis longer than 1) is copied too: its elements share
    /// memory, and writing one must not change the others.
    @inlinable
    mutating func _makeUnique() {
        if !isKnownUniquelyReferenced(&self._storage) || self._hasSharedElements {
            self = self._copiedContiguous()
        }
    }

    /// Whether ``makeStorageUnique()`` would copy: the storage is shared with another array value, or
    /// positions of the array share elements.
    package mutating func storageIsShared() -> Bool {
        !isKnownUniquelyReferenced(&self._storage) || self._hasSharedElements
    }

    /// Makes the storage this array's own (copying it when shared), before the runtime writes into it
    /// directly (device copies bypass copy-on-write). When the copy cannot be made (no memory, a failing
    /// kernel), the array is unchanged and the device's error is thrown: the runtime's buffers never
    /// hold a copy that did not complete.
    package mutating func makeStorageUnique() throws(DeviceError) {
        guard !isKnownUniquelyReferenced(&self._storage) || self._hasSharedElements else { return }
        var copy = NDArray(
            _storage: try NDStorage(
                uninitializedCapacity: _checkedCount(of: self.shape, Element.self),
                on: self._backend
            ),
            shape: self.shape,
            strides: _contiguousStrides(for: self.shape),
            offset: 0
        )
        if let kernels = self._deviceKernels {
            try kernels.elementwise(
                .unary(.copy),
                shape: self.shape,
                output: copy._operand(),
                inputs: [self._operand()],
                scalar: nil
            )
        } else {
            copy._assignElements(from: self)
        }
        self = copy
    }

    /// Whether two positions of the array address the same element (a broadcast axis).
    @inlinable
    var _hasSharedElements: Bool {
        zip(self.shape, self.strides).contains { extent, stride in stride == 0 && extent > 1 }
    }

    /// A fresh contiguous copy with its own storage.
    @inlinable
    func _copiedContiguous() -> NDArray {
        var result = NDArray(_uninitializedShape: self.shape, on: self._backend)
        if let kernels = self._deviceKernels {
            result._deviceAssign(from: self, kernels: kernels)
        } else {
            result._assignElements(from: self)
        }
        return result
    }

    /// Calls `body` with a pointer to the first element of this array's view (at its offset), for reading.
    @inlinable
    func _withBasePointer<R>(_ body: (UnsafeMutablePointer<Element>) throws -> R) rethrows -> R {
        parlaPrecondition(self._storage.isHostAddressable, "the host cannot address the memory of \(self.device)")
        return try withExtendedLifetime(self._storage) {
            try body(self._storage.base + self._offset)
        }
    }

    /// Calls `body` with the elements in row-major order, copying them only when the array is not
    /// contiguous.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        if !self._storage.isHostAddressable { return try self.to(.cpu).withUnsafeBufferPointer(body) }
        if self.isContiguous {
            return try self._withBasePointer { try body(UnsafeBufferPointer(start: $0, count: self.count)) }
        }
        return try self.contiguous().withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the elements in row-major order for writing; the array is made contiguous and
    /// uniquely owned first.
    ///
    /// - Precondition: the host can address the array's memory (it is on the CPU or a virtual GPU).
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Element>) throws -> R
    ) rethrows -> R {
        parlaPrecondition(
            self._storage.isHostAddressable,
            "the host cannot write the memory of \(self.device) directly; move the array with .to(cpu) first"
        )
        if !self.isContiguous || !isKnownUniquelyReferenced(&self._storage) {
            self = self._copiedContiguous()
        }
        let count = self.count
        return try self._withBasePointer { try body(UnsafeMutableBufferPointer(start: $0, count: count)) }
    }

    /// The elements in row-major order, as a Swift array.
    public var elements: [Element] {
        self.withUnsafeBufferPointer { Array($0) }
    }
}

/// Row-major strides for `shape`.
@inlinable
func _contiguousStrides(for shape: [Int]) -> [Int] {
    KernelLayout.contiguousStrides(for: shape)
}

/// The element count of an array of `shape` whose elements are `Element`s, stopping with a message
/// naming the shape when an extent is negative, or when the elements or their bytes are too many to
/// count in an `Int` (as NumPy, which checks the product of the non-zero extents: such a shape cannot
/// be allocated, and its strides and offsets would overflow).
@inlinable
func _checkedCount<Element>(of shape: [Int], _: Element.Type) -> Int {
    for (axis, extent) in shape.enumerated() {
        parlaPrecondition(extent >= 0, "shape \(shape) has a negative extent \(extent) on axis \(axis)")
    }
    var nonZero = 1
    for extent in shape where extent != 0 {
        let (product, overflow) = nonZero.multipliedReportingOverflow(by: extent)
        parlaPrecondition(
            !overflow,
            "shape \(shape) is too large: its extents multiply to more than Int.max (\(Int.max)) elements"
        )
        nonZero = product
    }
    let size = MemoryLayout<Element>.stride
    parlaPrecondition(
        !nonZero.multipliedReportingOverflow(by: size).overflow,
        "shape \(shape) is too large: \(nonZero) elements of \(Element.self) (\(size) bytes each) take more than Int.max (\(Int.max)) bytes"
    )
    return shape.contains(0) ? 0 : nonZero
}

import ParlaDevices

extension NDArray {
    /// The array with its axes reversed (a view, no copy). NumPy: `a.T`.
    public var transposed: NDArray {
        NDArray(
            _storage: self._storage,
            shape: self.shape.reversed(),
            strides: self.strides.reversed(),
            offset: self._offset
        )
    }

    /// The array with its axes in the order `axes` (a view, no copy). NumPy: `a.transpose(axes)`.
    ///
    /// - Precondition: `axes` is a permutation of `0..<ndim`.
    public func transposed(_ axes: [Int]) -> NDArray {
        parlaPrecondition(
            axes.sorted() == Array(0..<self.ndim),
            "axes \(axes) are not a permutation of the \(self.ndim) axes of an array of shape \(self.shape)"
        )
        return NDArray(
            _storage: self._storage,
            shape: axes.map { self.shape[$0] },
            strides: axes.map { self.strides[$0] },
            offset: self._offset
        )
    }

    /// The same elements in row-major order with another shape; one extent may be `-1` (inferred).
    /// A view when the layout allows it, else a copy. NumPy: `a.reshape(shape)`.
    ///
    /// - Precondition: the new shape has as many elements as this array.
    public func reshaped(_ newShape: [Int]) -> NDArray {
        var shape = newShape
        let inferred = shape.indices.filter { shape[$0] == -1 }
        parlaPrecondition(inferred.count <= 1, "can only infer one extent in reshape to \(newShape)")
        if let axis = inferred.first {
            var others = shape
            others.remove(at: axis)
            let known = _checkedCount(of: others, Element.self)
            parlaPrecondition(
                known > 0 && self.count % known == 0,
                "cannot reshape an array of \(self.count) elements (shape \(self.shape)) into shape \(newShape)"
            )
            shape[axis] = self.count / known
        }
        let newCount = _checkedCount(of: shape, Element.self)
        parlaPrecondition(
            newCount == self.count,
            "cannot reshape an array of \(self.count) elements (shape \(self.shape)) into shape \(shape) of \(newCount) elements"
        )
        let source = self.isContiguous ? self : self.contiguous()
        return NDArray(
            _storage: source._storage,
            shape: shape,
            strides: _contiguousStrides(for: shape),
            offset: source._offset
        )
    }

    /// A copy with storage of its own, contiguous, on the same device (the data is copied even when
    /// the array is contiguous already). NumPy: `a.copy()`.
    public func copy() -> NDArray { self._copiedContiguous() }

    /// A row-major, gap-free array with these elements: `self` when it already is one, else a copy.
    /// NumPy: `np.ascontiguousarray(a)`.
    public func contiguous() -> NDArray {
        self.isContiguous ? self : self._copiedContiguous()
    }

    /// A copy with every element converted to `type`: floats truncate toward zero (saturating) when
    /// converted to integers, integers wrap when narrowed. NumPy: `a.astype(dtype)`.
    public func astype<Target: NDElement>(_ type: Target.Type) -> NDArray<Target> {
        if Target.self == Element.self { return unsafeBitCast(self._copiedContiguous(), to: NDArray<Target>.self) }
        guard let kernels = self._deviceKernels else { return self._hostCast(to: Target.self) }
        let result = NDArray<Target>(_uninitializedShape: self.shape, on: self._backend)
        self._onDevice("astype(\(Target.self))") { () throws(DeviceError) in
            try kernels.elementwise(
                .cast,
                shape: self.shape,
                output: result._operand(),
                inputs: [self._operand()],
                scalar: nil
            )
        }
        return result
    }

    /// A view of the array broadcast to `shape` (stride 0 on repeated axes). NumPy: `np.broadcast_to`.
    ///
    /// - Precondition: the shapes are compatible under NumPy's broadcasting rules.
    public func broadcast(to shape: [Int]) -> NDArray {
        _ = _checkedCount(of: shape, Element.self)
        return NDArray(
            _storage: self._storage,
            shape: shape,
            strides: _broadcastStrides(shape: self.shape, strides: self.strides, to: shape),
            offset: self._offset
        )
    }

    /// The array flattened to one dimension (a view when contiguous). NumPy: `a.ravel()`.
    public func flattened() -> NDArray { self.reshaped([self.count]) }
}

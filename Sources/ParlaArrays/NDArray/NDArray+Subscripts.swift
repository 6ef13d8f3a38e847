import ParlaDevices

extension NDArray {
    /// The view selected by `components`, sharing this array's storage (what the subscripts return).
    package func view(_ components: [NDIndexComponent]) -> NDArray {
        let region = _resolveRegion(components, shape: self.shape, strides: self.strides)
        return NDArray(
            _storage: self._storage,
            shape: region.shape,
            strides: region.strides,
            offset: self._offset + region.offset
        )
    }

    /// Makes the storage this array's own (copy-on-write), then runs `body` on the view `components`
    /// select, which it writes in place (what assignments, the in-place operations and PArray's regions
    /// do). The region is resolved after the copy, against the strides of the storage actually written.
    package mutating func updateRegion(_ components: [NDIndexComponent], _ body: (inout NDArray) -> Void) {
        self._makeUnique()
        let region = _resolveRegion(components, shape: self.shape, strides: self.strides)
        var target = NDArray(
            _storage: self._storage,
            shape: region.shape,
            strides: region.strides,
            offset: self._offset + region.offset
        )
        body(&target)
    }

    /// Writes `value`, broadcast to the region selected by `components`, into this array (what the
    /// subscript setters do).
    package mutating func assign(_ value: NDArray, to components: [NDIndexComponent]) {
        _checkSameDevice(self.device, value.device)
        // Copy-on-write first: if `value` is a view of this array, this also gives the write its own
        // storage, so overlapping source and destination regions cannot corrupt each other.
        let shape = self.shape
        self.updateRegion(components) { target in
            // As in NumPy, leading axes of extent 1 in the value are dropped (`a[0] = ones([1, 3])`).
            var value = value
            while value.ndim > target.ndim && value.shape[0] == 1 {
                value = NDArray(
                    _storage: value._storage,
                    shape: Array(value.shape.dropFirst()),
                    strides: Array(value.strides.dropFirst()),
                    offset: value._offset
                )
            }
            let broadcastable =
                value.ndim <= target.ndim
                && zip(value.shape.reversed(), target.shape.reversed()).allSatisfy { $0 == $1 || $0 == 1 }
            parlaPrecondition(
                broadcastable,
                "could not broadcast a value of shape \(value.shape) into the region of shape \(target.shape) selected by \(components.map(_describe)) of an array of shape \(shape)"
            )
            if let kernels = target._deviceKernels {
                target._deviceAssign(from: value, kernels: kernels)
            } else {
                target._assignElements(from: value)
            }
        }
    }

    /// Writes `value` into every element of the region selected by `components`.
    @usableFromInline
    mutating func _fill(_ value: Element, in components: [NDIndexComponent]) {
        guard let kernels = self._deviceKernels else {
            // The host writes this device's memory; the value is a 0-d array beside it.
            let scalar = NDArray(_uninitializedShape: [], on: self._backend)
            scalar._storage.base.initialize(to: value)
            self.assign(scalar, to: components)
            return
        }
        self.updateRegion(components) { $0._deviceFill(value, kernels: kernels) }
    }

    /// Reads the one element of the region selected by `components`.
    @usableFromInline
    func _element(at components: [NDIndexComponent]) -> Element {
        let view = self.view(components)
        parlaPrecondition(
            view.count == 1,
            "reading one element needs an index for every axis, but \(components.map(_describe)) selects shape \(view.shape) of an array of shape \(self.shape)"
        )
        return view.item()
    }

    /// A view (no copy) of the region the indices select; assigning to it writes that region.
    ///
    /// NumPy: `a[0]`, `a[1:3, 0]`, `a[::2]`. Integer indices drop their axis, ranges keep it; missing
    /// trailing indices select whole axes. Assigning broadcasts the value as NumPy does.
    public subscript(_ indices: any NDIndex...) -> NDArray {
        get { self.view(indices.map(\.ndIndexComponent)) }
        set { self.assign(newValue, to: indices.map(\.ndIndexComponent)) }
    }

    /// One element (`let x: Double = a[0, 1]`), or, when assigned, the value written into every element
    /// of the region (`a[0] = 5`, `a[0, 1] = 5`).
    @_disfavoredOverload
    public subscript(_ indices: any NDIndex...) -> Element {
        get { self._element(at: indices.map(\.ndIndexComponent)) }
        set { self._fill(newValue, in: indices.map(\.ndIndexComponent)) }
    }

    /// A view with `...` as the first index: the whole first axis. NumPy: `a[:, ...]`.
    public subscript(_ all: UnboundedRange, _ rest: any NDIndex...) -> NDArray {
        get { self.view([NDSlice.all.ndIndexComponent] + rest.map(\.ndIndexComponent)) }
        set { self.assign(newValue, to: [NDSlice.all.ndIndexComponent] + rest.map(\.ndIndexComponent)) }
    }

    /// A view with `...` as the second index: the whole second axis. NumPy: `a[i, :, ...]`.
    public subscript(_ first: any NDIndex, _ all: UnboundedRange, _ rest: any NDIndex...) -> NDArray {
        get { self.view(_components(first, rest: rest)) }
        set { self.assign(newValue, to: _components(first, rest: rest)) }
    }

    /// A view with `...` as the third index: the whole third axis. NumPy: `a[i, j, :, ...]`.
    public subscript(
        _ first: any NDIndex,
        _ second: any NDIndex,
        _ all: UnboundedRange,
        _ rest: any NDIndex...
    ) -> NDArray {
        get { self.view(_components(first, second, rest: rest)) }
        set { self.assign(newValue, to: _components(first, second, rest: rest)) }
    }

    /// A view with `...` as the first two indices. NumPy: `a[:, :, ...]`.
    public subscript(_ all0: UnboundedRange, _ all1: UnboundedRange, _ rest: any NDIndex...) -> NDArray {
        get { self.view([NDSlice.all.ndIndexComponent, NDSlice.all.ndIndexComponent] + rest.map(\.ndIndexComponent)) }
        set {
            self.assign(
                newValue,
                to: [NDSlice.all.ndIndexComponent, NDSlice.all.ndIndexComponent] + rest.map(\.ndIndexComponent)
            )
        }
    }

    /// Writes one value into every element of a region whose first index is `...`.
    @_disfavoredOverload
    public subscript(_ all: UnboundedRange, _ rest: any NDIndex...) -> Element {
        get { self._element(at: [NDSlice.all.ndIndexComponent] + rest.map(\.ndIndexComponent)) }
        set { self._fill(newValue, in: [NDSlice.all.ndIndexComponent] + rest.map(\.ndIndexComponent)) }
    }

    /// Writes one value into every element of a region whose second index is `...`.
    @_disfavoredOverload
    public subscript(_ first: any NDIndex, _ all: UnboundedRange, _ rest: any NDIndex...) -> Element {
        get { self._element(at: _components(first, rest: rest)) }
        set { self._fill(newValue, in: _components(first, rest: rest)) }
    }
}

/// The components of a subscript with `...` in second position.
@usableFromInline
func _components(_ first: any NDIndex, rest: [any NDIndex]) -> [NDIndexComponent] {
    [first.ndIndexComponent, NDSlice.all.ndIndexComponent] + rest.map(\.ndIndexComponent)
}

/// The components of a subscript with `...` in third position.
@usableFromInline
func _components(_ first: any NDIndex, _ second: any NDIndex, rest: [any NDIndex]) -> [NDIndexComponent] {
    [first.ndIndexComponent, second.ndIndexComponent, NDSlice.all.ndIndexComponent] + rest.map(\.ndIndexComponent)
}

/// A subscript component as Swift source would write it, for error messages.
@usableFromInline
package func _describe(_ component: NDIndexComponent) -> String {
    switch component {
    case .position(let index):
        return String(index)
    case .slice(let slice):
        let lower = slice.lowerBound.map(String.init) ?? ""
        let upper = slice.upperBound.map(String.init) ?? ""
        let range = lower.isEmpty && upper.isEmpty ? "..." : "\(lower)..<\(upper)"
        return slice.step == 1 ? range : "\(range) by \(slice.step)"
    }
}

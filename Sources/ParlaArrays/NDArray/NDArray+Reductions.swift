import ParlaDevices

// Reductions. Without `axis:` they return a 0-dimensional array (as CuPy does, so that a value on a GPU
// need not be synchronised to the host); `.item()` reads it. With `axis:` (negative counts from the end)
// the axis is removed from the shape.

extension NDArray {
    /// Resolves a possibly negative axis, or stops with a message naming the axis and the shape.
    @usableFromInline
    func _normalizedAxis(_ axis: Int) -> Int {
        let resolved = axis < 0 ? axis + self.ndim : axis
        parlaPrecondition(
            resolved >= 0 && resolved < self.ndim,
            "axis \(axis) is out of bounds for an array of \(self.ndim) dimension\(self.ndim == 1 ? "" : "s") (shape \(self.shape))"
        )
        return resolved
    }

    /// Folds every element with `combine`, starting from `identity`.
    @inlinable
    func _reduceAll(identity: Element, _ combine: (Element, Element) -> Element) -> Element {
        let count = self.count
        if self.isContiguous {
            return self._withBasePointer { p in
                // Four independent accumulators let the loop use several lanes/ports at once.
                var (a0, a1, a2, a3) = (identity, identity, identity, identity)
                var i = 0
                while i + 4 <= count {
                    a0 = combine(a0, p[i])
                    a1 = combine(a1, p[i + 1])
                    a2 = combine(a2, p[i + 2])
                    a3 = combine(a3, p[i + 3])
                    i += 4
                }
                while i < count {
                    a0 = combine(a0, p[i])
                    i += 1
                }
                return combine(combine(a0, a1), combine(a2, a3))
            }
        }
        var accumulator = identity
        let nest = _LoopNest(shape: self.shape, strides: [self.strides])
        self._withBasePointer { base in
            nest.forEachRow { offsets, n, s in
                let p = base + offsets[0]
                let step = s[0]
                for i in 0..<n { accumulator = combine(accumulator, p[i * step]) }
            }
        }
        return accumulator
    }

    /// Folds along `axis` with `combine` into an array of `Accumulator`s, starting every output element
    /// from `identity`.
    @inlinable
    func _reduce<Accumulator: NDElement>(
        axis: Int,
        identity: Accumulator,
        _ combine: (Accumulator, Element) -> Accumulator
    ) -> NDArray<Accumulator> {
        let axis = self._normalizedAxis(axis)
        var outShape = self.shape
        outShape.remove(at: axis)
        let result = NDArray<Accumulator>(_uninitializedShape: outShape, on: self._backend)
        result._storage.base.update(repeating: identity, count: result.count)
        // Read the output as if it had the input's shape, with stride 0 along the reduced axis, and walk
        // the input in its own memory order.
        var outStrides = result.strides
        outStrides.insert(0, at: axis)
        let nest = _LoopNest(shape: self.shape, strides: [outStrides, self.strides])
        let out = result._storage.base
        self._withBasePointer { input in
            nest.forEachRow { offsets, n, s in
                let po = out + offsets[0]
                let pi = input + offsets[1]
                let (so, si) = (s[0], s[1])
                if so == 0 {
                    var accumulator = po[0]
                    for i in 0..<n { accumulator = combine(accumulator, pi[i * si]) }
                    po[0] = accumulator
                } else {
                    for i in 0..<n { po[i * so] = combine(po[i * so], pi[i * si]) }
                }
            }
        }
        return result
    }

    /// A 0-d array holding `value`, on this array's device (the host computed it).
    @inlinable
    func _scalarResult<Value: NDElement>(_ value: Value) -> NDArray<Value> {
        let result = NDArray<Value>(_uninitializedShape: [], on: self._backend)
        result._storage.base.initialize(to: value)
        return result
    }

    /// A reduction on the device's kernels, into an array of element type `Result` on the device.
    @usableFromInline
    func _deviceReduce<Result: NDElement>(_ operation: ReductionOperator, axis: Int?) -> NDArray<Result> {
        var outShape = self.shape
        let resolvedAxis = axis.map { self._normalizedAxis($0) }
        if let resolvedAxis { outShape.remove(at: resolvedAxis) } else { outShape = [] }
        let result = NDArray<Result>(_uninitializedShape: outShape, on: self._backend)
        let kernels = self._deviceKernels!
        self._onDevice("\(operation)") { () throws(DeviceError) in
            try kernels.reduce(
                operation,
                input: self._operand(),
                shape: self.shape,
                axis: resolvedAxis,
                output: result._operand()
            )
        }
        return result
    }

    /// Stops when a reduction without identity (`min`, `max`, `argmin`, `argmax`) meets no elements.
    @usableFromInline
    func _requireElements(for operation: String, axis: Int?) {
        let empty: Bool
        if let axis {
            empty = self.shape[self._normalizedAxis(axis)] == 0 && self.count == 0
        } else {
            empty = self.count == 0
        }
        parlaPrecondition(
            !empty,
            "\(operation) of an empty array (shape \(self.shape)) has no value: zero-size reduction with no identity"
        )
    }

    /// The sum of the elements, or of each line along `axis`. NumPy: `a.sum(axis=...)`.
    ///
    /// As in NumPy, sums of integers narrower than 64 bits are 64-bit (``NDElement/SumElement``): the
    /// sum of an `NDArray<UInt8>` or `NDArray<Int32>` is an `NDArray<Int>`, so that
    /// `NDArray<UInt8>([200, 200]).sum()` is `400` rather than a wrapped `144`. Sums of `Int` wrap on
    /// overflow, as NumPy's `int64` sums do; `Float` and `Double` sums keep their type. On a CUDA GPU a
    /// narrow integer array is widened on the device before it is summed (a temporary `Int` copy).
    @inlinable
    public func sum(axis: Int? = nil) -> NDArray<Element.SumElement> {
        if Element.SumElement.self == Element.self {
            // No widening (Float, Double, Int): the element type's own loop.
            return unsafeBitCast(self._sameTypeSum(axis: axis), to: NDArray<Element.SumElement>.self)
        }
        if self._deviceKernels != nil { return self.astype(Element.SumElement.self)._deviceReduce(.sum, axis: axis) }
        guard let axis else { return self._scalarResult(self._widenedSumAll()) }
        return self._reduce(axis: axis, identity: .zero) { sum, element in
            Element.SumElement._combine(ReductionOperator.Sum.self, sum, Element.SumElement._converting(element))
        }
    }

    /// The sum of every element, each widened to ``NDElement/SumElement`` (the loop of `_reduceAll`,
    /// written out: the optimizer does not specialize that one for a combining closure of two types).
    @inlinable
    func _widenedSumAll() -> Element.SumElement {
        typealias Total = Element.SumElement
        func add(_ sum: Total, _ element: Element) -> Total {
            Total._combine(ReductionOperator.Sum.self, sum, Total._converting(element))
        }
        let count = self.count
        if self.isContiguous {
            return self._withBasePointer { p in
                var (a0, a1, a2, a3) = (Total.zero, Total.zero, Total.zero, Total.zero)
                var i = 0
                while i + 4 <= count {
                    a0 = add(a0, p[i])
                    a1 = add(a1, p[i + 1])
                    a2 = add(a2, p[i + 2])
                    a3 = add(a3, p[i + 3])
                    i += 4
                }
                while i < count {
                    a0 = add(a0, p[i])
                    i += 1
                }
                let sum = ReductionOperator.Sum.self
                return Total._combine(sum, Total._combine(sum, a0, a1), Total._combine(sum, a2, a3))
            }
        }
        var sum = Total.zero
        let nest = _LoopNest(shape: self.shape, strides: [self.strides])
        self._withBasePointer { base in
            nest.forEachRow { offsets, n, s in
                let p = base + offsets[0]
                let step = s[0]
                for i in 0..<n { sum = add(sum, p[i * step]) }
            }
        }
        return sum
    }

    /// The sum in the element type (wrapping for integers).
    @inlinable
    func _sameTypeSum(axis: Int?) -> NDArray { self._fold(ReductionOperator.Sum.self, axis: axis) }

    /// The reduction by `operation`, in the element type: on the device's kernels, or on the host.
    @inlinable
    func _fold<Operation: FoldingReduction>(_ operation: Operation.Type, axis: Int?) -> NDArray {
        if self._deviceKernels != nil { return self._deviceReduce(Operation.kernelOperator, axis: axis) }
        let identity = Element._identity(of: operation)
        guard let axis else {
            return self._scalarResult(self._reduceAll(identity: identity) { Element._combine(Operation.self, $0, $1) })
        }
        return self._reduce(axis: axis, identity: identity) { Element._combine(Operation.self, $0, $1) }
    }

    /// The largest element, or of each line along `axis` (NaN propagates). NumPy: `a.max(axis=...)`.
    ///
    /// - Precondition: there is at least one element to reduce.
    @inlinable
    public func max(axis: Int? = nil) -> NDArray {
        self._requireElements(for: "max", axis: axis)
        return self._fold(ReductionOperator.Max.self, axis: axis)
    }

    /// The smallest element, or of each line along `axis` (NaN propagates). NumPy: `a.min(axis=...)`.
    ///
    /// - Precondition: there is at least one element to reduce.
    @inlinable
    public func min(axis: Int? = nil) -> NDArray {
        self._requireElements(for: "min", axis: axis)
        return self._fold(ReductionOperator.Min.self, axis: axis)
    }

    /// The position of the first largest element: in row-major order without `axis`, else along each
    /// line of `axis`. A NaN counts as the largest. NumPy: `a.argmax(axis=...)`.
    ///
    /// - Precondition: there is at least one element to reduce.
    @inlinable
    public func argmax(axis: Int? = nil) -> NDArray<Int> {
        self._requireElements(for: "argmax", axis: axis)
        return self._positional(ReductionOperator.ArgMax.self, axis: axis)
    }

    /// The position of the first smallest element: in row-major order without `axis`, else along each
    /// line of `axis`. A NaN counts as the smallest. NumPy: `a.argmin(axis=...)`.
    ///
    /// - Precondition: there is at least one element to reduce.
    @inlinable
    public func argmin(axis: Int? = nil) -> NDArray<Int> {
        self._requireElements(for: "argmin", axis: axis)
        return self._positional(ReductionOperator.ArgMin.self, axis: axis)
    }

    /// The position of the element each line that `operation` picks: on the device's kernels, or on the
    /// host, in row-major order without `axis`.
    @inlinable
    func _positional<Operation: PositionalReduction>(_ operation: Operation.Type, axis: Int?) -> NDArray<Int> {
        if self._deviceKernels != nil { return self._deviceReduce(Operation.kernelOperator, axis: axis) }
        // Bring the reduced axis last and make lines contiguous; then each output is one scan.
        let lines: NDArray
        let outShape: [Int]
        if let axis {
            let axis = self._normalizedAxis(axis)
            var order = Array(0..<self.ndim)
            order.remove(at: axis)
            order.append(axis)
            lines = self.transposed(order).contiguous()
            outShape = lines.shape.dropLast()
        } else {
            lines = self.contiguous()
            outShape = []
        }
        let length = axis == nil ? self.count : lines.shape[lines.ndim - 1]
        let outCount = outShape.reduce(1, *)
        let result = NDArray<Int>(_uninitializedShape: outShape, on: self._backend)
        let out = result._storage.base
        lines._withBasePointer { p in
            for line in 0..<outCount {
                let start = p + line * length
                var bestIndex = 0
                var best = start[0]
                // The row's rule (`PositionalReduction.replaces`), with an early exit: the first NaN wins
                // (and once it is the best, nothing replaces it), else an element replaces the best so
                // far when the row prefers it.
                if best == best {
                    for i in 1..<Swift.max(length, 1) {
                        let x = start[i]
                        if x != x {
                            bestIndex = i
                            break
                        }
                        if Element._prefers(Operation.self, x, over: best) {
                            best = x
                            bestIndex = i
                        }
                    }
                }
                out[line] = bestIndex
            }
        }
        return result
    }
}

extension NDArray where Element: NDFloatingElement {
    /// The arithmetic mean of the elements, or of each line along `axis`. NumPy: `a.mean(axis=...)`.
    @inlinable
    public func mean(axis: Int? = nil) -> NDArray {
        let sum = self.sum(axis: axis)
        let n = axis.map { self.shape[self._normalizedAxis($0)] } ?? self.count
        return sum / Element(n)
    }
}

extension NDArray where Element: NDIntegerElement {
    /// The arithmetic mean as `Double`s, of the elements or of each line along `axis`. NumPy: `a.mean()`.
    ///
    /// The elements are converted to `Double` and summed there (as NumPy's `float64` accumulator does),
    /// so the mean of `UInt8`s or `Int32`s never wraps: `NDArray<UInt8>([200, 200]).mean()` is `200.0`.
    @inlinable
    public func mean(axis: Int? = nil) -> NDArray<Double> {
        self.astype(Double.self).mean(axis: axis)
    }
}

import ParlaDevices

// The loops that every host operation is built from: iterate over an N-dimensional index space for
// several operands at once, each with its own strides, handing the innermost axis to a tight loop.

/// The shape two shapes broadcast to under NumPy's rules; stops with a message naming both when they do not broadcast.
@inlinable
func _broadcastShape(_ lhs: [Int], _ rhs: [Int]) -> [Int] {
    let ndim = Swift.max(lhs.count, rhs.count)
    var result = [Int](repeating: 1, count: ndim)
    for axis in 0..<ndim {
        let l = axis < ndim - lhs.count ? 1 : lhs[axis - (ndim - lhs.count)]
        let r = axis < ndim - rhs.count ? 1 : rhs[axis - (ndim - rhs.count)]
        if l == r || r == 1 {
            result[axis] = l
        } else if l == 1 {
            result[axis] = r
        } else {
            parlaPreconditionFailure("operands could not be broadcast together with shapes \(lhs) and \(rhs)")
        }
    }
    return result
}

/// The strides that read an array of `shape`/`strides` as if it had shape `target` (NumPy broadcasting:
/// new leading axes and extent-1 axes get stride 0).
@inlinable
func _broadcastStrides(shape: [Int], strides: [Int], to target: [Int]) -> [Int] {
    parlaPrecondition(
        shape.count <= target.count,
        "an array of shape \(shape) cannot be broadcast to shape \(target)"
    )
    var result = [Int](repeating: 0, count: target.count)
    let lead = target.count - shape.count
    for axis in 0..<shape.count {
        if shape[axis] == target[lead + axis] {
            result[lead + axis] = shape[axis] == 1 ? 0 : strides[axis]
        } else {
            parlaPrecondition(
                shape[axis] == 1,
                "an array of shape \(shape) cannot be broadcast to shape \(target)"
            )
        }
    }
    return result
}

/// An iteration space with its axes merged where every operand allows it.
@usableFromInline
struct _LoopNest {
    /// Extents, outermost first; at least one axis unless `isEmpty`.
    @usableFromInline var shape: [Int]
    /// Per operand, strides matching `shape`.
    @usableFromInline var strides: [[Int]]
    /// Whether there is nothing to iterate (an extent is 0).
    @usableFromInline var isEmpty: Bool

    /// Builds the loop nest for `shape`, dropping extent-1 axes and merging neighbouring axes that are
    /// contiguous with each other in every operand.
    @inlinable
    init(shape: [Int], strides: [[Int]]) {
        self.isEmpty = shape.contains(0)
        (self.shape, self.strides) = KernelLayout.coalesce(shape: shape, strides: strides)
    }

    /// Calls `body(offsets, count, innerStrides)` once per innermost row: `offsets[k]` is operand `k`'s
    /// element offset of the row's first element, `innerStrides[k]` its stride along the row.
    @inlinable
    func forEachRow(_ body: (_ offsets: [Int], _ count: Int, _ innerStrides: [Int]) -> Void) {
        if self.isEmpty { return }
        let operands = self.strides.count
        let inner = self.shape.count - 1
        let innerCount = self.shape[inner]
        let innerStrides = self.strides.map { $0[inner] }
        var offsets = [Int](repeating: 0, count: operands)
        if inner == 0 {
            body(offsets, innerCount, innerStrides)
            return
        }
        var index = [Int](repeating: 0, count: inner)
        while true {
            body(offsets, innerCount, innerStrides)
            // Odometer increment over the outer axes.
            var axis = inner - 1
            while true {
                index[axis] += 1
                for k in 0..<operands { offsets[k] += self.strides[k][axis] }
                if index[axis] < self.shape[axis] { break }
                for k in 0..<operands { offsets[k] -= self.strides[k][axis] * self.shape[axis] }
                index[axis] = 0
                if axis == 0 { return }
                axis -= 1
            }
        }
    }
}

extension NDArray {
    /// Applies `op` element by element to the broadcast of `self` and `other`, into a new contiguous array.
    @inlinable
    func _zipMap<Other: NDElement, Result: NDElement>(
        _ other: NDArray<Other>,
        _ op: (Element, Other) -> Result
    ) -> NDArray<Result> {
        _checkSameDevice(self.device, other.device)
        let shape = self.shape == other.shape ? self.shape : _broadcastShape(self.shape, other.shape)
        let result = NDArray<Result>(_uninitializedShape: shape, on: self._backend)
        let out = result._storage.base
        let count = result.count
        if self.shape == other.shape && self.isContiguous && other.isContiguous {
            self._withBasePointer { a in
                other._withBasePointer { b in
                    for i in 0..<count { out[i] = op(a[i], b[i]) }
                }
            }
            return result
        }
        let nest = _LoopNest(
            shape: shape,
            strides: [
                _broadcastStrides(shape: self.shape, strides: self.strides, to: shape),
                _broadcastStrides(shape: other.shape, strides: other.strides, to: shape),
                result.strides,
            ]
        )
        self._withBasePointer { a in
            other._withBasePointer { b in
                nest.forEachRow { offsets, n, s in
                    let pa = a + offsets[0]
                    let pb = b + offsets[1]
                    let po = out + offsets[2]
                    let (sa, sb, so) = (s[0], s[1], s[2])
                    if sa == 1 && sb == 1 && so == 1 {
                        for i in 0..<n { po[i] = op(pa[i], pb[i]) }
                    } else if sa == 1 && sb == 0 && so == 1 {
                        let y = pb[0]
                        for i in 0..<n { po[i] = op(pa[i], y) }
                    } else if sa == 0 && sb == 1 && so == 1 {
                        let x = pa[0]
                        for i in 0..<n { po[i] = op(x, pb[i]) }
                    } else {
                        for i in 0..<n { po[i * so] = op(pa[i * sa], pb[i * sb]) }
                    }
                }
            }
        }
        return result
    }

    /// Applies `op` to every element and `context`, into a new contiguous array.
    ///
    /// `context` is what `op` would otherwise capture (a scalar operand): the optimizer specializes the
    /// loop for a closure that captures nothing, and calls one that captures a value once per element.
    @inlinable
    func _map<Context, Result: NDElement>(
        with context: Context,
        _ op: (Element, Context) -> Result
    ) -> NDArray<Result> {
        let result = NDArray<Result>(_uninitializedShape: self.shape, on: self._backend)
        let out = result._storage.base
        if self.isContiguous {
            let count = self.count
            self._withBasePointer { a in
                for i in 0..<count { out[i] = op(a[i], context) }
            }
            return result
        }
        let nest = _LoopNest(shape: self.shape, strides: [self.strides, result.strides])
        self._withBasePointer { a in
            nest.forEachRow { offsets, n, s in
                let pa = a + offsets[0]
                let po = out + offsets[1]
                let (sa, so) = (s[0], s[1])
                for i in 0..<n { po[i * so] = op(pa[i * sa], context) }
            }
        }
        return result
    }

    /// Writes `source`, broadcast to this array's shape, into this array's elements (in place: the
    /// storage must already be uniquely referenced).
    @inlinable
    mutating func _assignElements<Source: NDElement>(from source: NDArray<Source>, _ convert: (Source) -> Element) {
        let nest = _LoopNest(
            shape: self.shape,
            strides: [
                self.strides,
                _broadcastStrides(shape: source.shape, strides: source.strides, to: self.shape),
            ]
        )
        let out = self._storage.base + self._offset
        source._withBasePointer { src in
            nest.forEachRow { offsets, n, s in
                let po = out + offsets[0]
                let ps = src + offsets[1]
                let (so, ss) = (s[0], s[1])
                if so == 1 && ss == 1 {
                    for i in 0..<n { po[i] = convert(ps[i]) }
                } else {
                    for i in 0..<n { po[i * so] = convert(ps[i * ss]) }
                }
            }
        }
    }

    /// Writes `source`, broadcast to this array's shape, into this array's elements.
    @inlinable
    mutating func _assignElements(from source: NDArray<Element>) {
        self._assignElements(from: source) { $0 }
    }
}

/// Stops with a message naming both devices when two operands live on different devices.
@inlinable
func _checkSameDevice(_ lhs: Device, _ rhs: Device) {
    parlaPrecondition(
        lhs == rhs,
        "operands live on different devices, \(lhs) and \(rhs); move one with .to(_:) first"
    )
}

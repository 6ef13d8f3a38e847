import ParlaDevices

/// One component of a subscript of an ``NDArray`` (or a `PArray`): an integer, a range of any Swift
/// kind, a stepped slice, or ``NDSlice/all``.
///
/// | NumPy       | Swift                                   |
/// |-------------|-----------------------------------------|
/// | `a[1]`      | `a[1]`                                  |
/// | `a[-1]`     | `a[-1]`                                 |
/// | `a[0:2]`    | `a[0..<2]`                              |
/// | `a[1:]`     | `a[1...]`                               |
/// | `a[:3]`     | `a[..<3]`                               |
/// | `a[:, 2]`   | `a[..., 2]` or `a[.all, 2]`             |
/// | `a[::2]`    | `a[.stride(by: 2)]`                     |
/// | `a[1:7:3]`  | `a[NDSlice(1..<7, step: 3)]` or `a[.stride(from: 1, to: 7, by: 3)]` |
/// | `a[1:-1]`   | `a[.stride(from: 1, to: -1, by: 1)]`    |
/// | `a[::-1]`   | `a[.stride(by: -1)]`                    |
public protocol NDIndex: Sendable {
    /// What this component selects along one axis.
    var ndIndexComponent: NDIndexComponent { get }
}

/// What one subscript component selects along one axis.
public enum NDIndexComponent: Hashable, Sendable {
    /// One position; the axis is dropped from the result. Negative positions count from the end.
    case position(Int)
    /// A slice; the axis is kept.
    case slice(NDSlice)
}

/// A slice of one axis: the positions of a half-open range (with optional, possibly negative, bounds),
/// taken every `step` positions; a negative step walks the range backwards.
///
/// Bounds past the ends are clamped, as in NumPy.
public struct NDSlice: NDIndex, Hashable, Sendable {
    /// The first position of the range (`nil`: the start of the axis). Negative counts from the end.
    public var lowerBound: Int?
    /// One past the last position of the range (`nil`: the end of the axis). Negative counts from the end.
    public var upperBound: Int?
    /// The distance between selected positions; negative walks from the top of the range down.
    public var step: Int
    /// Python slice semantics (`start:stop:step`, as `.stride(from:to:by:)` gives), instead of range ones.
    @usableFromInline var _pythonSemantics: Bool

    /// A slice of the positions `lowerBound..<upperBound` every `step`.
    ///
    /// - Precondition: `step != 0`.
    public init(lowerBound: Int? = nil, upperBound: Int? = nil, step: Int = 1) {
        parlaPrecondition(step != 0, "a slice step cannot be zero")
        self.lowerBound = lowerBound
        self.upperBound = upperBound
        self.step = step
        self._pythonSemantics = false
    }

    /// A slice of the positions of `range`, every `step`.
    public init(_ range: Range<Int>, step: Int = 1) {
        self.init(lowerBound: range.lowerBound, upperBound: range.upperBound, step: step)
    }

    /// Every position of the axis. NumPy: `:`.
    public static var all: NDSlice { NDSlice() }

    /// Every `step`-th position of the axis. NumPy: `::step`.
    public static func stride(by step: Int) -> NDSlice { NDSlice(step: step) }

    /// The positions NumPy's `start:stop:step` selects: from `start` toward `stop` (excluded), every
    /// `step`. Negative bounds count from the end of the axis, and bounds past the ends are clamped, as
    /// in NumPy: on an axis of 6, `.stride(from: 1, to: -1, by: 1)` selects `[1, 2, 3, 4]` and
    /// `.stride(from: -1, to: -4, by: -1)` selects `[5, 4, 3]`.
    ///
    /// - Precondition: `step != 0`.
    public static func stride(from start: Int, to stop: Int, by step: Int) -> NDSlice {
        var slice = NDSlice(lowerBound: start, upperBound: stop, step: step)
        slice._pythonSemantics = true
        return slice
    }

    public var ndIndexComponent: NDIndexComponent { .slice(self) }

    /// Resolves the slice against an axis of `extent` positions: the first position, the step, and the
    /// number of positions selected.
    @usableFromInline
    func _resolve(extent: Int) -> (start: Int, step: Int, count: Int) {
        func normalize(_ bound: Int?, default value: Int) -> Int {
            guard var bound else { return value }
            if bound < 0 { bound += extent }
            return Swift.min(Swift.max(bound, 0), extent)
        }
        if self._pythonSemantics {
            // start:stop:step as Python's slice.indices computes it.
            if self.step > 0 {
                let start = normalize(self.lowerBound, default: 0)
                let stop = normalize(self.upperBound, default: extent)
                let count = stop > start ? (stop - start + self.step - 1) / self.step : 0
                return (start, self.step, count)
            }
            func normalizeDown(_ bound: Int?, default value: Int) -> Int {
                guard var bound else { return value }
                if bound < 0 { bound += extent }
                return Swift.min(Swift.max(bound, -1), extent - 1)
            }
            let start = normalizeDown(self.lowerBound, default: extent - 1)
            let stop = normalizeDown(self.upperBound, default: -1)
            let count = start > stop ? (start - stop - self.step - 1) / -self.step : 0
            return (start, self.step, count)
        }
        let lower = normalize(self.lowerBound, default: 0)
        let upper = normalize(self.upperBound, default: extent)
        let span = Swift.max(upper - lower, 0)
        let magnitude = Swift.abs(self.step)
        let count = (span + magnitude - 1) / magnitude
        if self.step > 0 {
            return (lower, self.step, count)
        }
        return (count == 0 ? lower : upper - 1, self.step, count)
    }
}

extension NDIndex where Self == NDSlice {
    /// Every position of the axis. NumPy: `:`.
    public static var all: NDSlice { NDSlice() }

    /// Every `step`-th position of the axis. NumPy: `::step`.
    public static func stride(by step: Int) -> NDSlice { NDSlice(step: step) }

    /// The positions NumPy's `start:stop:step` selects (see ``NDSlice/stride(from:to:by:)``).
    public static func stride(from start: Int, to stop: Int, by step: Int) -> NDSlice {
        NDSlice.stride(from: start, to: stop, by: step)
    }
}

extension Int: NDIndex {
    /// One position (negative counts from the end).
    public var ndIndexComponent: NDIndexComponent { .position(self) }
}

extension Range: NDIndex where Bound == Int {
    /// The positions `lowerBound..<upperBound`.
    public var ndIndexComponent: NDIndexComponent {
        .slice(NDSlice(lowerBound: self.lowerBound, upperBound: self.upperBound))
    }
}

extension ClosedRange: NDIndex where Bound == Int {
    /// The positions `lowerBound...upperBound`.
    public var ndIndexComponent: NDIndexComponent {
        // `-1` as an inclusive upper bound means "through the last position".
        .slice(NDSlice(lowerBound: self.lowerBound, upperBound: self.upperBound == -1 ? nil : self.upperBound + 1))
    }
}

extension PartialRangeFrom: NDIndex where Bound == Int {
    /// The positions from `lowerBound` to the end.
    public var ndIndexComponent: NDIndexComponent { .slice(NDSlice(lowerBound: self.lowerBound)) }
}

extension PartialRangeUpTo: NDIndex where Bound == Int {
    /// The positions before `upperBound`.
    public var ndIndexComponent: NDIndexComponent { .slice(NDSlice(upperBound: self.upperBound)) }
}

extension PartialRangeThrough: NDIndex where Bound == Int {
    /// The positions up to and including `upperBound`.
    public var ndIndexComponent: NDIndexComponent {
        .slice(NDSlice(upperBound: self.upperBound == -1 ? nil : self.upperBound + 1))
    }
}

extension NDIndexComponent {
    /// What this component selects along an axis of `extent` positions: the first position, the step
    /// and the number of positions, and whether the axis is kept (`false` for an integer index).
    ///
    /// - Precondition: an integer index is within the axis (negative ones count from the end).
    public func positions(inAxisOf extent: Int, axis: Int = 0) -> (start: Int, step: Int, count: Int, keepsAxis: Bool) {
        switch self {
        case .position(let index):
            let resolved = index < 0 ? index + extent : index
            parlaPrecondition(
                resolved >= 0 && resolved < extent,
                "index \(index) is out of range for axis \(axis) with extent \(extent)"
            )
            return (resolved, 1, 1, false)
        case .slice(let slice):
            let (start, step, count) = slice._resolve(extent: extent)
            return (start, step, count, true)
        }
    }
}

/// One resolved subscript: the view's shape, strides and offset relative to its source.
@usableFromInline
struct _ResolvedRegion {
    @usableFromInline var shape: [Int]
    @usableFromInline var strides: [Int]
    @usableFromInline var offset: Int
}

/// Resolves subscript components against an array's shape and strides, with NumPy semantics.
///
/// Integer components drop their axis and must be in range; slices keep it; axes past the last
/// component are kept whole.
@usableFromInline
func _resolveRegion(_ components: [NDIndexComponent], shape: [Int], strides: [Int]) -> _ResolvedRegion {
    parlaPrecondition(
        components.count <= shape.count,
        "too many indices: \(components.count) given for an array of \(shape.count) dimension\(shape.count == 1 ? "" : "s") (shape \(shape))"
    )
    var region = _ResolvedRegion(shape: [], strides: [], offset: 0)
    for axis in 0..<shape.count {
        let extent = shape[axis]
        guard axis < components.count else {
            region.shape.append(extent)
            region.strides.append(strides[axis])
            continue
        }
        switch components[axis] {
        case .position(let index):
            let resolved = index < 0 ? index + extent : index
            parlaPrecondition(
                resolved >= 0 && resolved < extent,
                "index \(index) is out of range for axis \(axis) with extent \(extent)"
            )
            region.offset += resolved * strides[axis]
        case .slice(let slice):
            let (start, step, count) = slice._resolve(extent: extent)
            if count > 0 { region.offset += start * strides[axis] }
            region.shape.append(count)
            region.strides.append(step * strides[axis])
        }
    }
    return region
}

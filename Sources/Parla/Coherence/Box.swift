import ParlaDevices

/// An N-dimensional box of array positions: along each axis the half-open range `lower..<upper`.
///
/// The regions of a `PArray` that tasks declare (`A[0]`, `A[1..<3, 2...]`) are boxes of its root array.
///
/// A box of up to four axes keeps its bounds inline, so making, cutting and comparing boxes (which the
/// runtime does for every access) allocates nothing; a box of more axes keeps them in an array.
public struct Box: Hashable, Sendable, CustomStringConvertible {
    /// The number of axes.
    public private(set) var rank: Int

    /// The most axes kept inline.
    @usableFromInline static var inlineRank: Int { 4 }

    /// Up to ``inlineRank`` axes: the lower bounds at `0..<rank`, the upper ones at `4..<4 + rank`
    /// (the rest 0).
    private var inlineBounds: InlineArray<8, Int>

    /// More axes: the lower bounds, then the upper ones (`nil` for boxes of up to ``inlineRank`` axes).
    private var spilledBounds: [Int]?

    /// The box `lower..<upper` (per axis).
    ///
    /// - Precondition: both have one entry per axis and `lower <= upper` on every axis.
    public init(lower: [Int], upper: [Int]) {
        parlaPrecondition(
            lower.count == upper.count,
            "a box needs as many lower as upper bounds (\(lower) and \(upper))"
        )
        parlaPrecondition(
            zip(lower, upper).allSatisfy { $0 <= $1 },
            "a box needs lower <= upper on every axis (\(lower) and \(upper))"
        )
        self.init(rank: lower.count)
        for axis in 0..<self.rank { self.setRange(axis, lower[axis], upper[axis]) }
    }

    /// The whole of an array of `shape`.
    public init(shape: [Int]) {
        self.init(rank: shape.count)
        for axis in 0..<self.rank { self.setRange(axis, 0, shape[axis]) }
    }

    /// A box of `rank` axes, each `0..<0`.
    init(rank: Int) {
        self.rank = rank
        self.inlineBounds = InlineArray(repeating: 0)
        self.spilledBounds = rank > Self.inlineRank ? Array(repeating: 0, count: 2 * rank) : nil
    }

    /// The first position along each axis.
    public var lower: [Int] {
        get { (0..<self.rank).map { self.lowerBound($0) } }
        set {
            parlaPrecondition(
                newValue.count == self.rank,
                "a box of \(self.rank) axes given \(newValue.count) lower bounds"
            )
            for axis in 0..<self.rank { self.setRange(axis, newValue[axis], self.upperBound(axis)) }
        }
    }

    /// One past the last position along each axis.
    public var upper: [Int] {
        get { (0..<self.rank).map { self.upperBound($0) } }
        set {
            parlaPrecondition(
                newValue.count == self.rank,
                "a box of \(self.rank) axes given \(newValue.count) upper bounds"
            )
            for axis in 0..<self.rank { self.setRange(axis, self.lowerBound(axis), newValue[axis]) }
        }
    }

    /// The first position along `axis` (without building the array ``lower`` is).
    @inline(__always)
    public func lowerBound(_ axis: Int) -> Int {
        if let spilled = self.spilledBounds { return spilled[axis] }
        return self.inlineBounds[axis]
    }

    /// One past the last position along `axis`.
    @inline(__always)
    public func upperBound(_ axis: Int) -> Int {
        if let spilled = self.spilledBounds { return spilled[self.rank + axis] }
        return self.inlineBounds[Self.inlineRank + axis]
    }

    /// The number of positions along `axis`.
    @inline(__always)
    public func extent(_ axis: Int) -> Int { self.upperBound(axis) - self.lowerBound(axis) }

    /// Sets the range along `axis` to `lower..<upper`.
    @inline(__always)
    public mutating func setRange(_ axis: Int, _ lower: Int, _ upper: Int) {
        if self.spilledBounds != nil {
            self.spilledBounds![axis] = lower
            self.spilledBounds![self.rank + axis] = upper
        } else {
            self.inlineBounds[axis] = lower
            self.inlineBounds[Self.inlineRank + axis] = upper
        }
    }

    /// The number of positions.
    public var count: Int {
        var count = 1
        for axis in 0..<self.rank { count *= self.extent(axis) }
        return count
    }

    /// Whether the box has no positions.
    public var isEmpty: Bool { (0..<self.rank).contains { self.extent($0) <= 0 } }

    /// The positions in both boxes, or `nil` when they do not overlap.
    public func intersection(_ other: Box) -> Box? {
        var both = self
        for axis in 0..<self.rank {
            let lower = Swift.max(self.lowerBound(axis), other.lowerBound(axis))
            let upper = Swift.min(self.upperBound(axis), other.upperBound(axis))
            if lower >= upper { return nil }
            both.setRange(axis, lower, upper)
        }
        return both
    }

    /// Whether the two boxes share a position (``intersection(_:)`` is not `nil`), without making
    /// the shared box.
    @inline(__always)
    public func intersects(_ other: Box) -> Bool {
        for axis in 0..<self.rank
        where Swift.max(self.lowerBound(axis), other.lowerBound(axis))
            >= Swift.min(self.upperBound(axis), other.upperBound(axis))
        {
            return false
        }
        return true
    }

    /// Whether every position of `other` is in this box.
    public func contains(_ other: Box) -> Bool {
        (0..<self.rank).allSatisfy {
            self.lowerBound($0) <= other.lowerBound($0) && other.upperBound($0) <= self.upperBound($0)
        }
    }

    /// The positions of this box outside `other`, as disjoint boxes (at most two per axis).
    public func subtracting(_ other: Box) -> [Box] {
        guard let overlap = self.intersection(other) else { return [self] }
        var pieces: [Box] = []
        var rest = self
        for axis in 0..<self.rank {
            if rest.lowerBound(axis) < overlap.lowerBound(axis) {
                var below = rest
                below.setRange(axis, rest.lowerBound(axis), overlap.lowerBound(axis))
                pieces.append(below)
            }
            if overlap.upperBound(axis) < rest.upperBound(axis) {
                var above = rest
                above.setRange(axis, overlap.upperBound(axis), rest.upperBound(axis))
                pieces.append(above)
            }
            rest.setRange(axis, overlap.lowerBound(axis), overlap.upperBound(axis))
        }
        return pieces
    }

    /// The box of `self` and `other` together, when it is exactly their union (they are neighbours
    /// along one axis and equal along the others).
    public func merged(with other: Box) -> Box? {
        var axisOfContact: Int? = nil
        for axis in 0..<self.rank
        where self.lowerBound(axis) != other.lowerBound(axis) || self.upperBound(axis) != other.upperBound(axis) {
            if axisOfContact != nil { return nil }
            axisOfContact = axis
        }
        guard let axis = axisOfContact else { return self }
        var merged = self
        if self.upperBound(axis) == other.lowerBound(axis) {
            merged.setRange(axis, self.lowerBound(axis), other.upperBound(axis))
        } else if other.upperBound(axis) == self.lowerBound(axis) {
            merged.setRange(axis, other.lowerBound(axis), self.upperBound(axis))
        } else {
            return nil
        }
        return merged
    }

    /// Whether this box's first position comes before `other`'s in row-major order.
    func startsBefore(_ other: Box) -> Bool {
        for axis in 0..<Swift.min(self.rank, other.rank) where self.lowerBound(axis) != other.lowerBound(axis) {
            return self.lowerBound(axis) < other.lowerBound(axis)
        }
        return self.rank < other.rank
    }

    public static func == (a: Box, b: Box) -> Bool {
        guard a.rank == b.rank else { return false }
        for axis in 0..<a.rank
        where a.lowerBound(axis) != b.lowerBound(axis) || a.upperBound(axis) != b.upperBound(axis) {
            return false
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.rank)
        for axis in 0..<self.rank {
            hasher.combine(self.lowerBound(axis))
            hasher.combine(self.upperBound(axis))
        }
    }

    /// `[0..<2, 1..<3]`.
    public var description: String {
        "[" + (0..<self.rank).map { "\(self.lowerBound($0))..<\(self.upperBound($0))" }.joined(separator: ", ") + "]"
    }
}

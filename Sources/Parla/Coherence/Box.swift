import ParlaDevices

/// An N-dimensional box of array positions: along each axis the half-open range `lower..<upper`.
///
/// The regions of a `PArray` that tasks declare (`A[0]`, `A[1..<3, 2...]`) are boxes of its root array.
///
/// A box keeps its bounds inline, in a value of fixed size with no references, so that making,
/// cutting and comparing boxes (which the runtime does for every access) neither allocates nor counts
/// references: at most ``maximumRank`` axes, each bound between 0 and ``maximumExtent``.
public struct Box: Hashable, Sendable, CustomStringConvertible {
    /// The number of axes.
    public private(set) var rank: Int

    /// The most axes a box has.
    public static var maximumRank: Int { 8 }

    /// The largest bound along an axis (2³² - 1).
    public static var maximumExtent: Int { 0xFFFF_FFFF }

    /// Per axis one word: the lower bound in its low 32 bits, the upper one in its high 32 bits (the
    /// rest 0). (Two bounds to a word, rather than eight axes' bounds in two halves, which doubled the
    /// size of a box and made the runtime's box arithmetic twice as slow.)
    private var bounds: InlineArray<8, UInt>

    /// The box `lower..<upper` (per axis).
    ///
    /// - Precondition: both have one entry per axis, at most ``maximumRank``, and
    ///   `0 <= lower <= upper <= maximumExtent` on every axis.
    public init(lower: [Int], upper: [Int]) {
        parlaPrecondition(
            lower.count == upper.count,
            "a box needs as many lower as upper bounds (\(lower) and \(upper))"
        )
        parlaPrecondition(
            zip(lower, upper).allSatisfy { 0 <= $0 && $0 <= $1 && $1 <= Self.maximumExtent },
            "a box needs 0 <= lower <= upper <= 2^32 - 1 on every axis (\(lower) and \(upper))"
        )
        self.init(rank: lower.count)
        for axis in 0..<self.rank { self.setRange(axis, lower[axis], upper[axis]) }
    }

    /// The whole of an array of `shape`.
    ///
    /// - Precondition: at most ``maximumRank`` axes of at most ``maximumExtent`` positions each.
    public init(shape: [Int]) {
        parlaPrecondition(
            shape.count <= Self.maximumRank && shape.allSatisfy { $0 <= Self.maximumExtent },
            "PArrays have at most \(Self.maximumRank) axes of at most 2^32 - 1 positions each, not shape \(shape) (reshape the array)"
        )
        self.init(rank: shape.count)
        for axis in 0..<self.rank { self.setRange(axis, 0, shape[axis]) }
    }

    /// A box of `rank` axes, each `0..<0`.
    init(rank: Int) {
        parlaPrecondition(
            rank <= Self.maximumRank,
            "a box has at most \(Self.maximumRank) axes (\(rank) asked for)"
        )
        self.rank = rank
        self.bounds = InlineArray(repeating: 0)
    }

    /// The first position along each axis.
    public var lower: [Int] {
        get { (0..<self.rank).map { self.lowerBound($0) } }
        set {
            parlaPrecondition(
                newValue.count == self.rank && newValue.allSatisfy { 0 <= $0 && $0 <= Self.maximumExtent },
                "a box of \(self.rank) axes needs \(self.rank) lower bounds between 0 and 2^32 - 1, not \(newValue)"
            )
            for axis in 0..<self.rank { self.setRange(axis, newValue[axis], self.upperBound(axis)) }
        }
    }

    /// One past the last position along each axis.
    public var upper: [Int] {
        get { (0..<self.rank).map { self.upperBound($0) } }
        set {
            parlaPrecondition(
                newValue.count == self.rank && newValue.allSatisfy { 0 <= $0 && $0 <= Self.maximumExtent },
                "a box of \(self.rank) axes needs \(self.rank) upper bounds between 0 and 2^32 - 1, not \(newValue)"
            )
            for axis in 0..<self.rank { self.setRange(axis, self.lowerBound(axis), newValue[axis]) }
        }
    }

    /// The first position along `axis` (without building the array ``lower`` is).
    @inline(__always)
    public func lowerBound(_ axis: Int) -> Int { Int(self.bounds[axis] & 0xFFFF_FFFF) }

    /// One past the last position along `axis`.
    @inline(__always)
    public func upperBound(_ axis: Int) -> Int { Int(self.bounds[axis] >> 32) }

    /// The number of positions along `axis`.
    @inline(__always)
    public func extent(_ axis: Int) -> Int { self.upperBound(axis) - self.lowerBound(axis) }

    /// Sets the range along `axis` to `lower..<upper` (both between 0 and ``maximumExtent``: a box
    /// made from another's bounds always is).
    @inline(__always)
    public mutating func setRange(_ axis: Int, _ lower: Int, _ upper: Int) {
        self.bounds[axis] = UInt(truncatingIfNeeded: lower) & 0xFFFF_FFFF | UInt(truncatingIfNeeded: upper) << 32
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

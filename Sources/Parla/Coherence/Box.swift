import ParlaDevices

/// An N-dimensional box of array positions: along each axis the half-open range `lower..<upper`.
///
/// The regions of a `PArray` that tasks declare (`A[0]`, `A[1..<3, 2...]`) are boxes of its root array.
public struct Box: Hashable, Sendable, CustomStringConvertible {
    /// The first position along each axis.
    public var lower: [Int]
    /// One past the last position along each axis.
    public var upper: [Int]

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
        self.lower = lower
        self.upper = upper
    }

    /// The whole of an array of `shape`.
    public init(shape: [Int]) {
        self.init(lower: Array(repeating: 0, count: shape.count), upper: shape)
    }

    /// The number of axes.
    public var rank: Int { self.lower.count }

    /// The number of positions.
    public var count: Int { zip(self.lower, self.upper).reduce(1) { $0 * ($1.1 - $1.0) } }

    /// Whether the box has no positions.
    public var isEmpty: Bool { zip(self.lower, self.upper).contains { $0 >= $1 } }

    /// The positions in both boxes, or `nil` when they do not overlap.
    public func intersection(_ other: Box) -> Box? {
        var lower = self.lower
        var upper = self.upper
        for axis in 0..<self.rank {
            lower[axis] = Swift.max(self.lower[axis], other.lower[axis])
            upper[axis] = Swift.min(self.upper[axis], other.upper[axis])
            if lower[axis] >= upper[axis] { return nil }
        }
        return Box(lower: lower, upper: upper)
    }

    /// Whether every position of `other` is in this box.
    public func contains(_ other: Box) -> Bool {
        (0..<self.rank).allSatisfy { self.lower[$0] <= other.lower[$0] && other.upper[$0] <= self.upper[$0] }
    }

    /// The positions of this box outside `other`, as disjoint boxes (at most two per axis).
    public func subtracting(_ other: Box) -> [Box] {
        guard let overlap = self.intersection(other) else { return [self] }
        var pieces: [Box] = []
        var rest = self
        for axis in 0..<self.rank {
            if rest.lower[axis] < overlap.lower[axis] {
                var below = rest
                below.upper[axis] = overlap.lower[axis]
                pieces.append(below)
            }
            if overlap.upper[axis] < rest.upper[axis] {
                var above = rest
                above.lower[axis] = overlap.upper[axis]
                pieces.append(above)
            }
            rest.lower[axis] = overlap.lower[axis]
            rest.upper[axis] = overlap.upper[axis]
        }
        return pieces
    }

    /// The box of `self` and `other` together, when it is exactly their union (they are neighbours
    /// along one axis and equal along the others).
    public func merged(with other: Box) -> Box? {
        var axisOfContact: Int? = nil
        for axis in 0..<self.rank where self.lower[axis] != other.lower[axis] || self.upper[axis] != other.upper[axis] {
            if axisOfContact != nil { return nil }
            axisOfContact = axis
        }
        guard let axis = axisOfContact else { return self }
        var merged = self
        if self.upper[axis] == other.lower[axis] {
            merged.upper[axis] = other.upper[axis]
        } else if other.upper[axis] == self.lower[axis] {
            merged.lower[axis] = other.lower[axis]
        } else {
            return nil
        }
        return merged
    }

    /// `[0..<2, 1..<3]`.
    public var description: String {
        "[" + zip(self.lower, self.upper).map { "\($0)..<\($1)" }.joined(separator: ", ") + "]"
    }
}

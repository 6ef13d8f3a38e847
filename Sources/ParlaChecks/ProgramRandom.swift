import Parla

/// The random choices of generated programs: integers, coin flips, and regions of arrays.
public struct ProgramRandom: Sendable {
    /// The underlying generator.
    public var generator: SplitMix

    /// Choices replayable from `seed`.
    public init(seed: UInt64) { self.generator = SplitMix(state: seed) }

    /// An integer in `range`.
    public mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self.generator) }

    /// `true` with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self.generator) < p }

    /// A non-empty region of an array of `shape`: sometimes the whole array, else per axis a single
    /// position or a range.
    public mutating func box(in shape: [Int]) -> Box {
        if self.chance(0.15) { return Box(shape: shape) }
        var lower: [Int] = []
        var upper: [Int] = []
        for extent in shape {
            if self.chance(0.3) {
                let i = self.int(0...(extent - 1))  // an integer index: one position
                lower.append(i)
                upper.append(i + 1)
            } else {
                let a = self.int(0...(extent - 1))
                let b = self.int((a + 1)...extent)
                lower.append(a)
                upper.append(b)
            }
        }
        return Box(lower: lower, upper: upper)
    }
}

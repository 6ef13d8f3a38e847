/// SplitMix64: a small, fast, seedable random number generator, so that a failing program (or a
/// run with injected faults) can be replayed from its seed.
public struct SplitMix: RandomNumberGenerator, Sendable {
    /// The generator's state (the seed, at first).
    public var state: UInt64

    /// A generator starting from `state`.
    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

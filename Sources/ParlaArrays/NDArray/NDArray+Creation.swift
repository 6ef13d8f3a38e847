import ParlaDevices
import RealModule

extension NDArray {
    /// An array of `shape` holding `flat` in row-major order. NumPy: `np.array(flat).reshape(shape)`.
    ///
    /// - Precondition: `flat` has exactly as many elements as `shape` describes.
    public init(_ flat: some Sequence<Element>, shape: [Int]) {
        let count = _checkedCount(of: shape, Element.self)
        self.init(_uninitializedShape: shape)
        let base = self._storage.base
        var written = 0
        for element in flat {
            parlaPrecondition(
                written < count,
                "cannot make an array of shape \(shape) (\(count) elements) from more than \(count) elements"
            )
            base[written] = element
            written += 1
        }
        parlaPrecondition(
            written == count,
            "cannot make an array of shape \(shape) (\(count) elements) from \(written) elements"
        )
    }

    /// A 0-dimensional array holding one value. NumPy: `np.array(value)`.
    public init(_ value: Element) {
        self.init([value], shape: [])
    }

    /// A 1-D array. NumPy: `np.array([1, 2, 3])`.
    public init(_ values: [Element]) {
        self.init(values, shape: [values.count])
    }

    /// A 2-D array from rows of equal length. NumPy: `np.array([[1, 2], [3, 4]])`.
    ///
    /// - Precondition: every row has the same length.
    public init(_ rows: [[Element]]) {
        let columns = rows.first?.count ?? 0
        for (i, row) in rows.enumerated() {
            parlaPrecondition(
                row.count == columns,
                "ragged nested array: row \(i) has \(row.count) elements but row 0 has \(columns)"
            )
        }
        self.init(rows.joined(), shape: [rows.count, columns])
    }

    /// A 3-D array from nested arrays of consistent lengths. NumPy: `np.array([[[1], [2]], [[3], [4]]])`.
    ///
    /// - Precondition: the nesting is rectangular.
    public init(_ planes: [[[Element]]]) {
        let inner = planes.map { NDArray($0) }
        let planeShape = inner.first?.shape ?? [0, 0]
        for (i, plane) in inner.enumerated() {
            parlaPrecondition(
                plane.shape == planeShape,
                "ragged nested array: element \(i) has shape \(plane.shape) but element 0 has shape \(planeShape)"
            )
        }
        self.init(inner.flatMap(\.elements), shape: [planes.count] + planeShape)
    }

    /// An array of `shape` with every element `value`. NumPy: `np.full(shape, value)`.
    public static func full(_ shape: [Int], value: Element) -> NDArray {
        let result = NDArray(_uninitializedShape: shape)
        result._storage.base.update(repeating: value, count: result.count)
        return result
    }

    /// An array of zeros. NumPy: `np.zeros(shape)`.
    public static func zeros(_ shape: [Int]) -> NDArray { .full(shape, value: .zero) }

    /// An array of ones. NumPy: `np.ones(shape)`.
    public static func ones(_ shape: [Int]) -> NDArray { .full(shape, value: 1) }

    /// `[0, 1, ..., n-1]`. NumPy: `np.arange(n)`.
    public static func arange(_ count: Int) -> NDArray {
        parlaPrecondition(count >= 0, "arange needs a count of 0 or more, got \(count)")
        return NDArray((0..<count).lazy.map { Element._converting($0) }, shape: [count])
    }

    /// `[start, start + step, ...]` up to but excluding `end`. NumPy: `np.arange(start, end, step)`.
    ///
    /// - Precondition: `step != 0`; `start`, `end` and `step` are finite (not NaN or infinite); the
    ///   array has at most `Int.max` elements.
    public static func arange(_ start: Element, _ end: Element, step: Element = 1) -> NDArray {
        let call = "arange(\(start), \(end), step: \(step))"
        parlaPrecondition(step != .zero, "\(call) needs a non-zero step")
        let (first, last, increment) = (Double._converting(start), Double._converting(end), Double._converting(step))
        parlaPrecondition(
            first.isFinite && last.isFinite && increment.isFinite,
            "\(call) needs a finite start, end and step (not NaN or infinite)"
        )
        let span = ((last - first) / increment).rounded(.up)
        parlaPrecondition(
            span < 0x1p63,
            "\(call) would have \(span) elements, more than Int.max (\(Int.max))"
        )
        let count = Swift.max(Int(span), 0)
        return NDArray(
            (0..<count).lazy.map { i in
                let offset = Element._apply(BinaryOperator.Multiply.self, Element._converting(i), step)
                return Element._apply(BinaryOperator.Add.self, start, offset)
            },
            shape: [count]
        )
    }
}

extension NDArray where Element: NDFloatingElement {
    /// Uniform random values in [0, 1). NumPy: `np.random.rand(*shape)`.
    ///
    /// The same `seed` gives the same values on every machine; `nil` draws a fresh seed.
    public static func random(_ shape: [Int], seed: UInt64? = nil) -> NDArray {
        var generator = _Xoshiro256(seed: seed ?? UInt64.random(in: .min ... .max))
        let count = _checkedCount(of: shape, Element.self)
        // Rounding a double just below 1 to Float can give 1; keep the interval half-open.
        let belowOne = (1 as Element).nextDown
        return NDArray(
            (0..<count).lazy.map { _ in Swift.min(Element(generator.nextUnitDouble()), belowOne) },
            shape: shape
        )
    }

    /// Normally distributed random values with mean 0 and standard deviation 1. NumPy: `np.random.randn`.
    ///
    /// The same `seed` gives the same values on every machine; `nil` draws a fresh seed.
    public static func randomNormal(_ shape: [Int], seed: UInt64? = nil) -> NDArray {
        var generator = _Xoshiro256(seed: seed ?? UInt64.random(in: .min ... .max))
        let count = _checkedCount(of: shape, Element.self)
        var values: [Element] = []
        values.reserveCapacity(count + 1)
        while values.count < count {
            // Box-Muller: two uniforms give two independent standard normals.
            let u1 = 1 - generator.nextUnitDouble()  // in (0, 1], so log is finite
            let u2 = generator.nextUnitDouble()
            let radius = (-2 * Double.log(u1)).squareRoot()
            values.append(Element(radius * Double.cos(2 * .pi * u2)))
            values.append(Element(radius * Double.sin(2 * .pi * u2)))
        }
        return NDArray(values.prefix(count), shape: shape)
    }
}

/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64: a small, fast, reproducible generator.
struct _Xoshiro256: RandomNumberGenerator {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        self.state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    mutating func next() -> UInt64 {
        let result = ((self.state.1 &* 5) << 7 | (self.state.1 &* 5) >> 57) &* 9
        let t = self.state.1 << 17
        self.state.2 ^= self.state.0
        self.state.3 ^= self.state.1
        self.state.1 ^= self.state.2
        self.state.0 ^= self.state.3
        self.state.2 ^= t
        self.state.3 = self.state.3 << 45 | self.state.3 >> 19
        return result
    }

    /// A uniform double in [0, 1) with 53 random bits.
    mutating func nextUnitDouble() -> Double {
        Double(self.next() >> 11) * 0x1.0p-53
    }
}

import ParlaArrays
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("NDArray element-wise arithmetic and math")
struct NDArrayArithmeticTests {
    /// Left operands: integers 5...15.
    static func lhsValues(_ layout: ViewLayout, _ rows: Int = 5, _ columns: Int = 7) -> [[Double]] {
        layout.values(rows, columns) { i, j in Double(5 + (7 * i + 5 * j) % 11) }
    }

    /// Right operands: integers 1...4.
    static func rhsValues(_ layout: ViewLayout, _ rows: Int = 5, _ columns: Int = 7) -> [[Double]] {
        layout.values(rows, columns) { i, j in Double(1 + (5 * i + 3 * j) % 4) }
    }

    /// `op` applied to `a` and `b` in `Double`; integer quotients truncate toward zero.
    static func naive(
        _ a: [[Double]],
        _ b: [[Double]],
        integer: Bool,
        _ op: (Double, Double) -> Double
    ) -> [Double] {
        var result: [Double] = []
        for i in 0..<a.count {
            for j in 0..<a[i].count {
                let value = op(a[i][j], b[i][j])
                result.append(integer ? value.rounded(.towardZero) : value)
            }
        }
        return result
    }

    /// Checks `+ - * /` of `lhs` and `rhs` (already broadcast to the same logical values) for `E`.
    static func checkOperators<E: NDElement>(
        _: E.Type,
        _ lhs: ViewLayout,
        _ a: [[Double]],
        _ rhs: ViewLayout,
        _ b: [[Double]],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let integer = !(E.self == Float.self || E.self == Double.self)
        let x = lhs.make(a.map { $0.map { fx($0, as: E.self) } })
        let y = rhs.make(b.map { $0.map { fx($0, as: E.self) } })
        func expected(_ op: (Double, Double) -> Double) -> [E] {
            naive(a, b, integer: integer, op).map { fx($0) }
        }
        let shape = [a.count, a[0].count]
        for (name, result, want) in [
            ("+", x + y, expected(+)),
            ("-", x - y, expected(-)),
            ("*", x * y, expected(*)),
            ("/", x / y, expected(/)),
        ] {
            #expect(result.shape == shape, "\(E.self) \(name)", sourceLocation: sourceLocation)
            #expect(result.elements == want, "\(E.self) \(name)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Array-array

    @Test("+ - * / between arrays in every pair of layouts", arguments: ViewLayout.allCases, ViewLayout.allCases)
    func operatorsAcrossLayouts(lhs: ViewLayout, rhs: ViewLayout) {
        let a = Self.lhsValues(lhs)
        let b = Self.rhsValues(rhs)
        Self.checkOperators(Double.self, lhs, a, rhs, b)
        Self.checkOperators(Float.self, lhs, a, rhs, b)
        Self.checkOperators(Int32.self, lhs, a, rhs, b)
        Self.checkOperators(Int.self, lhs, a, rhs, b)
        Self.checkOperators(UInt8.self, lhs, a, rhs, b)
    }

    @Test("broadcasting a row, a column and a 1-D array", arguments: ViewLayout.allCases, ViewLayout.general)
    func broadcastingAcrossLayouts(lhs: ViewLayout, rhs: ViewLayout) {
        let a = Self.lhsValues(lhs)
        let x = lhs.make(a)
        // [1, 7] and [7] broadcast down the rows, [5, 1] across the columns.
        let rowValues = Self.rhsValues(rhs, 1, 7)
        let row = rhs.make(rowValues)
        let columnValues = Self.rhsValues(rhs, 5, 1)
        let column = rhs.make(columnValues)
        let bRow = grid(5, 7) { _, j in rowValues[0][j] }
        let bColumn = grid(5, 7) { i, _ in columnValues[i][0] }
        #expect((x + row).shape == [5, 7])
        #expect((x + row).elements == Self.naive(a, bRow, integer: false, +))
        #expect((x - row[0]).elements == Self.naive(a, bRow, integer: false, -))
        #expect((row[0] * x).elements == Self.naive(bRow, a, integer: false, *))
        #expect((x / column).elements == Self.naive(a, bColumn, integer: false, /))
        #expect((column - x).elements == Self.naive(bColumn, a, integer: false, -))
        // [5, 1] with [1, 7] broadcasts both ways to [5, 7].
        let outer = column * row
        #expect(outer.shape == [5, 7])
        #expect(outer.elements == Self.naive(bColumn, bRow, integer: false, *))
    }

    @Test func broadcastingShapes() {
        let a = NDArray<Int>.arange(24).reshaped([2, 3, 4])
        let b = NDArray<Int>([10, 20, 30], shape: [3, 1])
        let sum = a + b
        #expect(sum.shape == [2, 3, 4])
        var expected: [Int] = []
        for p in 0..<2 {
            for i in 0..<3 {
                for j in 0..<4 { expected.append(12 * p + 4 * i + j + 10 * (i + 1)) }
            }
        }
        #expect(sum.elements == expected)
        #expect((b + a).elements == expected)

        let zeroD = NDArray<Int>(100)
        #expect((a[0] - zeroD).elements == (0..<12).map { $0 - 100 })
        #expect((zeroD - zeroD).shape == [])
        #expect(
            (NDArray<Int>([1, 2], shape: [2, 1, 1]) * NDArray<Int>([1, 10, 100])).elements == [
                1, 10, 100, 2, 20, 200,
            ]
        )
        #expect((NDArray<Double>.zeros([0, 3]) + NDArray<Double>([1, 2, 3])).shape == [0, 3])
        #expect((NDArray<Double>.ones([4, 1]) + NDArray<Double>.ones([1, 0])).shape == [4, 0])
    }

    // MARK: Array-scalar and scalar-array

    @Test("array-scalar and scalar-array operators", arguments: ElementKind.allCases, ViewLayout.allCases)
    func scalarOperators(kind: ElementKind, layout: ViewLayout) {
        func check<E: NDElement>(_: E.Type) {
            let a = Self.lhsValues(layout)
            let x = layout.make(a.map { $0.map { fx($0, as: E.self) } })
            let values = flat(a)
            func expect(_ result: NDArray<E>, _ want: [Double], _ name: String) {
                let converted: [E] = want.map { fx(kind.isInteger ? $0.rounded(.towardZero) : $0) }
                #expect(result.shape == [5, 7], "\(name)")
                #expect(result.elements == converted, "\(name)")
            }
            expect(x + fx(2), values.map { $0 + 2 }, "x + 2")
            expect(fx(2) + x, values.map { 2 + $0 }, "2 + x")
            expect(x - fx(4), values.map { $0 - 4 }, "x - 4")
            expect(fx(20) - x, values.map { 20 - $0 }, "20 - x")
            expect(x * fx(3), values.map { $0 * 3 }, "x * 3")
            expect(fx(3) * x, values.map { 3 * $0 }, "3 * x")
            expect(x / fx(4), values.map { $0 / 4 }, "x / 4")
            expect(fx(60) / x, values.map { 60 / $0 }, "60 / x")
        }
        check(kind.type)
    }

    @Test("unary minus", arguments: ViewLayout.allCases)
    func unaryMinus(layout: ViewLayout) {
        let a = Self.lhsValues(layout)
        #expect((-layout.make(a)).elements == flat(a).map { -$0 })
        let ints = a.map { $0.map { Int32($0) - 10 } }
        #expect((-layout.make(ints)).elements == flat(ints).map { -$0 })
        let bytes = a.map { $0.map { UInt8($0) } }
        #expect((-layout.make(bytes)).elements == flat(bytes).map { 0 &- $0 })
        #expect((-NDArray(-2.5)).item() == 2.5)
    }

    // MARK: Compound assignment

    @Test("compound assignment keeps the left shape", arguments: ViewLayout.allCases, ViewLayout.general)
    func compoundAssignment(lhs: ViewLayout, rhs: ViewLayout) {
        let a = Self.lhsValues(lhs)
        let b = Self.rhsValues(rhs)
        let original = lhs.make(a)
        var x = original
        x += rhs.make(b)
        #expect(x.shape == [5, 7])
        #expect(x.elements == Self.naive(a, b, integer: false, +))
        x -= rhs.make(b)
        #expect(x.elements == flat(a))
        x *= rhs.make(b)
        #expect(x.elements == Self.naive(a, b, integer: false, *))
        x /= rhs.make(b)
        #expect(x.elements == flat(a))
        // A broadcast right operand.
        let rowValues = Self.rhsValues(rhs, 1, 7)
        x *= rhs.make(rowValues)[0]
        #expect(x.shape == [5, 7])
        #expect(x.elements == Self.naive(a, grid(5, 7) { _, j in rowValues[0][j] }, integer: false, *))
        // Scalars.
        var y = original
        y += 1
        y *= 4
        y -= 2
        y /= 2
        #expect(y.elements == flat(a).map { (($0 + 1) * 4 - 2) / 2 })
        // The arrays the operands came from are unchanged.
        #expect(original.elements == flat(a))
    }

    @Test func compoundAssignmentOnIntegersAndViews() {
        let a = NDArray<Int>.arange(6).reshaped([2, 3])
        var t = a.transposed
        t += NDArray<Int>([10, 20])
        #expect(t.shape == [3, 2])
        #expect(t.elements == [10, 23, 11, 24, 12, 25])
        t /= 4
        #expect(t.elements == [2, 5, 2, 6, 3, 6])
        t -= NDArray<Int>(1)
        #expect(t.elements == [1, 4, 1, 5, 2, 5])
        var u = NDArray<UInt8>([250, 3])
        u += 10
        #expect(u.elements == [4, 13])
        u -= NDArray<UInt8>([5, 14])
        #expect(u.elements == [255, 255])
        u *= 2
        #expect(u.elements == [254, 254])
        #expect(a.elements == [0, 1, 2, 3, 4, 5])
    }

    // MARK: Integer and floating-point semantics

    @Test func integerOverflowWraps() {
        #expect(
            (NDArray<Int32>([Int32.max, Int32.min]) + NDArray<Int32>([1, -1])).elements == [Int32.min, Int32.max]
        )
        #expect((NDArray<Int32>([Int32.max]) * 2).elements == [-2])
        #expect((NDArray<Int>([Int.max]) + 1).elements == [Int.min])
        #expect((NDArray<Int>([Int.min]) - 1).elements == [Int.max])
        #expect((NDArray<Int>([Int.max]) * NDArray<Int>([3])).elements == [Int.max &* 3])
        #expect((NDArray<UInt8>([250, 200]) + 10).elements == [4, 210])
        #expect((NDArray<UInt8>([3]) - NDArray<UInt8>([5])).elements == [254])
        #expect((UInt8(0) - NDArray<UInt8>([1])).elements == [255])
        #expect((NDArray<UInt8>([16, 200]) * 16).elements == [0, 128])
        #expect((-NDArray<Int32>([Int32.min, 5])).elements == [Int32.min, -5])
        #expect((-NDArray<Int>([Int.min])).elements == [Int.min])
        #expect((-NDArray<UInt8>([5, 0])).elements == [251, 0])
    }

    @Test("integer division by zero gives 0", arguments: [ElementKind.int32, .int, .uint8])
    func integerDivisionByZero(kind: ElementKind) {
        func check<E: NDElement>(_: E.Type) {
            let a = NDArray<E>([7, 0, 1, 255].map { fx($0) })
            let zeros = NDArray<E>.zeros([4])
            #expect((a / zeros).elements == [E](repeating: 0, count: 4))
            #expect((a / E.zero).elements == [E](repeating: 0, count: 4))
            #expect((E(exactly: 9)! / NDArray<E>([0, 3].map { fx($0) })).elements == [0, 3].map { fx($0) })
            var b = a
            b /= E.zero
            #expect(b.elements == [E](repeating: 0, count: 4))
            // A zero broadcast over a row.
            let m = NDArray<E>([[6, 8], [10, 12]].map { $0.map { fx($0) } })
            #expect((m / NDArray<E>([fx(2), fx(0)])).elements == [3, 0, 5, 0].map { fx($0) })
        }
        check(kind.type)
    }

    @Test func integerDivisionEdgeCases() {
        #expect((NDArray<Int>([Int.min]) / -1).elements == [Int.min])
        #expect((NDArray<Int32>([Int32.min]) / NDArray<Int32>([-1])).elements == [Int32.min])
        #expect((NDArray<Int>([Int.min, 5]) / NDArray<Int>([-1, -1])).elements == [Int.min, -5])
        // Quotients truncate toward zero (C semantics), as the library documents.
        #expect((NDArray<Int>([7, -7, 7, -7]) / NDArray<Int>([2, 2, -2, -2])).elements == [3, -3, -3, 3])
        #expect((NDArray<UInt8>([255, 7]) / 2).elements == [127, 3])
        #expect((NDArray<Int32>([1]) / 2).elements == [0])
    }

    @Test func floatingPointDivisionByZero() {
        let d = NDArray<Double>([1, -1, 0]) / NDArray<Double>.zeros([3])
        #expect(d.elements[0] == .infinity)
        #expect(d.elements[1] == -.infinity)
        #expect(d.elements[2].isNaN)
        let f = Float(1) / NDArray<Float>([0, -0.0])
        #expect(f.elements == [.infinity, -.infinity])
    }

    // MARK: Math functions

    /// Positive values in (0, 3], laid out as `layout`.
    static func positiveValues(_ layout: ViewLayout) -> [[Double]] {
        layout.values(4, 5) { i, j in 0.125 + Double((7 * i + 5 * j) % 11) / 4 }
    }

    @Test("math functions as methods and free functions", arguments: ViewLayout.allCases)
    func mathFunctionsDouble(layout: ViewLayout) {
        let values = Self.positiveValues(layout)
        let x = layout.make(values)
        let v = flat(values)
        let cases: [(String, NDArray<Double>, NDArray<Double>, [Double])] = [
            ("sqrt", x.sqrt(), sqrt(x), v.map { $0.squareRoot() }),
            ("exp", x.exp(), exp(x), v.map { exp($0) }),
            ("log", x.log(), log(x), v.map { log($0) }),
            ("sin", x.sin(), sin(x), v.map { sin($0) }),
            ("cos", x.cos(), cos(x), v.map { cos($0) }),
            ("tanh", x.tanh(), tanh(x), v.map { tanh($0) }),
            ("pow 2.5", x.pow(2.5), pow(x, 2.5), v.map { pow($0, 2.5) }),
            ("abs", (x - 1.5).abs(), abs(x - 1.5), v.map { Swift.abs($0 - 1.5) }),
        ]
        for (name, method, free, expected) in cases {
            #expect(method.shape == [4, 5], "\(name)")
            #expect(method.elements == free.elements, "\(name)")
            expectClose(method.elements, expected, tolerance: 1e-14)
        }
        // pow with a broadcast exponent array.
        let exponents = NDArray<Double>([0, 1, 2, 0.5, -1])
        let powered = pow(x, exponents)
        #expect(powered.elements == x.pow(exponents).elements)
        expectClose(powered.elements, v.enumerated().map { pow($1, [0, 1, 2, 0.5, -1][$0 % 5]) }, tolerance: 1e-14)
    }

    @Test("Float math functions", arguments: [ViewLayout.contiguous, .transposed, .reversed, .broadcastRow])
    func mathFunctionsFloat(layout: ViewLayout) {
        let values = Self.positiveValues(layout)
        let x = layout.make(values.map { $0.map(Float.init) })
        let v = flat(values)
        let cases: [(String, NDArray<Float>, NDArray<Float>, [Double])] = [
            ("sqrt", x.sqrt(), sqrt(x), v.map { $0.squareRoot() }),
            ("exp", x.exp(), exp(x), v.map { exp($0) }),
            ("log", x.log(), log(x), v.map { log($0) }),
            ("sin", x.sin(), sin(x), v.map { sin($0) }),
            ("cos", x.cos(), cos(x), v.map { cos($0) }),
            ("tanh", x.tanh(), tanh(x), v.map { tanh($0) }),
            ("pow", x.pow(3), pow(x, 3), v.map { pow($0, 3) }),
            ("abs", (x - 2).abs(), abs(x - 2), v.map { Swift.abs($0 - 2) }),
        ]
        for (name, method, free, expected) in cases {
            #expect(method.elements == free.elements, "\(name)")
            expectClose(method.elements.map(Double.init), expected, tolerance: 2e-6)
        }
    }

    @Test func mathFunctionSpecialValues() {
        let x = NDArray<Double>([0, -1, .infinity])
        #expect(x.log().elements[0] == -.infinity)
        #expect(x.log().elements[1].isNaN)
        #expect(x.sqrt().elements[1].isNaN)
        #expect(x.exp().elements == [1, exp(-1), .infinity])
        #expect(x.tanh().elements == [0, tanh(-1), 1])
        #expect(NDArray(4.0).sqrt().item() == 2)
        #expect(NDArray(4.0).sqrt().shape == [])
    }

    @Test func powerOfNegativeAndZeroBasesIsNumPys() {
        // NumPy: np.power([-2., 0., -8., -2.], [2., 0., 1/3, -1.]) == [4., 1., nan, -0.5].
        let bases = NDArray<Double>([-2, 0, -8, -2])
        let powers = pow(bases, NDArray<Double>([2, 0, 1.0 / 3, -1])).elements
        #expect(powers[0] == 4 && powers[1] == 1 && powers[2].isNaN && powers[3] == -0.5)
        #expect(pow(NDArray<Float>([-3, 0]), 2).elements == [9, 0])
        #expect(NDArray<Float>([0]).pow(0).elements == [1])
    }

    @Test func absOfIntegers() {
        #expect(abs(NDArray<Int>([-3, 4, 0, Int.min])).elements == [3, 4, 0, Int.min])
        #expect(NDArray<Int32>([-7, Int32.min, Int32.max]).abs().elements == [7, Int32.min, Int32.max])
        #expect(abs(NDArray<UInt8>([0, 255])).elements == [0, 255])
        let t = NDArray<Int>([[-1, 2], [-3, 4]]).transposed
        #expect(abs(t).elements == [1, 3, 2, 4])
    }

    // MARK: maximum and minimum

    @Test("maximum and minimum", arguments: ViewLayout.allCases, ViewLayout.general)
    func maximumMinimum(lhs: ViewLayout, rhs: ViewLayout) {
        let a = lhs.values(5, 7) { i, j in Double((7 * i + 5 * j) % 11) }
        let b = rhs.values(5, 7) { i, j in Double((3 * i + 8 * j) % 11) }
        let x = lhs.make(a)
        let y = rhs.make(b)
        let wantMax = Self.naive(a, b, integer: false) { Swift.max($0, $1) }
        let wantMin = Self.naive(a, b, integer: false) { Swift.min($0, $1) }
        #expect(x.maximum(y).elements == wantMax)
        #expect(maximum(x, y).elements == wantMax)
        #expect(x.minimum(y).elements == wantMin)
        #expect(minimum(x, y).elements == wantMin)
        #expect(x.maximum(4).elements == flat(a).map { Swift.max($0, 4) })
        #expect(x.minimum(4).elements == flat(a).map { Swift.min($0, 4) })
        let xi = lhs.make(a.map { $0.map { Int32($0) } })
        let yi = rhs.make(b.map { $0.map { Int32($0) } })
        #expect(maximum(xi, yi).elements == wantMax.map { Int32($0) })
        #expect(minimum(xi, yi).elements == wantMin.map { Int32($0) })
        let xb = lhs.make(a.map { $0.map { UInt8($0) } })
        #expect(xb.maximum(UInt8(5)).elements == flat(a).map { UInt8(Swift.max($0, 5)) })
    }

    @Test func maximumMinimumBroadcastAndNaN() {
        let column = NDArray<Int>([1, 5, 3], shape: [3, 1])
        let row = NDArray<Int>([2, 4])
        #expect(maximum(column, row).shape == [3, 2])
        #expect(maximum(column, row).elements == [2, 4, 5, 5, 3, 4])
        #expect(minimum(column, row).elements == [1, 1, 2, 4, 2, 3])

        let a = NDArray<Double>([.nan, 1, 2, .nan, -.infinity])
        let b = NDArray<Double>([0, .nan, 1, .nan, 3])
        let maxAB = maximum(a, b).elements
        let minAB = minimum(a, b).elements
        #expect(maxAB[0].isNaN && maxAB[1].isNaN && maxAB[3].isNaN)
        #expect(maxAB[2] == 2 && maxAB[4] == 3)
        #expect(minAB[0].isNaN && minAB[1].isNaN && minAB[3].isNaN)
        #expect(minAB[2] == 1 && minAB[4] == -.infinity)
        #expect(b.maximum(a).elements[0].isNaN)
        #expect(b.minimum(a).elements[1].isNaN)
        #expect(NDArray<Float>([1, 2]).maximum(.nan).elements.allSatisfy { $0.isNaN })
        #expect(NDArray<Float>([1, 2]).minimum(.nan).elements.allSatisfy { $0.isNaN })
    }
}

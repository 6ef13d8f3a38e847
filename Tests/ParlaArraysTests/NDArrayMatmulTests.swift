import ParlaArrays
import Testing

@Suite("NDArray matmul")
struct NDArrayMatmulTests {
    /// Small integer-valued operands, exact in every element type.
    static func lhsValues(_ layout: ViewLayout, _ m: Int = 5, _ k: Int = 7) -> [[Double]] {
        layout.values(m, k) { i, j in Double((3 * i + 5 * j) % 7) }
    }

    static func rhsValues(_ layout: ViewLayout, _ k: Int = 7, _ n: Int = 4) -> [[Double]] {
        layout.values(k, n) { i, j in Double((2 * i + 3 * j + 1) % 5) }
    }

    /// The product of stacks of matrices `a` [batch][m][k] and `b` [batch][k][n], flattened.
    static func naiveBatched(_ a: [[[Double]]], _ b: [[[Double]]]) -> [Double] {
        zip(a, b).flatMap { flat(naiveMatmul($0, $1)) }
    }

    // MARK: 2-D x 2-D

    @Test func smallProducts() {
        let a = NDArray([[1, 2], [3, 4]])
        let b = NDArray([[5, 6], [7, 8]])
        #expect(a.matmul(b).shape == [2, 2])
        #expect(a.matmul(b).elements == [19, 22, 43, 50])
        #expect(matmul(b, a).elements == [23, 34, 31, 46])
        #expect(
            NDArray([[1.0, 2.0], [3.0, 4.0]]).matmul(NDArray([[5.0, 6.0], [7.0, 8.0]])).elements == [19, 22, 43, 50]
        )
        // Non-square shapes: [2, 3] x [3, 4], a row times a column, a column times a row.
        let p = NDArray<Double>([[1, 2, 3], [4, 5, 6]])
        let q = NDArray<Double>([[1, 0, 2, -1], [0, 1, 3, 0], [2, 2, 0, 1]])
        #expect(p.matmul(q).shape == [2, 4])
        #expect(p.matmul(q).elements == [7, 8, 8, 2, 16, 17, 23, 2])
        #expect(p.transposed.matmul(p).elements == [17, 22, 27, 22, 29, 36, 27, 36, 45])
        #expect(p.matmul(p.transposed).elements == [14, 32, 32, 77])
        let row = NDArray<Float>([[1, 2, 3]])
        let column = NDArray<Float>([[4], [5], [6]])
        #expect(row.matmul(column).shape == [1, 1])
        #expect(row.matmul(column).item() == 32)
        #expect(column.matmul(row).shape == [3, 3])
        #expect(column.matmul(row).elements == [4, 8, 12, 5, 10, 15, 6, 12, 18])
    }

    @Test("2-D x 2-D in every pair of layouts", arguments: ViewLayout.allCases, ViewLayout.allCases)
    func layouts(lhs: ViewLayout, rhs: ViewLayout) {
        let a = Self.lhsValues(lhs)
        let b = Self.rhsValues(rhs)
        let expected = flat(naiveMatmul(a, b))
        func check<E: NDElement>(_: E.Type) {
            let x = lhs.make(a.map { $0.map { fx($0, as: E.self) } })
            let y = rhs.make(b.map { $0.map { fx($0, as: E.self) } })
            let product = x.matmul(y)
            #expect(product.shape == [5, 4], "\(E.self)")
            #expect(product.elements == expected.map { fx($0) }, "\(E.self)")
            #expect(matmul(x, y).elements == product.elements, "\(E.self)")
        }
        check(Double.self)
        check(Float.self)
        check(Int32.self)
        check(Int.self)
        check(UInt8.self)
    }

    @Test("transposed and strided operands", arguments: ViewLayout.general)
    func transposedAndStridedOperands(layout: ViewLayout) {
        // y = x^T x and x x^T, where x and x^T come from the same layout.
        let values = Self.lhsValues(layout, 6, 9)
        let x = layout.make(values)
        #expect(x.transposed.matmul(x).elements == flat(naiveMatmul(naiveTranspose(values), values)))
        #expect(x.matmul(x.transposed).elements == flat(naiveMatmul(values, naiveTranspose(values))))
        // Sub-blocks selected by slicing the operands.
        let rows = x[1..<5, .stride(by: 2)]
        let columns = x.transposed[.stride(by: 2), ..<3]
        let expected = naiveMatmul(
            values[1..<5].map { row in stride(from: 0, to: 9, by: 2).map { row[$0] } },
            stride(from: 0, to: 9, by: 2).map { j in (0..<3).map { values[$0][j] } }
        )
        let product = rows.matmul(columns)
        #expect(product.shape == [4, 3])
        #expect(product.elements == flat(expected))
    }

    // MARK: Vectors

    @Test func vectorOperands() {
        let v = NDArray<Double>([1, 2, 3])
        let m = NDArray<Double>([[1, 2], [3, 4], [5, 6]])
        // 1-D x 2-D: a row vector, its axis dropped.
        #expect(v.matmul(m).shape == [2])
        #expect(v.matmul(m).elements == [22, 28])
        // 2-D x 1-D: a column vector.
        #expect(m.transposed.matmul(v).shape == [2])
        #expect(m.transposed.matmul(v).elements == [22, 28])
        #expect(m.matmul(NDArray<Double>([1, -1])).elements == [-1, -1, -1])
        // 1-D . 1-D: a 0-d dot product.
        let dot = v.matmul(NDArray<Double>([4, 5, 6]))
        #expect(dot.shape == [])
        #expect(dot.item() == 32)
        // Strided and reversed vectors.
        let w = NDArray<Int>.arange(10)
        #expect(w[.stride(by: 3)].matmul(w[.stride(by: -3)]).item() == 0 * 9 + 3 * 6 + 6 * 3 + 9 * 0)
        #expect(w[..<3].matmul(NDArray<Int>.arange(6).reshaped([3, 2])).elements == [10, 13])
        #expect(NDArray<Int>.arange(6).reshaped([2, 3]).transposed.matmul(w[8...]).elements == [27, 44, 61])
        // A broadcast vector.
        let ones = NDArray<Float>([1]).broadcast(to: [3])
        #expect(ones.matmul(NDArray<Float>([[1, 2], [3, 4], [5, 6]])).elements == [9, 12])
    }

    // MARK: Batched

    @Test func batchedProducts() {
        let a = (0..<2).map { p in grid(3, 4) { i, j in Double((p + 2 * i + 3 * j) % 5) } }
        let b = (0..<2).map { p in grid(4, 5) { i, j in Double((2 * p + i + 4 * j) % 7) - 3 } }
        let x = NDArray(a)
        let y = NDArray(b)
        let product = x.matmul(y)
        #expect(product.shape == [2, 3, 5])
        #expect(product.elements == Self.naiveBatched(a, b))
        // 2-D operands broadcast over the batch.
        #expect(x[1].matmul(y).shape == [2, 3, 5])
        #expect(x[1].matmul(y).elements == Self.naiveBatched([a[1], a[1]], b))
        #expect(x.matmul(y[0]).elements == Self.naiveBatched(a, [b[0], b[0]]))
        // 1-D with 3-D.
        let v = NDArray<Double>([1, -1, 2, 0])
        #expect(v.matmul(y).shape == [2, 5])
        #expect(v.matmul(y).elements == Self.naiveBatched([[[1, -1, 2, 0]], [[1, -1, 2, 0]]], b))
        #expect(x.matmul(v).shape == [2, 3])
        #expect(x.matmul(v).elements == Self.naiveBatched(a, [[[1], [-1], [2], [0]], [[1], [-1], [2], [0]]]))
        // Transposed and reversed stacks: x' = stack of a[p]^T read backwards over the batch.
        let xt = NDArray(a.map(naiveTranspose)).transposed([0, 2, 1])
        #expect(xt.matmul(y).elements == product.elements)
        let reversedStack = x[.stride(by: -1)]
        #expect(reversedStack.matmul(y).elements == Self.naiveBatched([a[1], a[0]], b))
    }

    @Test func batchedBroadcasting() {
        // [2, 1, 3, 4] x [5, 4, 2] -> [2, 5, 3, 2].
        let a = (0..<2).map { p in grid(3, 4) { i, j in Double((p + i + 2 * j) % 4) } }
        let b = (0..<5).map { q in grid(4, 2) { i, j in Double((q + 3 * i + j) % 5) - 2 } }
        let x = NDArray(flat(a), shape: [2, 1, 3, 4])
        let y = NDArray(flat(b), shape: [5, 4, 2])
        let product = x.matmul(y)
        #expect(product.shape == [2, 5, 3, 2])
        var expected: [Double] = []
        for p in 0..<2 {
            for q in 0..<5 { expected += flat(naiveMatmul(a[p], b[q])) }
        }
        #expect(product.elements == expected)
        // The same with a batch axis of extent 1 broadcast on the other side.
        let y1 = NDArray(flat(b[2]), shape: [1, 4, 2])
        #expect(x.matmul(y1).shape == [2, 1, 3, 2])
        #expect(x.matmul(y1).elements == flat(a.map { naiveMatmul($0, b[2]) }))
        // A stack broadcast with broadcast(to:) (batch stride 0).
        let shared = NDArray(a[0]).broadcast(to: [5, 3, 4])
        #expect(shared.matmul(y).elements == Self.naiveBatched(Array(repeating: a[0], count: 5), b))
    }

    // MARK: Empty extents

    @Test func emptyContractionGivesZeros() {
        // The result is zeros, not uninitialized memory.
        for _ in 0..<3 {
            let product = NDArray<Double>.zeros([3, 0]).matmul(NDArray<Double>.zeros([0, 4]))
            #expect(product.shape == [3, 4])
            #expect(product.elements == [Double](repeating: 0, count: 12))
        }
        #expect(NDArray<Int>.ones([2, 0]).matmul(NDArray<Int>.ones([0, 2])).elements == [0, 0, 0, 0])
        let empty = NDArray<Float>.zeros([0])
        #expect(empty.matmul(empty).shape == [])
        #expect(empty.matmul(empty).item() == 0)
        let batched = NDArray<Double>.ones([2, 3, 0]).matmul(NDArray<Double>.ones([2, 0, 2]))
        #expect(batched.shape == [2, 3, 2])
        #expect(batched.elements == [Double](repeating: 0, count: 12))
        #expect(NDArray<Double>.ones([0, 3]).matmul(NDArray<Double>.ones([3, 4])).shape == [0, 4])
        #expect(NDArray<Double>.ones([2, 3]).matmul(NDArray<Double>.ones([3, 0])).shape == [2, 0])
    }

    // MARK: Integers

    @Test func integerProducts() {
        let a = NDArray<Int>([[1, -2, 3], [0, 4, -5]])
        let b = NDArray<Int>([[2, 1], [-1, 0], [3, -2]])
        #expect(a.matmul(b).elements == [13, -5, -19, 10])
        #expect(a.astype(Int32.self).matmul(b.astype(Int32.self)).elements == [13, -5, -19, 10])
        // Wrapping arithmetic, as NumPy's.
        #expect(NDArray<UInt8>([[16]]).matmul(NDArray<UInt8>([[16]])).elements == [0])
        #expect(NDArray<UInt8>([[200, 100]]).matmul(NDArray<UInt8>([[2], [3]])).elements == [188])
        #expect(NDArray<Int32>([[Int32.max, 1]]).matmul(NDArray<Int32>([[2], [2]])).elements == [0])
        #expect(NDArray<Int>([[Int.max]]).matmul(NDArray<Int>([[2]])).elements == [-2])
    }

    @Test func largerIntegerProductAgainstNaiveLoop() {
        let (m, k, n) = (97, 130, 61)
        let a = grid(m, k) { i, j in Double((i * 31 + j * 17) % 23) - 11 }
        let b = grid(k, n) { i, j in Double((i * 13 + j * 7) % 19) - 9 }
        let expected = flat(naiveMatmul(a, b)).map { Int32($0) }
        let x = NDArray(flat(a).map { Int32($0) }, shape: [m, k])
        let y = NDArray(flat(naiveTranspose(b)).map { Int32($0) }, shape: [n, k]).transposed
        #expect(x.matmul(y).elements == expected)
    }

    // MARK: Larger floating-point products

    /// 200 x 300 and 300 x 150 operands with signed values, and their product accumulated in `Double`
    /// with the matching sums of absolute values (the scale of the rounding error).
    struct Reference: Sendable {
        static let m = 200
        static let k = 300
        static let n = 150
        static let shared = Reference()

        let a: [[Double]]
        let b: [[Double]]
        let product: [Double]
        let magnitude: [Double]

        init() {
            let aFlat = NDArray<Double>.randomNormal([Self.m, Self.k], seed: 1).elements
            let bFlat = NDArray<Double>.random([Self.k, Self.n], seed: 2).elements.map { $0 - 0.5 }
            // Round to Float so that Float and Double operands hold the same values.
            a = grid(Self.m, Self.k) { i, j in Double(Float(aFlat[i * Self.k + j])) }
            b = grid(Self.k, Self.n) { i, j in Double(Float(bFlat[i * Self.n + j])) }
            var product = [Double](repeating: 0, count: Self.m * Self.n)
            var magnitude = [Double](repeating: 0, count: Self.m * Self.n)
            let bColumns = naiveTranspose(b)
            for i in 0..<Self.m {
                let row = a[i]
                for j in 0..<Self.n {
                    let column = bColumns[j]
                    var total = 0.0
                    var size = 0.0
                    for l in 0..<Self.k {
                        let term = row[l] * column[l]
                        total += term
                        size += Swift.abs(term)
                    }
                    product[i * Self.n + j] = total
                    magnitude[i * Self.n + j] = size
                }
            }
            self.product = product
            self.magnitude = magnitude
        }

        /// Expects `actual` within `tolerance` times the sum of absolute terms of each entry.
        func check(_ actual: [Double], tolerance: Double, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(actual.count == product.count, sourceLocation: sourceLocation)
            var worst = 0.0
            for index in product.indices {
                worst = Swift.max(worst, Swift.abs(actual[index] - product[index]) / magnitude[index])
            }
            #expect(worst <= tolerance, "largest relative error \(worst)", sourceLocation: sourceLocation)
        }
    }

    static let largeLayoutPairs: [(ViewLayout, ViewLayout)] = [
        (.contiguous, .contiguous),
        (.transposed, .contiguous),
        (.contiguous, .transposed),
        (.transposed, .transposed),
        (.stepped, .reversed),
        (.reversed, .block),
        (.block, .stepped),
    ]

    @Test("200x300 x 300x150 against a Double triple loop", arguments: largeLayoutPairs)
    func largeProducts(lhs: ViewLayout, rhs: ViewLayout) {
        let reference = Reference.shared
        let d = lhs.make(reference.a).matmul(rhs.make(reference.b))
        #expect(d.shape == [200, 150])
        reference.check(d.elements, tolerance: 1e-13)
        let f = lhs.make(reference.a.map { $0.map(Float.init) }).matmul(
            rhs.make(reference.b.map { $0.map(Float.init) })
        )
        #expect(f.shape == [200, 150])
        reference.check(f.elements.map(Double.init), tolerance: 2e-5)
    }

    @Test("odd sizes that leave partial tiles", arguments: [(1, 1, 1), (7, 13, 5), (33, 65, 17), (129, 257, 31)])
    func oddSizes(m: Int, k: Int, n: Int) {
        let a = grid(m, k) { i, j in Double((i * 7 + j * 3) % 11) - 5 }
        let b = grid(k, n) { i, j in Double((i * 5 + j * 2) % 13) - 6 }
        let expected = flat(naiveMatmul(a, b))
        // Small integers: every partial sum is exact in Float and Double.
        for lhs in [ViewLayout.contiguous, .transposed, .stepped] {
            for rhs in [ViewLayout.contiguous, .reversed] {
                #expect(lhs.make(a).matmul(rhs.make(b)).elements == expected, "\(lhs) x \(rhs)")
                let f = lhs.make(a.map { $0.map(Float.init) }).matmul(rhs.make(b.map { $0.map(Float.init) }))
                #expect(f.elements == expected.map(Float.init), "\(lhs) x \(rhs)")
            }
        }
    }

    @Test func largeBatchedProduct() {
        let reference = Reference.shared
        // Two copies of the left operand, the second scaled by -2, against one shared right operand.
        let a = NDArray<Float>(flat(reference.a).map(Float.init), shape: [200, 300])
        let stack = NDArray<Float>(
            flat(reference.a).map { Float($0) } + flat(reference.a).map { Float(-2 * $0) },
            shape: [2, 200, 300]
        )
        let b = NDArray<Float>(flat(reference.b).map(Float.init), shape: [300, 150])
        let product = stack.matmul(b)
        #expect(product.shape == [2, 200, 150])
        reference.check(product[0].elements.map(Double.init), tolerance: 2e-5)
        reference.check(product[1].elements.map { -Double($0) / 2 }, tolerance: 2e-5)
        #expect(product[0].elements == a.matmul(b).elements)
    }
}

import ParlaArrays
import Testing

@Suite("NDArray transposes, reshapes, copies, conversions and broadcasts")
struct NDArrayTransformTests {
    /// Logical 4 x 6 values for `layout`.
    static func values(_ layout: ViewLayout) -> [[Int]] {
        layout.values(4, 6) { i, j in 10 * i + j + 1 }
    }

    // MARK: Layout sanity

    @Test("every layout builds the logical values it is given", arguments: ViewLayout.allCases)
    func layoutsHoldTheirValues(layout: ViewLayout) {
        let values = Self.values(layout)
        let a = layout.make(values)
        #expect(a.shape == [4, 6])
        #expect(a.elements == flat(values))
        #expect(a.isContiguous == layout.isContiguous)
        for i in 0..<4 {
            for j in 0..<6 {
                let x: Int = a[i, j]
                #expect(x == values[i][j])
            }
        }
    }

    // MARK: transposed

    @Test("transposed", arguments: ViewLayout.allCases)
    func transposed(layout: ViewLayout) {
        let values = Self.values(layout)
        let t = layout.make(values).transposed
        #expect(t.shape == [6, 4])
        #expect(t.elements == flat(naiveTranspose(values)))
        #expect(t.transposed.elements == flat(values))
    }

    @Test func transposedOf1DAnd0DAnd3D() {
        let v = NDArray<Int>.arange(5)
        #expect(v.transposed.shape == [5])
        #expect(v.transposed.elements == [0, 1, 2, 3, 4])
        #expect(NDArray(3.0).transposed.item() == 3)

        let values = (0..<2).map { p in grid(3, 4) { i, j in 100 * p + 10 * i + j } }
        let c = NDArray(values)
        let t = c.transposed
        #expect(t.shape == [4, 3, 2])
        var expected: [Int] = []
        for j in 0..<4 {
            for i in 0..<3 {
                for p in 0..<2 { expected.append(values[p][i][j]) }
            }
        }
        #expect(t.elements == expected)
        #expect(t.strides == [1, 4, 12])
    }

    @Test("transposed(axes)", arguments: [[0, 1, 2], [1, 0, 2], [2, 0, 1], [0, 2, 1], [2, 1, 0], [1, 2, 0]])
    func transposedWithAxes(axes: [Int]) {
        let shape = [2, 3, 4]
        let source = NDArray<Double>.arange(24).reshaped(shape)
        // Also from a non-contiguous source: every axis reversed.
        let reversedSource = NDArray<Double>.arange(24).reshaped(shape)[
            .stride(by: -1),
            .stride(by: -1),
            .stride(by: -1)
        ]
        for (a, value) in [
            (source, { (i: Int, j: Int, k: Int) in Double(12 * i + 4 * j + k) }),
            (reversedSource, { (i: Int, j: Int, k: Int) in Double(23 - (12 * i + 4 * j + k)) }),
        ] {
            let t = a.transposed(axes)
            let newShape = axes.map { shape[$0] }
            #expect(t.shape == newShape)
            var expected: [Double] = []
            for x in 0..<newShape[0] {
                for y in 0..<newShape[1] {
                    for z in 0..<newShape[2] {
                        var index = [0, 0, 0]
                        index[axes[0]] = x
                        index[axes[1]] = y
                        index[axes[2]] = z
                        expected.append(value(index[0], index[1], index[2]))
                    }
                }
            }
            #expect(t.elements == expected)
        }
    }

    // MARK: reshaped, flattened, contiguous

    @Test(
        "reshaped",
        arguments: ViewLayout.allCases,
        [[24], [6, 4], [2, 12], [2, 3, 4], [-1], [3, -1], [-1, 2, 2], [1, 24, 1]]
    )
    func reshaped(layout: ViewLayout, shape: [Int]) {
        let values = Self.values(layout)
        let r = layout.make(values).reshaped(shape)
        let resolved = shape.map { $0 == -1 ? 24 / shape.filter { $0 != -1 }.reduce(1, *) : $0 }
        #expect(r.shape == resolved)
        #expect(r.elements == flat(values))
        #expect(r.isContiguous)
    }

    @Test func reshapedKeepsRowMajorOrderOfNonContiguousSources() {
        let a = NDArray<Int>.arange(6).reshaped([2, 3])
        // a.T is [[0, 3], [1, 4], [2, 5]]; NumPy: a.T.reshape(2, 3) == [[0, 3, 1], [4, 2, 5]].
        #expect(a.transposed.reshaped([2, 3]).elements == [0, 3, 1, 4, 2, 5])
        #expect(a[..., .stride(by: -1)].reshaped([-1]).elements == [2, 1, 0, 5, 4, 3])
        #expect(NDArray<Int>([7], shape: [1, 1]).reshaped([]).shape == [])
        #expect(NDArray(7.5).reshaped([1, 1]).elements == [7.5])
        #expect(NDArray<Int>.zeros([0, 3]).reshaped([3, 0]).shape == [3, 0])
    }

    @Test func reshapingAViewThenWritingLeavesTheSourceAlone() {
        let a = NDArray<Int>.arange(6)
        var r = a.reshaped([2, 3])
        r[0, 0] = 99
        #expect(a.elements == [0, 1, 2, 3, 4, 5])
        #expect(r.elements == [99, 1, 2, 3, 4, 5])
    }

    @Test("flattened", arguments: ViewLayout.allCases)
    func flattened(layout: ViewLayout) {
        let values = Self.values(layout)
        let f = layout.make(values).flattened()
        #expect(f.shape == [24])
        #expect(f.elements == flat(values))
        #expect(layout.make(values).transposed.flattened().elements == flat(naiveTranspose(values)))
    }

    @Test("contiguous()", arguments: ViewLayout.allCases)
    func contiguous(layout: ViewLayout) {
        let values = Self.values(layout)
        let a = layout.make(values)
        let c = a.contiguous()
        #expect(c.isContiguous)
        #expect(c.shape == [4, 6])
        #expect(c.strides == [6, 1])
        #expect(c.elements == flat(values))
        if layout.isContiguous {
            // Already contiguous: the same storage, no copy.
            let p = a.withUnsafeBufferPointer { $0.baseAddress! }
            #expect(c.withUnsafeBufferPointer { $0.baseAddress! } == p)
        }
    }

    // MARK: astype

    @Test("astype keeps logical order", arguments: ViewLayout.allCases)
    func astypeAcrossLayouts(layout: ViewLayout) {
        let values = Self.values(layout)
        let a = layout.make(values)
        #expect(a.astype(Double.self).elements == flat(values).map(Double.init))
        #expect(a.astype(Float.self).elements == flat(values).map(Float.init))
        #expect(a.astype(Int32.self).elements == flat(values).map(Int32.init))
        #expect(a.astype(UInt8.self).elements == flat(values).map(UInt8.init))
        #expect(a.astype(Int.self).elements == flat(values))
        #expect(a.astype(Double.self).shape == [4, 6])
    }

    @Test func astypeFloatToIntegerTruncatesTowardZero() {
        let d = NDArray<Double>([2.7, -2.7, 0.5, -0.5, 1e6 + 0.999, -3.0, 127.9])
        #expect(d.astype(Int.self).elements == [2, -2, 0, 0, 1_000_000, -3, 127])
        #expect(d.astype(Int32.self).elements == [2, -2, 0, 0, 1_000_000, -3, 127])
        let f = NDArray<Float>([0, 1.9, 254.99, 255, 17.5])
        #expect(f.astype(UInt8.self).elements == [0, 1, 254, 255, 17])
        #expect(f.astype(Int.self).elements == [0, 1, 254, 255, 17])
        #expect(
            NDArray<Double>([[1.5, -1.5], [2.5, -2.5]]).transposed.astype(Int32.self).elements == [1, 2, -1, -2]
        )
    }

    @Test func astypeIntegerNarrowingWraps() {
        let i = NDArray<Int>([256, 300, -1, -256, 255, 1 << 40 | 7])
        #expect(i.astype(UInt8.self).elements == [0, 44, 255, 0, 255, 7])
        let big = NDArray<Int>([1 << 31, -(1 << 31) - 1, (1 << 32) + 5, -1])
        #expect(big.astype(Int32.self).elements == [Int32.min, Int32.max, 5, -1])
        #expect(NDArray<Int32>([-1, 258, Int32.min]).astype(UInt8.self).elements == [255, 2, 0])
    }

    @Test func astypeWidening() {
        // UInt8 does not sign-extend; Int32 does.
        #expect(NDArray<UInt8>([0, 128, 255]).astype(Int32.self).elements == [0, 128, 255])
        #expect(NDArray<UInt8>([255]).astype(Int.self).elements == [255])
        #expect(NDArray<UInt8>([255, 3]).astype(Float.self).elements == [255, 3])
        #expect(NDArray<Int32>([Int32.min, -1]).astype(Int.self).elements == [Int(Int32.min), -1])
        #expect(NDArray<Int32>([Int32.max]).astype(Double.self).elements == [2_147_483_647])
        #expect(NDArray<Float>([0.1]).astype(Double.self).elements == [Double(Float(0.1))])
        #expect(NDArray<Double>([0.1, 1e40]).astype(Float.self).elements == [Float(0.1), .infinity])
        #expect(NDArray<Int>([(1 << 53) + 1]).astype(Double.self).elements == [9_007_199_254_740_992])
    }

    @Test func astypeProducesAnIndependentCopy() {
        let a = NDArray<Double>([1, 2, 3])
        var b = a.astype(Double.self)
        b[0] = 10
        #expect(a.elements == [1, 2, 3])
        #expect(b.elements == [10, 2, 3])
        #expect(NDArray(4.9).astype(Int.self).shape == [])
        #expect(NDArray(4.9).astype(Int.self).item() == 4)
    }

    // MARK: broadcast(to:)

    @Test func broadcastToShapes() {
        let row = NDArray<Int>([1, 2, 3])
        let b = row.broadcast(to: [2, 3])
        #expect(b.shape == [2, 3])
        #expect(b.strides == [0, 1])
        #expect(b.elements == [1, 2, 3, 1, 2, 3])

        let column = NDArray<Int>([1, 2, 3], shape: [3, 1])
        #expect(column.broadcast(to: [3, 4]).elements == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
        #expect(column.broadcast(to: [2, 3, 2]).elements == [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3])

        #expect(NDArray<Double>(2.5).broadcast(to: [2, 2]).elements == [2.5, 2.5, 2.5, 2.5])
        #expect(NDArray<UInt8>([9]).broadcast(to: [4]).elements == [9, 9, 9, 9])
        #expect(row.broadcast(to: [3]).elements == [1, 2, 3])
        #expect(row.broadcast(to: [0, 3]).shape == [0, 3])

        let m = NDArray<Int>.arange(6).reshaped([2, 3])
        let stacked = m.broadcast(to: [2, 2, 3])
        #expect(stacked.shape == [2, 2, 3])
        #expect(stacked.elements == [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5])
        // From a non-contiguous source.
        #expect(m.transposed[..., 1...].broadcast(to: [2, 3, 1]).elements == [3, 4, 5, 3, 4, 5])
        #expect(m[..., .stride(by: -2)].broadcast(to: [2, 2, 2]).elements == [2, 0, 5, 3, 2, 0, 5, 3])
    }

    @Test
    func writingOneElementOfABroadcastArray() {
        var b = NDArray<Int>([1, 2, 3]).broadcast(to: [2, 3])
        b[0, 0] = 9
        #expect(b.elements == [9, 2, 3, 1, 2, 3])
        var c = NDArray<Int>([1, 2, 3]).broadcast(to: [2, 3])
        c[0] = NDArray([7, 8, 9])
        #expect(c.elements == [7, 8, 9, 1, 2, 3])
    }

    @Test
    func broadcastIsAViewAndCopiesOnWrite() {
        let row = NDArray<Int>([1, 2, 3])
        var b = row.broadcast(to: [2, 3])
        b[1, 1] = 20
        #expect(b.elements == [1, 2, 3, 1, 20, 3])
        #expect(row.elements == [1, 2, 3])
    }
}

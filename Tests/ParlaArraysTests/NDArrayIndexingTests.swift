import ParlaArrays
import Testing

/// One subscript component and the positions it selects on an axis of extent 10 (NumPy's answer).
struct SliceCase: Sendable, CustomTestStringConvertible {
    let name: String
    let index: any NDIndex
    let positions: [Int]

    var testDescription: String { self.name }

    init(_ name: String, _ index: any NDIndex, _ positions: [Int]) {
        self.name = name
        self.index = index
        self.positions = positions
    }

    /// Every kind of range and slice, on an axis of extent 10.
    static let all: [SliceCase] = [
        SliceCase("0..<2", 0..<2, [0, 1]),
        SliceCase("1...", 1..., Array(1..<10)),
        SliceCase("..<3", ..<3, [0, 1, 2]),
        SliceCase("...4", ...4, [0, 1, 2, 3, 4]),
        SliceCase("2...5", 2...5, [2, 3, 4, 5]),
        SliceCase("-3..<(-1)", -3..<(-1), [7, 8]),
        SliceCase("(-3)...", (-3)..., [7, 8, 9]),
        SliceCase("..<(-2)", ..<(-2), Array(0..<8)),
        SliceCase("...(-1)", ...(-1), Array(0..<10)),
        SliceCase("-4...(-2)", -4...(-2), [6, 7, 8]),
        SliceCase("-3...(-1)", -3...(-1), [7, 8, 9]),
        SliceCase("5..<100", 5..<100, [5, 6, 7, 8, 9]),
        SliceCase("20...", 20..., []),
        SliceCase("3..<3", 3..<3, []),
        SliceCase(".all", NDSlice.all, Array(0..<10)),
        SliceCase(".stride(by: 2)", NDSlice.stride(by: 2), [0, 2, 4, 6, 8]),
        SliceCase(".stride(by: 3)", NDSlice.stride(by: 3), [0, 3, 6, 9]),
        SliceCase(".stride(by: -1)", NDSlice.stride(by: -1), Array((0..<10).reversed())),
        SliceCase(".stride(by: -3)", NDSlice.stride(by: -3), [9, 6, 3, 0]),
        SliceCase("NDSlice(1..<7, step: 3)", NDSlice(1..<7, step: 3), [1, 4]),
        SliceCase("NDSlice(lowerBound: -4)", NDSlice(lowerBound: -4), [6, 7, 8, 9]),
        SliceCase("NDSlice(upperBound: -5, step: 2)", NDSlice(upperBound: -5, step: 2), [0, 2, 4]),
        SliceCase("NDSlice(2..<8, step: -2)", NDSlice(2..<8, step: -2), [7, 5, 3]),
        SliceCase(".stride(from: 1, to: 7, by: 3)", NDSlice.stride(from: 1, to: 7, by: 3), [1, 4]),
        SliceCase(".stride(from: 8, to: 2, by: -2)", NDSlice.stride(from: 8, to: 2, by: -2), [8, 6, 4]),
        SliceCase(".stride(from: -1, to: -5, by: -1)", NDSlice.stride(from: -1, to: -5, by: -1), [9, 8, 7, 6]),
        SliceCase(".stride(from: 0, to: 100, by: 4)", NDSlice.stride(from: 0, to: 100, by: 4), [0, 4, 8]),
        SliceCase(".stride(from: 7, to: 1, by: -3)", NDSlice.stride(from: 7, to: 1, by: -3), [7, 4]),
        SliceCase(".stride(from: 5, to: 2, by: 1)", NDSlice.stride(from: 5, to: 2, by: 1), []),
    ]

    /// Cases where the last position plus the step crosses zero.
    static let strideToCrossingZero: [SliceCase] = [
        // NumPy a[9:0:-4] == [9, 5, 1].
        SliceCase(".stride(from: 9, to: 0, by: -4)", NDSlice.stride(from: 9, to: 0, by: -4), [9, 5, 1]),
        // NumPy a[-6:-1:4] == [4, 8].
        SliceCase(".stride(from: -6, to: -1, by: 4)", NDSlice.stride(from: -6, to: -1, by: 4), [4, 8]),
    ]
}

@Suite("NDArray subscripts, views and assignment")
struct NDArrayIndexingTests {
    /// The 10 x 10 values `10 * i + j`.
    static let square = grid(10, 10) { i, j in 10 * i + j }

    // MARK: Integer indices

    @Test func integerIndicesIncludingNegative() {
        let v = NDArray<Int>.arange(10)
        for i in -10..<10 {
            let element = v[i]
            #expect(element.shape == [])
            #expect(element.item() == (i + 10) % 10)
            let read: Int = v[i]
            #expect(read == (i + 10) % 10)
        }
        let a = NDArray(flat(grid(3, 4) { i, j in Double(4 * i + j) }), shape: [3, 4])
        #expect(a[1].shape == [4])
        #expect(a[1].elements == [4, 5, 6, 7])
        #expect(a[-1].elements == [8, 9, 10, 11])
        #expect(a[-3].elements == [0, 1, 2, 3])
        #expect(a[1, 2].shape == [])
        #expect(a[1, 2].item() == 6)
        #expect(a[-1, -1].item() == 11)
        let x: Double = a[2, -2]
        #expect(x == 10)
        let y: Double = a[-2, 0]
        #expect(y == 4)

        let c = NDArray<Int32>((0..<24).map(Int32.init), shape: [2, 3, 4])
        #expect(c[1].shape == [3, 4])
        #expect(c[1].elements == (12..<24).map(Int32.init))
        #expect(c[1, 2].elements == [20, 21, 22, 23])
        #expect(c[-1, -1, -1].item() == 23)
        #expect(c[0, -2, 1].item() == 5)
        let z: Int32 = c[1, 0, 3]
        #expect(z == 15)
    }

    // MARK: Ranges and slices

    @Test("one range on a 1-D array", arguments: SliceCase.all)
    func rangeOn1D(slice: SliceCase) {
        let v = NDArray<Int>.arange(10)
        let view = v[slice.index]
        #expect(view.shape == [slice.positions.count])
        #expect(view.elements == slice.positions)
    }

    @Test(
        ".stride(from:to:by:) when the last position plus the step crosses zero",
        arguments: SliceCase.strideToCrossingZero
    )
    func strideToCrossingZero(slice: SliceCase) {
        let v = NDArray<Int>.arange(10)
        #expect(v[slice.index].elements == slice.positions)
    }

    @Test("ranges on both axes of a 2-D array in every layout", arguments: ViewLayout.general, SliceCase.all)
    func rangesOn2D(layout: ViewLayout, rows: SliceCase) {
        let a = layout.make(Self.square)
        for columns in SliceCase.all {
            let view = a[rows.index, columns.index]
            let expected = rows.positions.flatMap { i in columns.positions.map { j in 10 * i + j } }
            #expect(view.shape == [rows.positions.count, columns.positions.count], "\(columns.name)")
            #expect(view.elements == expected, "\(columns.name)")
        }
        // A range with an integer index drops the integer's axis.
        let row = a[rows.index, -3]
        #expect(row.shape == [rows.positions.count])
        #expect(row.elements == rows.positions.map { 10 * $0 + 7 })
        let column = a[4, rows.index]
        #expect(column.elements == rows.positions.map { 40 + $0 })
        // A view of a view.
        let twice = a[rows.index][.stride(by: -1)]
        #expect(twice.elements == rows.positions.reversed().flatMap { i in (0..<10).map { 10 * i + $0 } })
    }

    @Test func unboundedRangeInEveryPosition() {
        let a = NDArray<Int>.arange(12).reshaped([3, 4])
        #expect(a[...].elements == Array(0..<12))
        #expect(a[...].shape == [3, 4])
        #expect(a[..., 2].shape == [3])
        #expect(a[..., 2].elements == [2, 6, 10])
        #expect(a[..., -1].elements == [3, 7, 11])
        #expect(a[1, ...].elements == [4, 5, 6, 7])
        #expect(a[..., 1..<3].elements == [1, 2, 5, 6, 9, 10])
        #expect(a[..., .stride(by: -2)].elements == [3, 1, 7, 5, 11, 9])
        #expect(a[..., ...].shape == [3, 4])
        #expect(a[.all, 1].elements == [1, 5, 9])

        let c = NDArray<Int>.arange(24).reshaped([2, 3, 4])
        #expect(c[0, 1, ...].elements == [4, 5, 6, 7])
        #expect(c[1, ..., 2].elements == [14, 18, 22])
        #expect(c[..., 1].shape == [2, 4])
        #expect(c[..., 1].elements == [4, 5, 6, 7, 16, 17, 18, 19])
        #expect(c[..., ..., 1].shape == [2, 3])
        #expect(c[..., ..., 1].elements == [1, 5, 9, 13, 17, 21])
        #expect(c[1..., ..., .stride(by: 3)].elements == [12, 15, 16, 19, 20, 23])
        #expect(c[0, .stride(by: 2), ...].elements == [0, 1, 2, 3, 8, 9, 10, 11])
        #expect(c[-1, ...].shape == [3, 4])
        let x: Int = c[..., 2, 3][1].item()
        #expect(x == 23)
    }

    @Test func slicesOf3DArraysMatchNaiveLoops() {
        let values = (0..<4).map { p in grid(5, 6) { i, j in 100 * p + 10 * i + j } }
        let c = NDArray(values)
        let view = c[1..., .stride(by: -2), .stride(from: 1, to: 6, by: 2)]
        var expected: [Int] = []
        for p in 1..<4 {
            for i in [4, 2, 0] {
                for j in [1, 3, 5] { expected.append(values[p][i][j]) }
            }
        }
        #expect(view.shape == [3, 3, 3])
        #expect(view.elements == expected)
        let mixed = c[-2, 1..<4, -1]
        #expect(mixed.elements == [215, 225, 235])
    }

    // MARK: Storage sharing and value semantics

    @Test func viewsShareStorage() {
        let a = NDArray<Double>.arange(12).reshaped([3, 4])
        let base = a.withUnsafeBufferPointer { $0.baseAddress! }
        #expect(a[1].withUnsafeBufferPointer { $0.baseAddress! } == base + 4)
        #expect(a[2, 1...].withUnsafeBufferPointer { $0.baseAddress! } == base + 9)
        #expect(a.reshaped([4, 3]).withUnsafeBufferPointer { $0.baseAddress! } == base)
        #expect(a[1...].flattened().withUnsafeBufferPointer { $0.baseAddress! } == base + 4)
        // A view of a view of a view, contiguous again, still points into the same block.
        #expect(a.transposed.transposed[2].withUnsafeBufferPointer { $0.baseAddress! } == base + 8)
    }

    @Test func writingTheOriginalDoesNotChangeEarlierViews() {
        var a = NDArray<Int>.arange(12).reshaped([3, 4])
        let row = a[1]
        let transposed = a.transposed
        let stepped = a[.stride(by: 2), .stride(by: -1)]
        let broadcast = a[0].broadcast(to: [2, 4])
        a[1, 1] = 100
        a[0] = NDArray([-1, -2, -3, -4])
        a[2, ...] = 9
        #expect(a.elements == [-1, -2, -3, -4, 4, 100, 6, 7, 9, 9, 9, 9])
        #expect(row.elements == [4, 5, 6, 7])
        #expect(transposed.elements == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        #expect(stepped.elements == [3, 2, 1, 0, 11, 10, 9, 8])
        #expect(broadcast.elements == [0, 1, 2, 3, 0, 1, 2, 3])
    }

    @Test func writingAViewDoesNotChangeTheOriginal() {
        let a = NDArray<Int>.arange(12).reshaped([3, 4])
        var row = a[1]
        row[0] = 100
        #expect(row.elements == [100, 5, 6, 7])
        var block = a[1...]
        block[0, 3] = -7
        #expect(block.elements == [4, 5, 6, -7, 8, 9, 10, 11])
        var grown = a[0]
        grown += 10
        #expect(grown.elements == [10, 11, 12, 13])
        var copy = a
        copy[2, 2] = 0
        #expect(copy.elements == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 11])
        #expect(a.elements == Array(0..<12))
    }

    @Test(
        "writing a shared non-contiguous view writes the selected element",
        arguments: [ViewLayout.transposed, .stepped, .reversed, .block, .broadcastRow, .broadcastColumn]
    )
    func writingASharedNonContiguousView(layout: ViewLayout) {
        let values = layout.values(4, 6) { i, j in 10 * i + j }
        let original = layout.make(values)
        var view = original
        view[1, 2] = -1
        view[3, ...] = NDArray([-2, -3, -4, -5, -6, -7])
        var expected = values
        expected[1][2] = -1
        expected[3] = [-2, -3, -4, -5, -6, -7]
        #expect(view.elements == flat(expected))
        #expect(original.elements == flat(values))

        let a = NDArray<Int>.arange(12).reshaped([3, 4])
        var t = a.transposed
        t[0, 1] = -1
        #expect(t.elements == [0, -1, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        var stepped = a[.stride(by: 2)]
        stepped[...] = 0
        #expect(stepped.elements == [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(a.elements == Array(0..<12))

        // NumPy: a[1:, 1:][1, 1] = 5 sets a[2, 2].
        var b = NDArray<Int>.arange(12).reshaped([3, 4])
        b[1..., 1...][1, 1] = 50
        #expect(b.elements == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 50, 11])
    }

    @Test func nestedSubscriptAssignmentWritesTheOriginal() {
        var a = NDArray<Int>.arange(6).reshaped([2, 3])
        a[1][2] = 50
        a[0][...] = 7
        a[1, 0] += 10
        a[0, 1] *= 3
        #expect(a.elements == [7, 21, 7, 13, 4, 50])
    }

    // MARK: Assignment through subscripts

    @Test("assigning arrays, rows and scalars to a range", arguments: ViewLayout.general, SliceCase.all)
    func assignToRange(layout: ViewLayout, rows: SliceCase) {
        let n = rows.positions.count
        // A full block of new values.
        var a = layout.make(Self.square)
        a[rows.index] = NDArray(flat(grid(n, 10) { i, j in -(100 * i + j) - 1 }), shape: [n, 10])
        var expected = Self.square
        for (k, i) in rows.positions.enumerated() {
            for j in 0..<10 { expected[i][j] = -(100 * k + j) - 1 }
        }
        #expect(a.shape == [10, 10])
        #expect(a.elements == flat(expected))

        // One row, broadcast over the selected rows.
        var b = layout.make(Self.square)
        b[rows.index] = NDArray((0..<10).map { -$0 })
        expected = Self.square
        for i in rows.positions {
            for j in 0..<10 { expected[i][j] = -j }
        }
        #expect(b.elements == flat(expected))

        // A column of values [n, 1], broadcast across a range of columns.
        var c = layout.make(Self.square)
        c[rows.index, 2..<5] = NDArray((0..<n).map { 1000 + $0 }, shape: [n, 1])
        expected = Self.square
        for (k, i) in rows.positions.enumerated() {
            for j in 2..<5 { expected[i][j] = 1000 + k }
        }
        #expect(c.elements == flat(expected))

        // A scalar.
        var d = layout.make(Self.square)
        d[..., rows.index] = 5
        expected = Self.square
        for i in 0..<10 {
            for j in rows.positions { expected[i][j] = 5 }
        }
        #expect(d.elements == flat(expected))

        // A non-contiguous value: a transposed block.
        var e = layout.make(Self.square)
        let source = NDArray(flat(grid(10, n) { i, j in 7 * i + j }), shape: [10, n]).transposed
        e[rows.index, ...] = source
        expected = Self.square
        for (k, i) in rows.positions.enumerated() {
            for j in 0..<10 { expected[i][j] = 7 * j + k }
        }
        #expect(e.elements == flat(expected))
    }

    @Test func assigningSingleElements() {
        var a = NDArray<Double>.zeros([2, 3])
        a[0, 1] = 5
        a[-1, -1] = 2.5
        a[1, 0] = a[0, 1] * 2
        let x: Double = a[0, 1]
        #expect(x == 5)
        #expect(a.elements == [0, 5, 0, 10, 0, 2.5])

        var u = NDArray<UInt8>.zeros([4])
        u[2] = 255
        #expect(u.elements == [0, 0, 255, 0])

        var c = NDArray<Int32>.zeros([2, 2, 2])
        c[1, 0, 1] = 9
        c[0] = 3
        c[1, ..., 0] = NDArray<Int32>([7, 8])
        #expect(c.elements == [3, 3, 3, 3, 7, 9, 8, 0])
    }

    @Test func assigningWithBroadcastingFrom0DAndRows() {
        var a = NDArray<Float>.zeros([3, 4])
        a[...] = NDArray<Float>(1.5)
        #expect(a.elements == [Float](repeating: 1.5, count: 12))
        a[1...] = NDArray<Float>([1, 2, 3, 4])
        #expect(a.elements == [1.5, 1.5, 1.5, 1.5, 1, 2, 3, 4, 1, 2, 3, 4])
        a[..., 3] = NDArray<Float>([9, 8, 7])
        #expect(a.elements == [1.5, 1.5, 1.5, 9, 1, 2, 3, 8, 1, 2, 3, 7])
        a[.stride(by: 2), .stride(by: 2)] = NDArray<Float>([[0, -1], [-2, -3]])
        #expect(a.elements == [0, 1.5, -1, 9, 1, 2, 3, 8, -2, 2, -3, 7])
    }

    @Test(
        "assigning a value with leading extent-1 axes"
    )
    func assigningWithLeadingUnitAxes() {
        var a = NDArray<Int>.zeros([2, 3])
        a[0] = NDArray<Int>.ones([1, 3])
        #expect(a.elements == [1, 1, 1, 0, 0, 0])
    }

    // MARK: Overlapping self-assignment (NumPy copies the source first)

    @Test("a[1...] = a[..<(n-1)] shifts right", arguments: [1, 2, 5, 64])
    func overlappingShiftRight(n: Int) {
        var a = NDArray<Int>.arange(n)
        a[1...] = a[..<(n - 1)]
        #expect(a.elements == (n > 0 ? [0] + Array(0..<(n - 1)) : []))
    }

    @Test func overlappingSelfAssignmentVariants() {
        var left = NDArray<Double>.arange(6)
        left[..<5] = left[1...]
        #expect(left.elements == [1, 2, 3, 4, 5, 5])

        var reversed = NDArray<Int>.arange(7)
        reversed[...] = reversed[.stride(by: -1)]
        #expect(reversed.elements == [6, 5, 4, 3, 2, 1, 0])

        var m = NDArray<Int>.arange(9).reshaped([3, 3])
        m[...] = m.transposed
        #expect(m.elements == [0, 3, 6, 1, 4, 7, 2, 5, 8])

        var rows = NDArray<Int32>.arange(12).reshaped([4, 3])
        rows[1...] = rows[..<3]
        #expect(rows.elements == [0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8])

        var columns = NDArray<Float>.arange(12).reshaped([3, 4])
        columns[..., 1...] = columns[..., ..<3]
        #expect(columns.elements == [0, 0, 1, 2, 4, 4, 5, 6, 8, 8, 9, 10])

        var broadcastSelf = NDArray<Int>.arange(8).reshaped([2, 4])
        broadcastSelf[...] = broadcastSelf[1]
        #expect(broadcastSelf.elements == [4, 5, 6, 7, 4, 5, 6, 7])

        var stepped = NDArray<Int>.arange(10)
        stepped[.stride(by: 2)] = stepped[1..<6]
        #expect(stepped.elements == [1, 1, 2, 3, 3, 5, 4, 7, 5, 9])
    }

    @Test func overlappingAssignmentLeavesOtherCopiesAlone() {
        var a = NDArray<Int>.arange(5)
        let before = a
        let view = a[1...]
        a[1...] = a[..<4]
        #expect(a.elements == [0, 0, 1, 2, 3])
        #expect(before.elements == [0, 1, 2, 3, 4])
        #expect(view.elements == [1, 2, 3, 4])
    }
}

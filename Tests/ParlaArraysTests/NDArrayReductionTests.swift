import ParlaArrays
import Testing

@Suite("NDArray reductions")
struct NDArrayReductionTests {
    /// Logical 4 x 6 values with repeated maxima and minima (ties resolve to the first position).
    static func values(_ layout: ViewLayout) -> [[Double]] {
        layout.values(4, 6) { i, j in Double((5 * i + 7 * j + 3) % 13) }
    }

    /// The index of the first largest (`better` = `>`) or smallest (`<`) element.
    static func naiveArg(_ line: [Double], _ better: (Double, Double) -> Bool) -> Int {
        var best = 0
        for k in line.indices where better(line[k], line[best]) { best = k }
        return best
    }

    /// The lines of `values` along `axis` (0: columns, 1: rows).
    static func lines(_ values: [[Double]], axis: Int) -> [[Double]] {
        axis == 0 ? naiveTranspose(values) : values
    }

    // MARK: Whole-array reductions

    @Test("reductions without axis return 0-d arrays", arguments: ElementKind.allCases, ViewLayout.allCases)
    func reduceAll(kind: ElementKind, layout: ViewLayout) {
        func check<E: NDElement>(_: E.Type) {
            let values = Self.values(layout)
            let x = layout.make(values.map { $0.map { fx($0, as: E.self) } })
            let v = flat(values)
            for (name, shape, ndim) in [
                ("sum", x.sum().shape, x.sum().ndim), ("min", x.min().shape, x.min().ndim),
                ("max", x.max().shape, x.max().ndim),
            ] {
                #expect(shape == [], "\(name)")
                #expect(ndim == 0, "\(name)")
            }
            #expect(x.sum().item() == fx(v.reduce(0, +)))
            #expect(x.min().item() == fx(v.min()!))
            #expect(x.max().item() == fx(v.max()!))
            #expect(x.argmax().shape == [])
            #expect(x.argmax().item() == Self.naiveArg(v, >))
            #expect(x.argmin().item() == Self.naiveArg(v, <))
        }
        check(kind.type)
    }

    @Test("sums of UInt8 and Int32 are Ints, as in NumPy: [200, 200] sums to 400, not 144")
    func narrowIntegerSumsWiden() {
        let bytes = NDArray<UInt8>([200, 200])
        let total: NDArray<Int> = bytes.sum()
        #expect(total.item() == 400)
        #expect(NDArray<UInt8>.full([3, 1000], value: 255).sum(axis: 1).elements == [255_000, 255_000, 255_000])
        #expect(NDArray<UInt8>.full([1000, 2], value: 255).transposed.sum(axis: 1).elements == [255_000, 255_000])
        let words = NDArray<Int32>([Int32.max, Int32.max, 2])
        #expect(words.sum().item() == 2 * Int(Int32.max) + 2)
        #expect(NDArray<Int32>([[Int32.min, Int32.min], [1, 2]]).sum(axis: 1).elements == [2 * Int(Int32.min), 3])
        // The mean of small integers does not wrap either.
        #expect(bytes.mean().item() == 200)
        #expect(NDArray<UInt8>.full([4, 3], value: 250).mean(axis: 0).elements == [250, 250, 250])
    }

    @Test("mean", arguments: ViewLayout.allCases)
    func mean(layout: ViewLayout) {
        let values = Self.values(layout)
        let v = flat(values)
        let expected = v.reduce(0, +) / Double(v.count)
        let d = layout.make(values).mean()
        #expect(d.shape == [])
        expectClose([d.item()], [expected], tolerance: 1e-15)
        let f: NDArray<Float> = layout.make(values.map { $0.map(Float.init) }).mean()
        expectClose([Double(f.item())], [expected], tolerance: 1e-6)
        // Integer means are Doubles.
        let i: NDArray<Double> = layout.make(values.map { $0.map(Int.init) }).mean()
        expectClose([i.item()], [expected], tolerance: 1e-15)
        let u: NDArray<Double> = layout.make(values.map { $0.map(UInt8.init) }).mean()
        expectClose([u.item()], [expected], tolerance: 1e-15)
        let i32: NDArray<Double> = layout.make(values.map { $0.map(Int32.init) }).mean(axis: 0)
        expectClose(i32.elements, naiveTranspose(values).map { $0.reduce(0, +) / 4 }, tolerance: 1e-15)
    }

    @Test func meanOfIntegersIsNotTruncated() {
        let m = NDArray<Int>([1, 2, 3, 4]).mean()
        #expect(type(of: m) == NDArray<Double>.self)
        #expect(m.item() == 2.5)
        #expect(NDArray<UInt8>([255, 255, 1]).mean().item() == 511.0 / 3)
        #expect(NDArray<Int32>([[1, 2], [4, 4]]).mean(axis: -1).elements == [1.5, 4])
        #expect(NDArray<Int>([Int.max, Int.max]).mean().item() == Double(Int.max))
    }

    // MARK: Reductions along an axis

    @Test("reductions along an axis of a 2-D array", arguments: ViewLayout.allCases, [0, 1, -1, -2])
    func reduceAxis2D(layout: ViewLayout, axis: Int) {
        let values = Self.values(layout)
        let lines = Self.lines(values, axis: (axis + 2) % 2)
        let x = layout.make(values)
        let outShape = [lines.count]
        for (name, result, expected) in [
            ("sum", x.sum(axis: axis), lines.map { $0.reduce(0, +) }),
            ("min", x.min(axis: axis), lines.map { $0.min()! }),
            ("max", x.max(axis: axis), lines.map { $0.max()! }),
            ("mean", x.mean(axis: axis), lines.map { $0.reduce(0, +) / Double($0.count) }),
        ] {
            #expect(result.shape == outShape, "\(name)")
            expectClose(result.elements, expected, tolerance: 1e-15)
        }
        #expect(x.argmax(axis: axis).shape == outShape)
        #expect(x.argmax(axis: axis).elements == lines.map { Self.naiveArg($0, >) })
        #expect(x.argmin(axis: axis).elements == lines.map { Self.naiveArg($0, <) })

        let xi = layout.make(values.map { $0.map { Int32($0) } })
        #expect(xi.sum(axis: axis).elements == lines.map { Int($0.reduce(0, +)) })
        #expect(xi.max(axis: axis).elements == lines.map { Int32($0.max()!) })
        #expect(xi.min(axis: axis).elements == lines.map { Int32($0.min()!) })
        #expect(xi.argmax(axis: axis).elements == lines.map { Self.naiveArg($0, >) })
        #expect(xi.argmin(axis: axis).elements == lines.map { Self.naiveArg($0, <) })
        let xu = layout.make(values.map { $0.map { UInt8($0) } })
        #expect(xu.sum(axis: axis).elements == lines.map { Int($0.reduce(0, +)) })
        #expect(xu.argmax(axis: axis).elements == lines.map { Self.naiveArg($0, >) })
    }

    @Test("reductions along each axis of a 3-D array", arguments: [0, 1, 2, -1, -2, -3], [false, true])
    func reduceAxis3D(axis: Int, permuted: Bool) {
        let shape = [3, 4, 5]
        func value(_ i: Int, _ j: Int, _ k: Int) -> Int { (7 * i + 11 * j + 13 * k) % 17 - 5 }
        // The same logical array either contiguous or as a transposed, reversed view of other storage.
        let x: NDArray<Int>
        if permuted {
            var storage: [Int] = []
            for k in 0..<5 {
                for i in 0..<3 {
                    for j in 0..<4 { storage.append(value(i, 3 - j, k)) }
                }
            }
            x = NDArray(storage, shape: [5, 3, 4]).transposed([1, 2, 0])[.all, .stride(by: -1)]
        } else {
            var storage: [Int] = []
            for i in 0..<3 {
                for j in 0..<4 {
                    for k in 0..<5 { storage.append(value(i, j, k)) }
                }
            }
            x = NDArray(storage, shape: shape)
        }
        #expect(x.shape == shape)
        let a = (axis + 3) % 3
        var outShape = shape
        outShape.remove(at: a)
        var sums: [Int] = []
        var maxima: [Int] = []
        var argmins: [Int] = []
        for p in 0..<outShape[0] {
            for q in 0..<outShape[1] {
                var line: [Int] = []
                for r in 0..<shape[a] {
                    var index = [p, q]
                    index.insert(r, at: a)
                    line.append(value(index[0], index[1], index[2]))
                }
                sums.append(line.reduce(0, +))
                maxima.append(line.max()!)
                argmins.append(line.firstIndex(of: line.min()!)!)
            }
        }
        #expect(x.sum(axis: axis).shape == outShape)
        #expect(x.sum(axis: axis).elements == sums)
        #expect(x.max(axis: axis).elements == maxima)
        #expect(x.argmin(axis: axis).shape == outShape)
        #expect(x.argmin(axis: axis).elements == argmins)
        expectClose(x.mean(axis: axis).elements, sums.map { Double($0) / Double(shape[a]) }, tolerance: 1e-15)
    }

    @Test func reducingTheOnlyAxisGivesA0DArray() {
        let v = NDArray<Int>([4, 9, 2])
        #expect(v.sum(axis: 0).shape == [])
        #expect(v.sum(axis: 0).item() == 15)
        #expect(v.max(axis: -1).item() == 9)
        #expect(v.min(axis: 0).item() == 2)
        #expect(v.argmax(axis: 0).shape == [])
        #expect(v.argmax(axis: 0).item() == 1)
        #expect(v.argmin(axis: -1).item() == 2)
        #expect(v.mean(axis: 0).item() == 5)
    }

    @Test func argmaxWithoutAxisIsARowMajorPosition() {
        let a = NDArray<Double>([[1, 9, 3], [9, 0, 2]])
        #expect(a.argmax().item() == 1)
        #expect(a.transposed.argmax().item() == 1)
        #expect(a.transposed.argmin().item() == 3)
        #expect(a[.stride(by: -1)].argmax().item() == 0)
        #expect(a[.stride(by: -1)].argmin().item() == 1)
        #expect(NDArray<Int>([3, 7, 7, 1]).argmax().item() == 1)
        #expect(NDArray<Int>([2, 0, 0]).argmin().item() == 1)
        #expect(NDArray(5.0).argmax().item() == 0)
    }

    // MARK: NaN and extreme values

    @Test func nanPropagatesThroughMaxAndMin() {
        let a = NDArray<Double>([1, .nan, 3, -2])
        #expect(a.max().item().isNaN)
        #expect(a.min().item().isNaN)
        #expect(a.sum().item().isNaN)
        #expect(NDArray<Float>([.nan, 1, 2, 3, 4, 5, 6, 7, 8]).max().item().isNaN)
        #expect(NDArray<Float>([1, 2, 3, 4, 5, 6, 7, .nan]).min().item().isNaN)
        let m = NDArray<Double>([[1, .nan, 3], [4, 5, 6]])
        let maxColumns = m.max(axis: 0).elements
        #expect(maxColumns[0] == 4 && maxColumns[1].isNaN && maxColumns[2] == 6)
        let minRows = m.min(axis: 1).elements
        #expect(minRows[0].isNaN && minRows[1] == 4)
        let maxRowsOfTranspose = m.transposed.max(axis: 0).elements
        #expect(maxRowsOfTranspose[0].isNaN && maxRowsOfTranspose[1] == 6)
    }

    @Test func argmaxAndArgminPickTheFirstNaN() {
        let a = NDArray<Double>([1, .nan, 3, .nan])
        #expect(a.argmax().item() == 1)
        #expect(a.argmin().item() == 1)
        #expect(NDArray<Double>([.nan, 5]).argmax().item() == 0)
        #expect(NDArray<Float>([0, 5, .infinity, .nan]).argmax().item() == 3)
        #expect(NDArray<Float>([0, -.infinity, .nan]).argmin().item() == 2)
        let m = NDArray<Double>([[1, .nan, 3], [4, 5, .nan], [9, 8, 7]])
        #expect(m.argmax(axis: 1).elements == [1, 2, 0])
        #expect(m.argmin(axis: 1).elements == [1, 2, 2])
        #expect(m.argmax(axis: 0).elements == [2, 0, 1])
        #expect(m.argmin(axis: -2).elements == [0, 0, 1])
    }

    @Test func extremesAndIdentities() {
        #expect(NDArray<Int>([Int.min]).max().item() == Int.min)
        #expect(NDArray<Int>([Int.max, 0]).min().item() == 0)
        #expect(NDArray<UInt8>([255, 255]).min().item() == 255)
        #expect(NDArray<UInt8>([0, 0]).max().item() == 0)
        #expect(NDArray<Int32>([Int32.min, Int32.min]).max(axis: 0).elements == [Int32.min])
        #expect(NDArray<Double>([-.infinity]).max().item() == -.infinity)
        #expect(NDArray<Float>([.infinity, .infinity]).min().item() == .infinity)
        #expect(NDArray<Double>.zeros([0]).sum().item() == 0)
        #expect(NDArray<Double>.zeros([0, 3]).sum(axis: 0).elements == [0, 0, 0])
        #expect(NDArray<Int>.zeros([0]).sum().item() == 0)
        #expect(NDArray<Double>.zeros([0]).mean().item().isNaN)
    }

    @Test func sumsOfLargeAndBroadcastArrays() {
        #expect(NDArray<Double>.arange(1000).sum().item() == 499_500)
        #expect(NDArray<Int>.arange(100_000).sum().item() == 4_999_950_000)
        #expect(NDArray<Int>.ones([3]).broadcast(to: [4, 3]).sum().item() == 12)
        #expect(NDArray<Int>.ones([3]).broadcast(to: [4, 3]).sum(axis: 0).elements == [4, 4, 4])
        let random = NDArray<Float>.random([300, 200], seed: 17)
        let elements = random.elements
        let reference = elements.reduce(0.0) { $0 + Double($1) }
        expectClose([Double(random.sum().item())], [reference], tolerance: 1e-4)
        let columnSums = (0..<200).map { j in (0..<300).reduce(0.0) { $0 + Double(elements[$1 * 200 + j]) } }
        expectClose(random.sum(axis: 0).elements.map(Double.init), columnSums, tolerance: 1e-4)
    }

    @Test func reductionsDoNotChangeTheSource() {
        let a = NDArray<Int>([[3, 1], [2, 4]])
        _ = a.sum(axis: 0)
        _ = a.argmax(axis: 1)
        _ = a.transposed.max(axis: 1)
        #expect(a.elements == [3, 1, 2, 4])
    }
}

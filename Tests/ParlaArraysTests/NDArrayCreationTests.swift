import ParlaArrays
import Testing

@Suite("NDArray creation and queries")
struct NDArrayCreationTests {
    // MARK: Nested arrays and flat + shape

    @Test("nested 1-D, 2-D and 3-D arrays", arguments: ElementKind.allCases)
    func nestedArrays(kind: ElementKind) {
        func check<E: NDElement>(_: E.Type) {
            let v: [E] = [1, 2, 3].map { fx($0) }
            let a1 = NDArray(v)
            #expect(a1.shape == [3])
            #expect(a1.ndim == 1)
            #expect(a1.count == 3)
            #expect(a1.strides == [1])
            #expect(a1.elements == v)

            let rows: [[E]] = grid(2, 3) { i, j in fx(Double(10 * i + j)) }
            let a2 = NDArray(rows)
            #expect(a2.shape == [2, 3])
            #expect(a2.ndim == 2)
            #expect(a2.count == 6)
            #expect(a2.strides == [3, 1])
            #expect(a2.elements == flat(rows))

            let planes: [[[E]]] = (0..<2).map { p in grid(3, 4) { i, j in fx(Double(100 * p + 10 * i + j)) } }
            let a3 = NDArray(planes)
            #expect(a3.shape == [2, 3, 4])
            #expect(a3.ndim == 3)
            #expect(a3.count == 24)
            #expect(a3.strides == [12, 4, 1])
            #expect(a3.elements == flat(planes))
            #expect(a3.isContiguous)
        }
        check(kind.type)
    }

    @Test func nestedLiteralsInferElementType() {
        let ints = NDArray([[1, 2], [3, 4]])
        let doubles = NDArray([[1.5, 2], [3, 4]])
        #expect(type(of: ints) == NDArray<Int>.self)
        #expect(type(of: doubles) == NDArray<Double>.self)
        #expect(ints.elements == [1, 2, 3, 4])
        #expect(doubles.elements == [1.5, 2, 3, 4])
        let cube = NDArray([[[1], [2]], [[3], [4]]])
        #expect(cube.shape == [2, 2, 1])
        #expect(cube.elements == [1, 2, 3, 4])
    }

    @Test("flat elements with a shape", arguments: [[6], [2, 3], [3, 2], [1, 2, 3], [3, 1, 2, 1]])
    func flatWithShape(shape: [Int]) {
        let values = (0..<6).map { Double($0) * 1.5 }
        let a = NDArray(values, shape: shape)
        #expect(a.shape == shape)
        #expect(a.ndim == shape.count)
        #expect(a.count == 6)
        #expect(a.elements == values)
        var expectedStrides = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) {
            expectedStrides[axis] = expectedStrides[axis + 1] * shape[axis + 1]
        }
        #expect(a.strides == expectedStrides)
    }

    @Test func flatWithShapeAcceptsAnySequence() {
        let a = NDArray<Int32>((1...6).lazy.map { Int32($0 * $0) }, shape: [2, 3])
        #expect(a.elements == [1, 4, 9, 16, 25, 36])
    }

    @Test func zeroDimensionalArrays() {
        let a = NDArray(2.5)
        #expect(a.shape == [])
        #expect(a.ndim == 0)
        #expect(a.count == 1)
        #expect(a.strides == [])
        #expect(a.item() == 2.5)
        #expect(a.elements == [2.5])

        let b = NDArray<UInt8>([200], shape: [])
        #expect(b.ndim == 0)
        #expect(b.item() == 200)
    }

    @Test func zeroSizeArrays() {
        let a = NDArray<Double>([], shape: [2, 0, 3])
        #expect(a.shape == [2, 0, 3])
        #expect(a.count == 0)
        let empty = NDArray<Int>([Int]())
        #expect(empty.shape == [0])
        #expect(empty.count == 0)
        #expect(empty.elements.isEmpty)
        let noRows = NDArray<Int>([[Int]]())
        #expect(noRows.count == 0)
        #expect(noRows.ndim == 2)
        #expect(NDArray<Int>.zeros([0, 4]).elements.isEmpty)
    }

    @Test(
        "zero-size arrays with an empty inner axis are contiguous and have no elements"
    )
    func zeroSizeArraysWithEmptyInnerAxis() {
        for shape in [[2, 0], [2, 0, 3], [0, 0]] {
            let a = NDArray<Double>([], shape: shape)
            #expect(a.isContiguous)
            #expect(a.elements.isEmpty)
            #expect(a.contiguous().isContiguous)
        }
    }

    // MARK: zeros, ones, full

    @Test("zeros, ones and full", arguments: ElementKind.allCases, [[], [0], [5], [2, 3], [2, 3, 4]])
    func constantArrays(kind: ElementKind, shape: [Int]) {
        func check<E: NDElement>(_: E.Type) {
            let count = shape.reduce(1, *)
            let zeros = NDArray<E>.zeros(shape)
            let ones = NDArray<E>.ones(shape)
            let sevens = NDArray<E>.full(shape, value: fx(7))
            for a in [zeros, ones, sevens] {
                #expect(a.shape == shape)
                #expect(a.count == count)
                #expect(a.isContiguous)
            }
            #expect(zeros.elements == [E](repeating: fx(0), count: count))
            #expect(ones.elements == [E](repeating: fx(1), count: count))
            #expect(sevens.elements == [E](repeating: fx(7), count: count))
        }
        check(kind.type)
    }

    @Test func fullWithSpecialValues() {
        #expect(NDArray<Double>.full([2], value: -.infinity).elements == [-.infinity, -.infinity])
        #expect(NDArray<Float>.full([3], value: .nan).elements.allSatisfy { $0.isNaN })
        #expect(NDArray<Int>.full([2, 2], value: .min).elements == [.min, .min, .min, .min])
        #expect(NDArray<UInt8>.full([1], value: 255).elements == [255])
    }

    // MARK: arange

    @Test("arange(n)", arguments: ElementKind.allCases, [0, 1, 7, 200])
    func arangeCount(kind: ElementKind, n: Int) {
        func check<E: NDElement>(_: E.Type) {
            let a = NDArray<E>.arange(n)
            #expect(a.shape == [n])
            #expect(a.elements == (0..<n).map { fx(Double($0)) })
        }
        check(kind.type)
    }

    @Test func arangeWithStartEndAndStep() {
        #expect(NDArray<Int>.arange(2, 11, step: 3).elements == [2, 5, 8])
        #expect(NDArray<Int>.arange(2, 12, step: 3).elements == [2, 5, 8, 11])
        #expect(NDArray<Int>.arange(10, 0, step: -3).elements == [10, 7, 4, 1])
        #expect(NDArray<Int>.arange(-2, 3).elements == [-2, -1, 0, 1, 2])
        #expect(NDArray<Int>.arange(5, 5).elements == [])
        #expect(NDArray<Int>.arange(5, 1).shape == [0])
        #expect(NDArray<Int32>.arange(3, -3, step: -2).elements == [3, 1, -1])
        #expect(NDArray<UInt8>.arange(250, 255, step: 2).elements == [250, 252, 254])
        #expect(NDArray<Double>.arange(3, 6).elements == [3, 4, 5])
        #expect(NDArray<Double>.arange(0, 1, step: 0.25).elements == [0, 0.25, 0.5, 0.75])
        #expect(NDArray<Double>.arange(0, 1.05, step: 0.5).elements == [0, 0.5, 1.0])
        #expect(NDArray<Double>.arange(1, 0, step: -0.25).elements == [1, 0.75, 0.5, 0.25])
        #expect(NDArray<Float>.arange(1, 2, step: 0.5).elements == [1, 1.5])
        // NumPy: len(np.arange(0, 1, 0.1)) == 10, each element start + i * step.
        let tenths = NDArray<Double>.arange(0, 1, step: 0.1)
        #expect(tenths.shape == [10])
        expectClose(tenths.elements, (0..<10).map { Double($0) * 0.1 }, tolerance: 1e-15)
    }

    // MARK: random

    @Test func randomIsReproducibleForASeed() {
        let a = NDArray<Double>.random([50, 40], seed: 42)
        let b = NDArray<Double>.random([50, 40], seed: 42)
        let c = NDArray<Double>.random([50, 40], seed: 43)
        #expect(a.shape == [50, 40])
        #expect(a.elements == b.elements)
        #expect(a.elements != c.elements)
        #expect(Set(a.elements).count > 1900)

        let f = NDArray<Float>.random([1000], seed: 7)
        #expect(f.elements == NDArray<Float>.random([1000], seed: 7).elements)
        #expect(f.elements != NDArray<Float>.random([1000], seed: 8).elements)

        let n1 = NDArray<Double>.randomNormal([3, 5], seed: 11)
        let n2 = NDArray<Double>.randomNormal([3, 5], seed: 11)
        #expect(n1.shape == [3, 5])
        #expect(n1.elements == n2.elements)
        #expect(n1.elements != NDArray<Double>.randomNormal([3, 5], seed: 12).elements)
        #expect(
            NDArray<Float>.randomNormal([9], seed: 3).elements == NDArray<Float>.randomNormal([9], seed: 3).elements
        )
    }

    @Test func unseededRandomDrawsDiffer() {
        let a = NDArray<Double>.random([64])
        let b = NDArray<Double>.random([64])
        #expect(a.elements != b.elements)
        #expect(NDArray<Double>.randomNormal([64]).elements != NDArray<Double>.randomNormal([64]).elements)
    }

    @Test func randomIsUniformInTheUnitInterval() {
        let n = 100_000
        let d = NDArray<Double>.random([n], seed: 2024).elements
        let f = NDArray<Float>.random([n], seed: 2024).elements
        #expect(d.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(f.allSatisfy { $0 >= 0 && $0 < 1 })
        for values in [d, f.map(Double.init)] {
            let mean = values.reduce(0, +) / Double(n)
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
            #expect(Swift.abs(mean - 0.5) < 0.01)
            #expect(Swift.abs(variance - 1.0 / 12.0) < 0.005)
            // Each tenth of the interval gets about a tenth of the values.
            var buckets = [Int](repeating: 0, count: 10)
            for x in values { buckets[Swift.min(Int(x * 10), 9)] += 1 }
            #expect(buckets.allSatisfy { Swift.abs($0 - n / 10) < n / 100 })
        }
    }

    @Test func randomNormalHasMeanZeroAndStandardDeviationOne() {
        let n = 100_000
        for values in [
            NDArray<Double>.randomNormal([n], seed: 99).elements,
            NDArray<Float>.randomNormal([100, 1000], seed: 5).elements.map(Double.init),
        ] {
            #expect(values.count == n)
            #expect(values.allSatisfy { $0.isFinite })
            let mean = values.reduce(0, +) / Double(n)
            let std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)).squareRoot()
            #expect(Swift.abs(mean) < 0.02)
            #expect(Swift.abs(std - 1) < 0.02)
            let withinOneSigma = Double(values.filter { Swift.abs($0) < 1 }.count) / Double(n)
            #expect(Swift.abs(withinOneSigma - 0.6827) < 0.01)
            #expect(values.contains { $0 > 3 } && values.contains { $0 < -3 })
        }
    }

    @Test func randomNormalOddCounts() {
        for shape in [[1], [7], [3, 3]] {
            let a = NDArray<Double>.randomNormal(shape, seed: 1)
            #expect(a.shape == shape)
            #expect(a.elements.count == shape.reduce(1, *))
        }
        // A seed gives one stream: a shorter draw is a prefix of a longer one.
        #expect(
            NDArray<Double>.randomNormal([5], seed: 1).elements
                == Array(NDArray<Double>.randomNormal([8], seed: 1).elements.prefix(5))
        )
    }

    // MARK: Queries

    @Test func itemOfSizeOneArrays() {
        #expect(NDArray([[7]]).item() == 7)
        #expect(NDArray<Float>([3.5], shape: [1, 1, 1]).item() == 3.5)
        let a = NDArray((0..<12).map(Double.init), shape: [3, 4])
        #expect(a[1, 2].item() == 6)
        #expect(a[2, 1...1].item() == 9)
        #expect(a.transposed[3, 2].item() == 11)
        #expect(a.sum().item() == 66)
    }

    @Test func stridesOfViews() {
        let a = NDArray<Int>.zeros([2, 3, 4])
        #expect(a.strides == [12, 4, 1])
        #expect(a.transposed.strides == [1, 4, 12])
        #expect(a.transposed([1, 0, 2]).strides == [4, 12, 1])
        #expect(a[1].strides == [4, 1])
        #expect(a[..., 1].strides == [12, 1])
        #expect(a[.all, .stride(by: 2), .stride(by: 3)].strides == [12, 8, 3])
        #expect(a[.stride(by: -1)].strides == [-12, 4, 1])
        #expect(NDArray<Int>.zeros([3]).broadcast(to: [2, 4, 3]).strides == [0, 0, 1])
        #expect(NDArray<Int>.zeros([2, 1]).broadcast(to: [2, 5]).strides == [1, 0])
        #expect(!a.transposed.isContiguous)
        #expect(!a[.all, .stride(by: 2)].isContiguous)
        #expect(a[1].isContiguous)
    }

    @Test func copiesAreIndependentValues() {
        let a = NDArray([1, 2, 3])
        var b = a
        b[0] = 10
        #expect(a.elements == [1, 2, 3])
        #expect(b.elements == [10, 2, 3])
        var c = a
        c += 1
        #expect(a.elements == [1, 2, 3])
        #expect(c.elements == [2, 3, 4])
    }
}

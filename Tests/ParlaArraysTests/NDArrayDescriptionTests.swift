import ParlaArrays
import Testing

@Suite("NDArray description")
struct NDArrayDescriptionTests {
    /// NumPy's one-line `str` with commas, written independently: every axis longer than 6 of an array
    /// of more than 1000 elements shows its first and last 3 entries around `...`.
    static func numpyStyle<E>(_ elements: [E], shape: [Int], summarize: Bool? = nil) -> String {
        let summarize = summarize ?? (elements.count > 1000)
        func render(_ offset: Int, _ axis: Int) -> String {
            if axis == shape.count { return "\(elements[offset])" }
            let block = shape[(axis + 1)...].reduce(1, *)
            let extent = shape[axis]
            var parts: [String]
            if summarize && extent > 6 {
                parts = (0..<3).map { render(offset + $0 * block, axis + 1) }
                parts.append("...")
                parts += ((extent - 3)..<extent).map { render(offset + $0 * block, axis + 1) }
            } else {
                parts = (0..<extent).map { render(offset + $0 * block, axis + 1) }
            }
            return "[" + parts.joined(separator: ", ") + "]"
        }
        return render(0, 0)
    }

    @Test func integerAndFloatingPointLayouts() {
        #expect(NDArray([[1, 2], [3, 4]]).description == "[[1, 2], [3, 4]]")
        #expect(NDArray([[1.0, 2.0], [3.0, 4.0]]).description == "[[1.0, 2.0], [3.0, 4.0]]")
        #expect(NDArray<Float>([[1, 2], [3, 4]]).description == "[[1.0, 2.0], [3.0, 4.0]]")
        #expect(NDArray<Int32>([-1, 0, 7]).description == "[-1, 0, 7]")
        #expect(NDArray<UInt8>([0, 128, 255]).description == "[0, 128, 255]")
        #expect(NDArray<Double>([0.5, -2.25, 1e-3]).description == "[0.5, -2.25, 0.001]")
        #expect(NDArray<Float>([0.1]).description == "[0.1]")
        #expect(NDArray<Double>([.nan, .infinity, -.infinity]).description == "[nan, inf, -inf]")
        #expect(
            NDArray([[[0, 1], [2, 3]], [[4, 5], [6, 7]]]).description == "[[[0, 1], [2, 3]], [[4, 5], [6, 7]]]"
        )
        #expect(NDArray([[1, 2, 3]]).description == "[[1, 2, 3]]")
        #expect(NDArray<Int>([5], shape: [1, 1, 1]).description == "[[[5]]]")
        #expect("\(NDArray([[1, 2], [3, 4]]))" == "[[1, 2], [3, 4]]")
    }

    @Test func zeroDimensionalArraysPrintTheElement() {
        #expect(NDArray(5).description == "5")
        #expect(NDArray(2.5).description == "2.5")
        #expect(NDArray<UInt8>(200).description == "200")
        #expect(NDArray([[1, 2], [3, 4]])[1, 0].description == "3")
        #expect(NDArray<Double>([1, 2, 3]).sum().description == "6.0")
    }

    @Test func emptyArrays() {
        #expect(NDArray<Int>.zeros([0]).description == "[]")
        #expect(NDArray<Int>.zeros([2, 0]).description == "[[], []]")
        #expect(NDArray<Int>.zeros([1, 0]).description == "[[]]")
        #expect(NDArray<Double>.zeros([0, 3]).description == "[]")
    }

    @Test("views print their logical values", arguments: ViewLayout.allCases)
    func viewsPrintLogicalValues(layout: ViewLayout) {
        let values = layout.values(3, 4) { i, j in 10 * i + j }
        let a = layout.make(values)
        let expected =
            "[" + values.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" }.joined(separator: ", ") + "]"
        #expect(a.description == expected)
        #expect(a.description == Self.numpyStyle(flat(values), shape: [3, 4]))
        #expect(NDArray([[1, 2], [3, 4]]).transposed.description == "[[1, 3], [2, 4]]")
    }

    @Test func debugDescriptionNamesTypeAndDevice() {
        let a = NDArray([[1.0, 2.0]])
        #expect(a.debugDescription == "NDArray<Double>([[1.0, 2.0]], device: \(a.device))")
        #expect(a.device == .cpu)
        #expect(NDArray<UInt8>([1]).debugDescription.hasPrefix("NDArray<UInt8>([1], device: "))
    }

    // MARK: Elision

    @Test func elisionOf1DArrays() {
        // NumPy summarizes arrays of more than 1000 elements (threshold 1000, edgeitems 3).
        let thousand = NDArray<Int>.arange(1000).description
        #expect(!thousand.contains("..."))
        #expect(thousand == "[" + (0..<1000).map(String.init).joined(separator: ", ") + "]")
        #expect(NDArray<Int>.arange(1001).description == "[0, 1, 2, ..., 998, 999, 1000]")
        #expect(NDArray<Int>.arange(2002)[1000...].description == "[1000, 1001, 1002, ..., 1999, 2000, 2001]")
        #expect(!NDArray<Int>.arange(2000)[1000...].description.contains("..."))
        // The count that decides is the view's, not the storage's.
        #expect(NDArray<Int>.arange(2004)[.stride(by: 2)].description == "[0, 2, 4, ..., 1998, 2000, 2002]")
        #expect(!NDArray<Int>.arange(3000)[.stride(by: 3)].description.contains("..."))
        #expect(NDArray<Double>.arange(1, 2001).description == "[1.0, 2.0, 3.0, ..., 1998.0, 1999.0, 2000.0]")
        #expect(NDArray<Int>.arange(1001)[.stride(by: -1)].description == "[1000, 999, 998, ..., 2, 1, 0]")
    }

    @Test func exampleElisionString() {
        // `[0, 1, 2, ..., 997, 998, 999]`: more than 1000 elements whose first and last three are these.
        let a = NDArray<Int>((0..<1000).map { $0 } + [0], shape: [1001])[..<1000]
        #expect(a.count == 1000)
        #expect(!a.description.contains("..."))
        let b = NDArray<Int>.arange(1000).broadcast(to: [2, 1000])
        #expect(b.description == "[[0, 1, 2, ..., 997, 998, 999], [0, 1, 2, ..., 997, 998, 999]]")
    }

    @Test func elisionOf2DArrays() {
        let a = NDArray<Int>.arange(1400).reshaped([7, 200])
        #expect(
            a.description
                == "[[0, 1, 2, ..., 197, 198, 199], [200, 201, 202, ..., 397, 398, 399], "
                + "[400, 401, 402, ..., 597, 598, 599], ..., [800, 801, 802, ..., 997, 998, 999], "
                + "[1000, 1001, 1002, ..., 1197, 1198, 1199], [1200, 1201, 1202, ..., 1397, 1398, 1399]]"
        )
        // Only long axes are elided.
        #expect(
            NDArray<Int>.arange(1200).reshaped([2, 600]).description
                == "[[0, 1, 2, ..., 597, 598, 599], [600, 601, 602, ..., 1197, 1198, 1199]]"
        )
        #expect(
            NDArray<Int>.arange(1200).reshaped([600, 2]).description
                == "[[0, 1], [2, 3], [4, 5], ..., [1194, 1195], [1196, 1197], [1198, 1199]]"
        )
        let square = NDArray<Int>.arange(10_000).reshaped([100, 100])
        #expect(square.description == Self.numpyStyle(Array(0..<10_000), shape: [100, 100]))
        #expect(square.description.hasPrefix("[[0, 1, 2, ..., 97, 98, 99], [100, 101, 102, ..., 197, 198, 199], "))
        #expect(
            square.description.hasSuffix(
                ", ..., [9700, 9701, 9702, ..., 9797, 9798, 9799], "
                    + "[9800, 9801, 9802, ..., 9897, 9898, 9899], [9900, 9901, 9902, ..., 9997, 9998, 9999]]"
            )
        )
        #expect(
            square.transposed.description
                == Self.numpyStyle(flat(naiveTranspose(grid(100, 100) { i, j in 100 * i + j })), shape: [100, 100])
        )
    }

    @Test func elisionOf3DAndFloatArrays() {
        let shape = [10, 10, 11]
        let c = NDArray<Int>.arange(1100).reshaped(shape)
        #expect(c.description == Self.numpyStyle(Array(0..<1100), shape: shape))
        #expect(c.description.hasPrefix("[[[0, 1, 2, ..., 8, 9, 10], [11, 12, 13, ..., 19, 20, 21], "))
        let d = NDArray<Double>.arange(0, 1500).reshaped([3, 500]) / 2
        #expect(d.description == Self.numpyStyle((0..<1500).map { Double($0) / 2 }, shape: [3, 500]))
        #expect(d.description.hasPrefix("[[0.0, 0.5, 1.0, ..., 248.5, 249.0, 249.5], "))
    }
}

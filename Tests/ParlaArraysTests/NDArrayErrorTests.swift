// Exit tests for bad input: each case runs in a child process that must stop with a failure, and the
// message it prints on standard error must name what went wrong.
//
// CI also runs this suite in a release build (`swift test -c release --filter ...`): Swift's own
// `precondition` prints no message in `-O`, so these tests fail there unless every check goes through
// the package's `parlaPrecondition`.

import ParlaArrays
import ParlaDevices
import Testing

/// Checks that an exit test's captured standard error contains every one of `messages`.
private func expectStandardError(
    _ result: ExitTest.Result?,
    contains messages: String...,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let result else {
        Issue.record("the exit test did not run or did not fail", sourceLocation: sourceLocation)
        return
    }
    let text = String(decoding: result.standardErrorContent, as: UTF8.self)
    for message in messages {
        #expect(
            text.contains(message),
            "standard error does not contain \"\(message)\":\n\(text.prefix(2000))",
            sourceLocation: sourceLocation
        )
    }
}

@Suite struct NDArrayErrorTests {
    @Test func aFailingPreconditionIsObservedByAnExitTest() async {
        // The machinery itself: a failing check is seen, with its message, in debug and release builds
        // (Swift's `precondition` would lose the message in release).
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            parlaPrecondition(Int("1")! == 2, "exit tests work on this toolchain")
        }
        expectStandardError(result, contains: "exit tests work on this toolchain")
    }

    @Test func indexOutOfRangeOfAVector() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x: Double = NDArray<Double>.zeros([3])[5]
            _ = x
        }
        expectStandardError(result, contains: "index 5 is out of range for axis 0 with extent 3")
    }

    @Test func tooManyIndicesForAVector() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x: Double = NDArray<Double>([1, 2, 3])[0, 99]
            _ = x
        }
        expectStandardError(result, contains: "too many indices: 2 given for an array of 1 dimension (shape [3])")
    }

    @Test func shapeWhoseElementsOverflowInt() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([Int.max / 2, 4])
        }
        expectStandardError(
            result,
            contains:
                "shape [4611686018427387903, 4] is too large: its extents multiply to more than Int.max (9223372036854775807) elements"
        )
    }

    @Test func shapeWhoseBytesOverflowInt() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.ones([1 << 30, 1 << 30])
        }
        expectStandardError(
            result,
            contains:
                "shape [1073741824, 1073741824] is too large: 1152921504606846976 elements of Double (8 bytes each) take more than Int.max (9223372036854775807) bytes"
        )
    }

    @Test func broadcastToANegativeExtent() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([1]).broadcast(to: [2, -3])
        }
        expectStandardError(result, contains: "shape [2, -3] has a negative extent -3 on axis 1")
    }

    @Test func arangeWithNaNBounds() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.arange(.nan, 10)
        }
        expectStandardError(
            result,
            contains: "arange(nan, 10.0, step: 1.0) needs a finite start, end and step (not NaN or infinite)"
        )
    }

    @Test func arangeWithANaNStep() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Float>.arange(0, 10, step: .nan)
        }
        expectStandardError(
            result,
            contains: "arange(0.0, 10.0, step: nan) needs a finite start, end and step (not NaN or infinite)"
        )
    }

    @Test func arangeWithMoreElementsThanAnIntCounts() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.arange(0, 1e300)
        }
        expectStandardError(
            result,
            contains:
                "arange(0.0, 1e+300, step: 1.0) would have 1e+300 elements, more than Int.max (9223372036854775807)"
        )
    }

    @Test func arangeWithMoreBytesThanAnIntCounts() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Int>.arange(Int.min, Int.max, step: 4)
        }
        expectStandardError(
            result,
            contains:
                "shape [4611686018427387904] is too large: 4611686018427387904 elements of Int (8 bytes each) take more than Int.max (9223372036854775807) bytes"
        )
    }

    @Test func broadcastingMismatchNamesBothShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([2, 3]) + NDArray<Double>.zeros([4])
        }
        expectStandardError(result, contains: "operands could not be broadcast together with shapes [2, 3] and [4]")
    }

    @Test func broadcastingMismatchInMaximumNamesBothShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Int>.zeros([3, 1, 5]).maximum(NDArray<Int>.zeros([2, 4]))
        }
        expectStandardError(
            result,
            contains: "operands could not be broadcast together with shapes [3, 1, 5] and [2, 4]"
        )
    }

    @Test func broadcastToAnIncompatibleShapeNamesBothShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([3]).broadcast(to: [2, 4])
        }
        expectStandardError(result, contains: "an array of shape [3] cannot be broadcast to shape [2, 4]")
    }

    @Test func indexOutOfRangeNamesAxisIndexAndExtent() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let a = NDArray<Double>.zeros([2, 3])
            _ = a[0, 5] as NDArray<Double>
        }
        expectStandardError(result, contains: "index 5 is out of range for axis 1 with extent 3")
    }

    @Test func negativeIndexOutOfRangeNamesAxisIndexAndExtent() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let a = NDArray<Double>.zeros([2, 3])
            let x: Double = a[-3, 0]
            _ = x
        }
        expectStandardError(result, contains: "index -3 is out of range for axis 0 with extent 2")
    }

    @Test func tooManyIndices() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let a = NDArray<Double>.zeros([2, 3])
            _ = a[0, 1, 0] as NDArray<Double>
        }
        expectStandardError(result, contains: "too many indices: 3 given for an array of 2 dimensions (shape [2, 3])")
    }

    @Test func reshapeToAnotherElementCountNamesBothCounts() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([2, 3]).reshaped([4])
        }
        expectStandardError(
            result,
            contains: "cannot reshape an array of 6 elements (shape [2, 3]) into shape [4] of 4 elements"
        )
    }

    @Test func reshapeWithAnInferredExtentThatDoesNotDivide() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([2, 3]).reshaped([4, -1])
        }
        expectStandardError(result, contains: "cannot reshape an array of 6 elements (shape [2, 3]) into shape [4, -1]")
    }

    @Test func reshapeWithTwoInferredExtents() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([2, 3]).reshaped([-1, -1])
        }
        expectStandardError(result, contains: "can only infer one extent in reshape to [-1, -1]")
    }

    @Test func itemOfAMultiElementArray() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([2, 3]).item()
        }
        expectStandardError(
            result,
            contains: "item() needs an array of exactly one element, but this array has shape [2, 3] (6 elements)"
        )
    }

    @Test func readingOneElementWithAnIncompleteIndex() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let a = NDArray<Double>.zeros([2, 3])
            let x: Double = a[0]
            _ = x
        }
        expectStandardError(
            result,
            contains: "reading one element needs an index for every axis",
            "selects shape [3] of an array of shape [2, 3]"
        )
    }

    @Test func raggedRows() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>([[1, 2], [3]])
        }
        expectStandardError(result, contains: "ragged nested array: row 1 has 1 elements but row 0 has 2")
    }

    @Test func raggedPlanes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Int>([[[1], [2]], [[3]]])
        }
        expectStandardError(
            result,
            contains: "ragged nested array: element 1 has shape [1, 1] but element 0 has shape [2, 1]"
        )
    }

    @Test func flatValuesTooFewForTheShape() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>([1, 2, 3], shape: [2, 2])
        }
        expectStandardError(result, contains: "cannot make an array of shape [2, 2] (4 elements) from 3 elements")
    }

    @Test func flatValuesTooManyForTheShape() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>([1, 2, 3, 4, 5], shape: [2, 2])
        }
        expectStandardError(
            result,
            contains: "cannot make an array of shape [2, 2] (4 elements) from more than 4 elements"
        )
    }

    @Test func negativeExtent() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([2, -1])
        }
        expectStandardError(result, contains: "shape [2, -1] has a negative extent -1 on axis 1")
    }

    @Test func matmulInnerDimensionMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([2, 3]).matmul(NDArray<Double>.zeros([4, 5]))
        }
        expectStandardError(
            result,
            contains: "matmul: shapes [2, 3] and [4, 5] are not aligned: the contracted extents differ (3 and 4)"
        )
    }

    @Test func matmulOfVectorsOfDifferentLengths() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = matmul(NDArray<Double>([1, 2, 3]), NDArray<Double>([1, 2]))
        }
        expectStandardError(
            result,
            contains: "matmul: shapes [3] and [2] are not aligned: the contracted extents differ (3 and 2)"
        )
    }

    @Test func matmulOfAZeroDimensionalArray() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>(2).matmul(NDArray<Double>([1, 2]))
        }
        expectStandardError(result, contains: "matmul needs operands of at least 1 dimension, got shapes [] and [2]")
    }

    @Test func maxOfAnEmptyArray() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([0]).max()
        }
        expectStandardError(
            result,
            contains: "max of an empty array (shape [0]) has no value: zero-size reduction with no identity"
        )
    }

    @Test func argmaxAlongAnEmptyAxis() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Int>.zeros([2, 0]).argmax(axis: 1)
        }
        expectStandardError(
            result,
            contains: "argmax of an empty array (shape [2, 0]) has no value: zero-size reduction with no identity"
        )
    }

    @Test func minAndArgminOfAnEmptyArray() async {
        let min = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([3, 0]).min()
        }
        expectStandardError(min, contains: "min of an empty array (shape [3, 0]) has no value")
        let argmin = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([0, 4]).argmin(axis: -2)
        }
        expectStandardError(argmin, contains: "argmin of an empty array (shape [0, 4]) has no value")
    }

    @Test func axisTooLarge() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([2, 3]).sum(axis: 2)
        }
        expectStandardError(result, contains: "axis 2 is out of bounds for an array of 2 dimensions (shape [2, 3])")
    }

    @Test func negativeAxisTooSmall() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([4]).max(axis: -2)
        }
        expectStandardError(result, contains: "axis -2 is out of bounds for an array of 1 dimension (shape [4])")
    }

    @Test func axisOfAZeroDimensionalArray() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>(1).mean(axis: 0)
        }
        expectStandardError(result, contains: "axis 0 is out of bounds for an array of 0 dimensions (shape [])")
    }

    @Test func transposeWithAxesThatAreNotAPermutation() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDArray<Double>.zeros([2, 3]).transposed([0, 0])
        }
        expectStandardError(
            result,
            contains: "axes [0, 0] are not a permutation of the 2 axes of an array of shape [2, 3]"
        )
    }

    @Test func assigningAValueOfIncompatibleShapeIntoARegion() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var a = NDArray<Double>.zeros([2, 3])
            a[0] = NDArray<Double>([1, 2])
        }
        expectStandardError(
            result,
            contains: "could not broadcast a value of shape [2] into the region of shape [3]",
            "of an array of shape [2, 3]"
        )
    }

    @Test func assigningAValueWithMoreAxesThanTheRegion() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var a = NDArray<Double>.zeros([2, 3])
            // Leading axes of extent 1 are dropped as in NumPy; an extra axis of extent 2 cannot be.
            a[1..<2, 0] = NDArray<Double>.zeros([2, 1])
        }
        expectStandardError(
            result,
            contains: "could not broadcast a value of shape [2, 1] into the region of shape [1]",
            "of an array of shape [2, 3]"
        )
    }

    @Test func inPlaceOperatorCannotGrowItsLeftOperand() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var a = NDArray<Double>.zeros([3])
            a += NDArray<Double>.zeros([2, 3])
        }
        expectStandardError(
            result,
            contains: "an in-place operation cannot change the shape [3] of its left operand to [2, 3]"
        )
    }

    @Test func sliceStepOfZero() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = NDSlice(lowerBound: 0, upperBound: 2, step: Int("0")!)
        }
        expectStandardError(result, contains: "a slice step cannot be zero")
    }

    @Test func validInputDoesNotStop() async {
        // The counterpart of the cases above: the same operations on good input exit normally.
        await #expect(processExitsWith: .success) {
            let a = NDArray<Double>.zeros([2, 3])
            _ = a + NDArray<Double>.zeros([3])
            _ = a[1, -1] as Double
            _ = a.reshaped([3, -1])
            _ = a.matmul(NDArray<Double>.zeros([3, 4]))
            _ = a.max(axis: -1)
            _ = NDArray<Int>.zeros([3, 0]).max(axis: 0)
        }
    }
}

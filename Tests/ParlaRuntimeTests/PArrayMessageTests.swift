// Exit tests for PArray misuse: each case runs in a child process that must stop with a failure, and
// the message it prints on standard error must name the array and what went wrong. CI also runs this
// suite in a release build, where only the package's `parlaPrecondition` keeps its message.

import Parla
import Testing

/// The standard error an exit test captured, as text.
private func standardError(_ result: ExitTest.Result?) -> String {
    String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
}

@Suite("PArray misuse stops with a message")
struct PArrayMessageTests {
    @Test("more indices than a 1-D PArray has axes is not A[0]: it stops, naming the array and the shape")
    func tooManyIndices() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let A = PArray([1.0, 2.0, 3.0])
            _ = A[0, 99]
        }
        let text = standardError(result)
        #expect(
            text.contains("too many indices for PArray #")
                && text.contains("<Double>: 2 given ([0, 99]) for an array of 1 dimension (shape [3])"),
            "\(text.prefix(800))"
        )
    }

    @Test("a region of several elements read as one (as `A[0..<2] += 1` does) stops, saying how to update it")
    func regionReadAsOneElement() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let A = PArray([1.0, 2.0, 3.0])
            A[0..<2] += 1
        }
        let text = standardError(result)
        #expect(
            text.contains("<Double>[0..<2] is read as one element, but the region has shape [2]")
                && text.contains("name it as a PArray: let region: PArray = A[...]; region += 1"),
            "\(text.prefix(800))"
        )
    }

    @Test("a PArray of more than 8 axes stops, naming the shape")
    func tooManyAxes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = PArray(NDArray<UInt8>.zeros([1, 1, 1, 1, 1, 1, 1, 1, 2]))
        }
        let text = standardError(result)
        #expect(
            text.contains(
                "PArrays have at most 8 axes of at most 2^32 - 1 positions each, not shape [1, 1, 1, 1, 1, 1, 1, 1, 2] (reshape the array)"
            ),
            "\(text.prefix(800))"
        )
    }

    @Test("a stepped region is not a box: it stops, naming the step, the axis and the array")
    func steppedRegion() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let A = PArray(NDArray<Double>.zeros([8, 4]))
            _ = A[0..<8, .stride(by: 2)]
        }
        let text = standardError(result)
        #expect(
            text.contains("PArray regions are boxes: a step of 2 on axis 1 is not supported (PArray #")
                && text.contains("<Double>)"),
            "\(text.prefix(800))"
        )
    }

    @Test("a stepped region of a region stops the same way, naming the region")
    func steppedRegionOfARegion() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let A = PArray(NDArray<Double>.zeros([8, 4]))
            _ = A[2..<6][.stride(by: 3)]
        }
        let text = standardError(result)
        #expect(
            text.contains("PArray regions are boxes: a step of 3 on axis 0 of region [2..<6, 0..<4] is not supported"),
            "\(text.prefix(800))"
        )
    }

    @Test("more indices than a region keeps axes stops, naming the region and its shape")
    func tooManyIndicesForARegion() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let A = PArray(NDArray<Double>.zeros([8, 4]))
            _ = A[2][1, 0]
        }
        let text = standardError(result)
        #expect(
            text.contains("too many indices for a region [2..<3, 0..<4] of PArray #")
                && text.contains("2 given ([1, 0]) for a region of 1 dimension (shape [4])"),
            "\(text.prefix(800))"
        )
    }

    @Test("too many indices in a task's declared region stop before the task is spawned")
    func tooManyIndicesInADeclaration() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            try? await Parla.run(devices: .virtual(gpus: 1)) {
                let A = PArray(NDArray<Int>.zeros([2, 3]))
                spawn(placement: gpu(0), inOut: [A[1, 2, 0..<1]]) {}
            }
        }
        let text = standardError(result)
        #expect(
            text.contains("too many indices for PArray #")
                && text.contains("<Int>: 3 given ([1, 2, 0..<1]) for an array of 2 dimensions (shape [2, 3])"),
            "\(text.prefix(800))"
        )
    }

    @Test("update inside a task that declared the array only as input stops, naming the task and the array")
    func updateOfAnInput() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let A = PArray(NDArray<Double>.zeros([2]))
            A.update(NDArray<Double>.ones([2]))  // outside tasks, update is allowed
            try? await Parla.run(devices: .virtual(gpus: 1)) {
                spawn(TaskSpace("U")[0], placement: gpu(0), input: [A]) { A.update(NDArray<Double>.ones([5])) }
            }
        }
        let text = standardError(result)
        #expect(
            text.contains("task U_0 replaces (update) PArray #")
                && text.contains("<Double> region [0..<2], which it declared only as input"),
            "\(text.prefix(800))"
        )
    }

    @Test("update inside a task that did not declare the whole array stops, naming the task and the array")
    func updateOfAnUndeclaredArray() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            try? await Parla.run(devices: .virtual(gpus: 1)) {
                let A = PArray(NDArray<Double>.zeros([2, 2]))
                let B = PArray(NDArray<Double>.zeros([2]))
                // A row of A is not the whole of A.
                spawn(TaskSpace("U")[1], placement: gpu(0), output: [B, A[0]]) { A.update(NDArray<Double>.ones([3])) }
            }
        }
        let text = standardError(result)
        #expect(
            text.contains("task U_1 replaces (update) PArray #")
                && text.contains(
                    "<Double> region [0..<2, 0..<2], which it did not declare in input, output or inOut"
                ),
            "\(text.prefix(800))"
        )
    }
}

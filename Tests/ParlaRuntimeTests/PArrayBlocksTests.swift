import Synchronization
import Testing

@testable import Parla

/// Making many PArrays at once: a batch from a list, a grid of blocks from a matrix (copies), and the
/// grid of regions of one PArray.
@Suite("PArray batches and blocks")
struct PArrayBlocksTests {
    static let matrix = NDArray<Double>.arange(35).reshaped([5, 7])

    @Test("blocks(of:blockShape:) copies each block into a PArray of its own; edge blocks are smaller")
    func blocksOfMatrix() async throws {
        let blocks = PArray.blocks(of: Self.matrix, blockShape: [2, 3])
        #expect(blocks.count == 3 && blocks.allSatisfy { $0.count == 3 })
        #expect(
            blocks.map { $0.map(\.shape) } == [
                [[2, 3], [2, 3], [2, 1]],
                [[2, 3], [2, 3], [2, 1]],
                [[1, 3], [1, 3], [1, 1]],
            ]
        )
        #expect(blocks[1][2].array.elements == [20, 27])
        #expect(blocks[2][1].array.elements == [31, 32, 33])
        // Copies: a task writing a block leaves the matrix and the other blocks as they were.
        try await Parla.run(devices: .virtual(gpus: 1)) {
            spawn(placement: gpu(0), inOut: [blocks[0][0]]) { blocks[0][0] *= -1 }
        }
        #expect(blocks[0][0].array.elements == [0, -1, -2, -7, -8, -9])
        #expect(Self.matrix[0, 1] as Double == 1)
        let vector = PArray.blocks(of: NDArray<Double>.arange(5), blockShape: [2])
        #expect(vector.count == 1 && vector[0].map(\.shape) == [[2], [2], [1]])
    }

    @Test("blocks(_:) are regions of the one array: tasks on them move and write only their block")
    func regionBlocks() async throws {
        let A = PArray(Self.matrix.copy())
        let blocks = A.blocks([2, 3])
        #expect(blocks.map { $0.map(\.shape) }[2] == [[1, 3], [1, 3], [1, 1]])
        let seen = Mutex<[Double]>([])
        try await Parla.run(devices: .virtual(gpus: 2)) {
            spawn(placement: gpu(1), inOut: [blocks[1][2]]) { blocks[1][2] += 1000 }
            spawn(placement: cpu, input: [A]) { seen.withLock { $0 = A.array.elements } }
        }
        var expected = Self.matrix.elements
        expected[2 * 7 + 6] += 1000
        expected[3 * 7 + 6] += 1000
        #expect(seen.withLock { $0 } == expected)
    }

    @Test("batch wraps each array of a list")
    func batch() {
        let arrays = PArray.batch([NDArray<Int>([1, 2]), NDArray<Int>([3]), NDArray<Int>([4, 5, 6])])
        #expect(arrays.map { $0.array.elements } == [[1, 2], [3], [4, 5, 6]])
    }

    @Test("blocks of an array of rank 3, or of a block extent of 0, stop with a message")
    func badShapes() async {
        let rank3 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = PArray.blocks(of: NDArray<Double>.zeros([2, 2, 2]), blockShape: [1, 1, 1])
        }
        let rank3Text = String(decoding: rank3?.standardErrorContent ?? [], as: UTF8.self)
        #expect(rank3Text.contains("blocks of an NDArray need a vector or a matrix, not an array of shape [2, 2, 2]"))
        let empty = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = PArray(NDArray<Double>.zeros([4, 4])).blocks([0, 2])
        }
        let emptyText = String(decoding: empty?.standardErrorContent ?? [], as: UTF8.self)
        #expect(emptyText.contains("<Double> (shape [4, 4]) needs 2 positive extents"))
    }
}

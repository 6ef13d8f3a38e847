import Foundation
import Synchronization
import Testing

@testable import Parla

/// Fine-grained regions at scale: the bookkeeping per access grows with the logarithm of the number
/// of regions (counted, not timed), its memory with the pieces alive, and regions of regions select
/// what NDArray views would.
@Suite("regions at scale")
struct RegionScaleTests {
    /// The index entries looked at by a program on `n` rows of one array on 2 virtual GPUs (written,
    /// updated and read on alternating GPUs, as `parla bench regions` does), per access. Each task is
    /// awaited before the next is spawned, so that the counts do not depend on how the workers
    /// interleave (which accesses have finished when the next one is inferred, in which order the
    /// pieces change).
    static func rowVisits(_ n: Int) async throws -> (visits: Int, accesses: Int) {
        let A = PArray(NDArray<Double>.zeros([n, 4]))
        try await Parla.run(devices: .virtual(gpus: 2)) {
            for i in 0..<n { try await spawn(placement: gpu(i % 2), output: [A[i]]) {}.wait() }
            for i in 0..<n { try await spawn(placement: gpu(i % 2), inOut: [A[i]]) {}.wait() }
            for i in 0..<n { try await spawn(placement: gpu((i + 1) % 2), input: [A[i]]) {}.wait() }
        }
        return (A.storage.bookkeepingVisits, 3 * n)
    }

    /// The same for `t`×`t` tiles factored in Cholesky order (tile (i, j) on gpu((i + j) mod 2)), each
    /// task awaited before the next is spawned.
    static func tileVisits(_ t: Int) async throws -> (visits: Int, accesses: Int) {
        let A = PArray(NDArray<Double>.zeros([2 * t, 2 * t]))
        func tile(_ i: Int, _ j: Int) -> PArray<Double> { A[(2 * i)..<(2 * i + 2), (2 * j)..<(2 * j + 2)] }
        var accesses = 0
        try await Parla.run(devices: .virtual(gpus: 2)) {
            for k in 0..<t {
                try await spawn(placement: gpu(0), inOut: [tile(k, k)]) {}.wait()
                for i in (k + 1)..<t {
                    try await spawn(placement: gpu((i + k) % 2), input: [tile(k, k)], inOut: [tile(i, k)]) {}.wait()
                }
                for i in (k + 1)..<t {
                    for j in (k + 1)...i {
                        try await spawn(
                            placement: gpu((i + j) % 2),
                            input: [tile(i, k), tile(j, k)],
                            inOut: [tile(i, j)]
                        ) {}
                        .wait()
                        accesses += 3
                    }
                    accesses += 2
                }
                accesses += 1
            }
        }
        return (A.storage.bookkeepingVisits, accesses)
    }

    @Test("rows: the entries looked at per access grow no faster than the logarithm of the rows")
    func rowVisitsGrowLogarithmically() async throws {
        let small = try await Self.rowVisits(500)
        let large = try await Self.rowVisits(8_000)
        let perSmall = Double(small.visits) / (Double(small.accesses) * log2(500))
        let perLarge = Double(large.visits) / (Double(large.accesses) * log2(8_000))
        // Visits growing as n log n keep this ratio near 1; a scan of every piece per access (n²)
        // would make it about 16 / 1.4 ≈ 11.
        #expect(perLarge <= 1.5 * perSmall, "\(small) then \(large)")
    }

    @Test("tiles in Cholesky order: the entries looked at per access grow no faster than the logarithm of the tiles")
    func tileVisitsGrowLogarithmically() async throws {
        let small = try await Self.tileVisits(8)
        let large = try await Self.tileVisits(32)
        let perSmall = Double(small.visits) / (Double(small.accesses) * log2(64))
        let perLarge = Double(large.visits) / (Double(large.accesses) * log2(1_024))
        #expect(perLarge <= 1.5 * perSmall, "\(small) then \(large)")
    }

    @Test("the pieces follow the regions written, and rewriting the whole array merges them back to one")
    func wholeRewriteMergesPieces() async throws {
        let n = 2_000
        let A = PArray(NDArray<Double>.zeros([n, 4]))
        try await Parla.run(devices: .virtual(gpus: 2)) {
            for i in 0..<n { spawn(placement: gpu(i % 2), output: [A[i]]) { A[i] = NDArray(Double(i)) } }
        }
        let (pieces, nodes) = A.storage.state.withLock { ($0.coherence.pieceCount, $0.coherence.index.nodeCount) }
        #expect(pieces == n)  // alternating GPUs: no two neighbouring rows merge
        #expect(nodes <= n / 4 + 8, "\(nodes) nodes for \(pieces) pieces")
        #expect(A[1234, 3] == 1234.0)
        try await Parla.run(devices: .virtual(gpus: 2)) {
            spawn(placement: gpu(1), inOut: [A]) { A.update(A.array * 2) }
        }
        let after = A.storage.state.withLock { ($0.coherence.pieceCount, $0.coherence.index.nodeCount) }
        #expect(after.0 == 1 && after.1 == 1, "\(after)")
        #expect(A[1234, 3] == 2468.0)
        // Reading rows back on the other GPU, then the whole array written there: one piece again.
        try await Parla.run(devices: .virtual(gpus: 2)) {
            for i in stride(from: 0, to: n, by: 3) { spawn(placement: gpu(0), input: [A[i]]) {} }
            spawn(placement: gpu(0), output: [A]) { A.update(NDArray<Double>.ones([n, 4])) }
        }
        #expect(A.storage.state.withLock { $0.coherence.pieceCount } == 1)
        #expect(A.storage.history.withLock { $0.count } <= 64)
    }

    @Test("a region of a region selects within it, as an NDArray view does: A[2..<6][1] is row 3")
    func regionsOfRegions() async throws {
        let A = PArray(NDArray<Int>.arange(48).reshaped([8, 6]))
        let middle = A[2..<6]
        #expect(middle[1].box == A[3].box)
        #expect(middle[1].shape == [6])
        #expect(A[2..<6, 4...][1, 0].box == A[3, 4].box)
        #expect(A[2..<6, 4...][-1].box == A[5, 4...].box)
        #expect(A[1][2..<5].box == A[1, 2..<5].box)
        #expect(A[1..<7][1..<5][1..<3].box == A[3..<5].box)
        let x: Int = A[2..<6][1, 2]
        #expect(x == 20)
        // Used in tasks: a write through a region of a region lands in the right row, and orders the
        // readers of that row after it.
        try await Parla.run(devices: .virtual(gpus: 2)) {
            let row = A[2..<6][1]
            spawn(placement: gpu(1), output: [row]) { row.write(NDArray<Int>.full([6], value: -1)) }
            spawn(placement: gpu(0), input: [A[3]]) {
                #expect(A[3].array.elements == Array(repeating: -1, count: 6))
            }
        }
        #expect(A.array[3].elements == Array(repeating: -1, count: 6))
        #expect(A.array[2].elements == Array(12..<18))
        #expect(A.array[4].elements == Array(24..<30))
    }

    @Test("an update that changes the shape: later regions are ordered after it, and views follow the new shape")
    func updateChangingTheShape() async throws {
        let A = PArray(NDArray<Double>.zeros([4, 4]))
        let last = A[-1]
        #expect(last.box == Box(lower: [3, 0], upper: [4, 4]))
        try await Parla.run(devices: .virtual(gpus: 2)) {
            spawn(placement: gpu(0), output: [A[1]]) { A[1] = NDArray<Double>.ones([4]).to(Device.current) }
            spawn(placement: gpu(1), inOut: [A]) {
                A.update(NDArray<Double>.full([6, 2], value: 7).to(Device.current))
            }
        }
        // (Regions are resolved when they are made: A[5] exists once the update has run.)
        try await Parla.run(devices: .virtual(gpus: 2)) {
            spawn(placement: gpu(0), inOut: [A[5]]) { A[5] = NDArray<Double>.full([2], value: 9).to(Device.current) }
        }
        #expect(last.box == Box(lower: [5, 0], upper: [6, 2]))
        #expect(A.shape == [6, 2])
        #expect(A.array.elements == Array(repeating: 7.0, count: 10) + [9, 9])
        // A new rank: the recorded accesses of the old one order the next access too.
        try await Parla.run(devices: .virtual(gpus: 2)) {
            spawn(placement: gpu(1), inOut: [A]) { A.update(NDArray<Double>.arange(3).to(Device.current)) }
            spawn(placement: gpu(0), inOut: [A[2]]) { A[2] = NDArray<Double>(5.0).to(Device.current) }
        }
        #expect(A.array.elements == [0, 1, 5])
    }

    @Test("the Regions article's example: 1,024 rows written on alternating GPUs, summed on the CPU")
    func regionsArticleExample() async throws {
        let A = PArray(NDArray<Double>.zeros([1024, 8]))
        let total = Mutex(0.0)
        try await Parla.run(devices: .virtual(gpus: 2)) {
            for i in 0..<1024 {
                spawn(placement: gpu(i % 2), output: [A[i]]) {
                    A[i] = NDArray<Double>.full([8], value: Double(i)).to(Device.current)
                }
            }
            spawn(placement: cpu, input: [A]) { total.withLock { $0 = A.sum().item() } }
        }
        #expect(total.withLock { $0 } == 4_190_208.0)
    }
}

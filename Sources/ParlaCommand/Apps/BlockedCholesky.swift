import Dispatch
import Parla
import Synchronization

/// Parla's blocked Cholesky (its paper's main example, `examples/cholesky/blocked_cholesky_automatic.py`)
/// as a Parla program: the lower triangle of an N×N matrix in B×B blocks, each block a PArray, factorized
/// in place by tasks that call cuBLAS and cuSOLVER (or the host's BLAS) on the blocks of their device.
///
/// The tasks, for each block column `j` (left-looking, as Parla's example):
/// - `SYRK(j, k)`, `k < j`: `A[j][j] −= A[j][k] · A[j][k]ᵀ` (inOut `A[j][j]`, input `A[j][k]`);
/// - `POTRF(j)`: `A[j][j] = L[j][j]`, its Cholesky factor (inOut);
/// - `GEMM(i, j, k)`, `i > j`, `k < j`: `A[i][j] −= A[i][k] · A[j][k]ᵀ` (inOut `A[i][j]`, input both);
/// - `TRSM(i, j)`: `A[i][j] = A[i][j] · L[j][j]⁻ᵀ` (inOut `A[i][j]`, input `A[j][j]`).
///
/// Dependencies come from the accesses (the run infers them). Tasks go to any GPU (the runtime
/// chooses) or, in the static cyclic mapping, to the GPU of the block row they write.
struct BlockedCholesky: Sendable {
    /// How tasks are placed.
    enum Mapping: String, Sendable, CaseIterable {
        /// On any GPU: the runtime chooses.
        case auto
        /// Block row `i` on GPU `i mod g` (Parla's user placement).
        case cyclic
    }

    /// The order of the matrix.
    let n: Int
    /// The order of a block.
    let block: Int
    /// The GPUs used.
    let gpus: [Device]
    let mapping: Mapping

    /// The number of block rows (and columns).
    var blockCount: Int { self.n / self.block }

    /// The floating-point operations of a Cholesky factorization of order `n`: n³/3.
    static func flops(_ n: Int) -> Double { Double(n) * Double(n) * Double(n) / 3 }

    /// The GPU that owns block row `row` (where its data starts, and where the cyclic mapping runs the
    /// tasks that write it).
    func owner(ofRow row: Int) -> Device { self.gpus[row % self.gpus.count] }

    /// Where a task writing block row `row` runs.
    func placement(forRow row: Int) -> any Placement {
        self.mapping == .cyclic ? self.owner(ofRow: row) : gpu
    }

    /// Element `(row, column)` of the test matrix: symmetric, uniform in [0, 1) off the diagonal, and
    /// `n` more on it, so diagonally dominant and positive definite.
    static func element(_ row: Int, _ column: Int, order n: Int) -> Double {
        let (high, low) = row >= column ? (row, column) : (column, row)
        var z = UInt64(high) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(low) &* 0xBF58_476D_1CE4_E5B9 &+ 0x94D0_49BB_1331_11EB
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let uniform = Double(z >> 11) * 0x1.0p-53
        return row == column ? uniform + Double(n) : uniform
    }

    /// The lower blocks of the test matrix in host memory, `blocks[i][j]` for `j ≤ i`, made in parallel.
    func hostBlocks() -> [[NDArray<Double>]] {
        let count = self.blockCount
        let b = self.block
        let n = self.n
        let pairs = (0..<count).flatMap { i in (0...i).map { j in (i, j) } }
        let made = Mutex<[Int: NDArray<Double>]>([:])
        DispatchQueue.concurrentPerform(iterations: pairs.count) { index in
            let (i, j) = pairs[index]
            var values = [Double](repeating: 0, count: b * b)
            for r in 0..<b {
                for c in 0..<b { values[r * b + c] = Self.element(i * b + r, j * b + c, order: n) }
            }
            let array = NDArray(values, shape: [b, b])
            made.withLock { $0[index] = array }
        }
        let arrays = made.withLock { $0 }
        var blocks: [[NDArray<Double>]] = []
        var index = 0
        for i in 0..<count {
            var row: [NDArray<Double>] = []
            for _ in 0...i {
                row.append(arrays[index]!)
                index += 1
            }
            blocks.append(row)
        }
        return blocks
    }

    /// PArrays of the lower blocks, each holding a copy of its host block of its own (so that bringing
    /// the factor back writes into it directly; a PArray wrapping a host array the program still holds
    /// would first copy it, the program's array being left as it was).
    static func parrays(_ host: [[NDArray<Double>]]) -> [[PArray<Double>]] {
        let rows = Mutex<[Int: [PArray<Double>]]>([:])
        DispatchQueue.concurrentPerform(iterations: host.count) { i in
            let row = host[i].map { PArray($0.copy()) }
            rows.withLock { $0[i] = row }
        }
        return rows.withLock { rows in host.indices.map { rows[$0]! } }
    }

    /// Moves each block to the GPU of its row and waits (Parla's starting point: the data on the GPUs).
    func distribute(_ a: [[PArray<Double>]]) async throws {
        let space = TaskSpace("distribute")
        for i in a.indices {
            for j in a[i].indices { spawn(space[i, j], placement: self.owner(ofRow: i), input: [a[i][j]]) {} }
        }
        try await space.wait()
    }

    /// Spawns the factorization of `a` in place, its tasks in `space`.
    func spawnFactorization(_ a: [[PArray<Double>]], in space: TaskSpace) {
        let count = self.blockCount
        var id = 0
        func next() -> TaskID {
            defer { id += 1 }
            return space[id]
        }
        for j in 0..<count {
            for k in 0..<j {
                spawn(next(), placement: self.placement(forRow: j), input: [a[j][k]], inOut: [a[j][j]]) {
                    a[j][j].rankKUpdate(a[j][k].array, alpha: -1, beta: 1)
                }
            }
            spawn(next(), placement: self.placement(forRow: j), inOut: [a[j][j]]) {
                try a[j][j].choleskyFactorize()
            }
            for i in (j + 1)..<count {
                for k in 0..<j {
                    spawn(next(), placement: self.placement(forRow: i), input: [a[i][k], a[j][k]], inOut: [a[i][j]]) {
                        a[i][j].multiplyAdd(a[i][k].array, a[j][k].array, alpha: -1, beta: 1, transposeB: true)
                    }
                }
                spawn(next(), placement: self.placement(forRow: i), input: [a[j][j]], inOut: [a[i][j]]) {
                    a[i][j].solveTriangular(a[j][j].array, side: .right, triangle: .lower, transposeA: true)
                }
            }
        }
    }

    /// Brings every block of `a` to the host and waits (the end-to-end run's last step).
    func gatherOnHost(_ a: [[PArray<Double>]]) async throws {
        let space = TaskSpace("gather")
        for i in a.indices {
            for j in a[i].indices { spawn(space[i, j], placement: cpu, input: [a[i][j]]) {} }
        }
        try await space.wait()
    }

    /// ‖A − L·Lᵀ‖_F / ‖A‖_F, computed by tasks on the GPUs: each lower block of `A` less the products of
    /// the factor's blocks that make it (the factor's diagonal blocks without what lies above their
    /// diagonal, which the factorization leaves as it was).
    func relativeResidual(of factor: [[PArray<Double>]], original host: [[NDArray<Double>]]) async throws -> Double {
        let count = self.blockCount
        let b = self.block
        let lowerOnes = PArray(NDArray<Double>((0..<b).map { r in (0..<b).map { c in c <= r ? 1 : 0 } }))
        let masked = (0..<count).map { _ in PArray(NDArray<Double>.zeros([b, b])) }
        let maskSpace = TaskSpace("mask")
        for j in 0..<count {
            spawn(maskSpace[j], placement: self.owner(ofRow: j), input: [factor[j][j], lowerOnes], output: [masked[j]])
            {
                masked[j].update(factor[j][j].array * lowerOnes.array)
            }
        }
        try await maskSpace.wait()
        var parts: [ParlaTask<(Double, Double)>] = []
        for i in 0..<count {
            for j in 0...i {
                let remainder = PArray(host[i][j])
                let inputs: [PArray<Double>] = (0...j).flatMap { k in
                    [k == j ? masked[j] : factor[j][k], k == i ? masked[i] : factor[i][k]]
                }
                parts.append(
                    spawn(placement: self.owner(ofRow: i), input: inputs, inOut: [remainder]) {
                        () -> (Double, Double) in
                        let original: Double = (remainder.array * remainder.array).sum().item()
                        for k in 0...j {
                            let left = k == i ? masked[i] : factor[i][k]
                            let right = k == j ? masked[j] : factor[j][k]
                            remainder.multiplyAdd(left.array, right.array, alpha: -1, beta: 1, transposeB: true)
                        }
                        let left: Double = (remainder.array * remainder.array).sum().item()
                        let weight = i == j ? 1.0 : 2.0  // the upper block mirrors the lower one
                        return (weight * original, weight * left)
                    }
                )
            }
        }
        var (norm, residual) = (0.0, 0.0)
        for part in parts {
            let (original, left) = try await part.value
            norm += original
            residual += left
        }
        return (residual / norm).squareRoot()
    }
}

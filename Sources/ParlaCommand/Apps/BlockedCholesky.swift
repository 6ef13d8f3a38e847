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
    /// The rows of a diagonal factor block that the residual check masks at once (at most a quarter of
    /// the block; its temporaries are squares of this order).
    var maskStrip = 256

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
    ///
    /// Every task declares at most three blocks and allocates at most one block-sized temporary, so that
    /// the check runs on GPUs that hold only a few blocks. Per lower block `(i, j)`, one chain of tasks on
    /// one GPU, ordered by their accesses to the block's remainder `R` (the program's host block, wrapped):
    /// - `‖A[i][j]‖²`: reads `R` (still `A[i][j]`);
    /// - for each `k < j`, `R −= L[i][k] · L[j][k]ᵀ`: reads both, writes `R`;
    /// - `R −= L[i][j] · tril(L[j][j])ᵀ`: reads both, writes `R` (see ``subtractMaskedProduct(from:_:_:strip:)``);
    /// - `‖R‖²`: reads `R`.
    ///
    /// The chains run one per GPU at a time (the next is spawned when the one before it on that GPU has
    /// finished), so that a GPU holds one remainder, which never has to be written back to the host to
    /// make room (that would first copy the program's host block), and each remainder (with its GPU
    /// copy) is released as its chain ends.
    func relativeResidual(of factor: [[PArray<Double>]], original host: [[NDArray<Double>]]) async throws -> Double {
        let count = self.blockCount
        let pairs = (0..<count).flatMap { i in (0...i).map { j in (i, j) } }
        var inFlight: [ResidualChain] = []
        var (norm, residual) = (0.0, 0.0)
        for (chain, (i, j)) in pairs.enumerated() {
            if inFlight.count == self.gpus.count {
                // The chain on this chain's GPU `gpus.count` chains ago.
                let (original, left) = try await inFlight.removeFirst().value
                norm += original
                residual += left
            }
            inFlight.append(
                self.spawnResidualChain(i, j, of: factor, original: host[i][j], on: self.gpus[chain % self.gpus.count])
            )
        }
        for part in inFlight {
            let (original, left) = try await part.value
            norm += original
            residual += left
        }
        return (residual / norm).squareRoot()
    }

    /// Spawns the tasks that compute `‖A[i][j]‖²` and `‖(A − L·Lᵀ)[i][j]‖²` on `device` (see
    /// ``relativeResidual(of:original:)``).
    func spawnResidualChain(
        _ i: Int,
        _ j: Int,
        of factor: [[PArray<Double>]],
        original: NDArray<Double>,
        on device: Device
    ) -> ResidualChain {
        // Wraps the program's host block, which stays as it was: the tasks write only the GPU's copy.
        let remainder = PArray(original)
        let originalNorm = spawn(placement: device, input: [remainder]) { () -> Double in
            (remainder.array * remainder.array).sum().item()
        }
        for k in 0..<j {
            let (left, right) = (factor[i][k], factor[j][k])
            spawn(placement: device, input: i == j ? [left] : [left, right], inOut: [remainder]) {
                remainder.multiplyAdd(left.array, right.array, alpha: -1, beta: 1, transposeB: true)
            }
        }
        let (left, diagonal) = (factor[i][j], factor[j][j])
        let strip = self.maskStrip
        spawn(placement: device, input: i == j ? [diagonal] : [left, diagonal], inOut: [remainder]) {
            if i == j {
                let masked = Self.lowerTriangle(of: diagonal.array, strip: strip)
                remainder.multiplyAdd(masked, masked, alpha: -1, beta: 1, transposeB: true)
            } else {
                Self.subtractMaskedProduct(from: remainder, left.array, diagonal.array, strip: strip)
            }
        }
        let leftNorm = spawn(placement: device, input: [remainder]) { () -> Double in
            (remainder.array * remainder.array).sum().item()
        }
        return ResidualChain(original: originalNorm, left: leftNorm, weight: i == j ? 1 : 2)
    }

    /// The tasks of one block's part of the residual (see ``spawnResidualChain(_:_:of:original:on:)``).
    struct ResidualChain {
        /// `‖A[i][j]‖²`.
        let original: ParlaTask<Double>
        /// `‖(A − L·Lᵀ)[i][j]‖²`, the chain's last task.
        let left: ParlaTask<Double>
        /// 2 off the diagonal (the upper block mirrors the lower one), else 1.
        let weight: Double

        /// The weighted squares, once the chain has finished.
        var value: (original: Double, left: Double) {
            get async throws {
                (self.weight * (try await self.original.value), self.weight * (try await self.left.value))
            }
        }
    }

    /// The rows of a strip of a diagonal block of order `order` masked at once: `rows`, but at most a
    /// quarter of the block (the masking's temporaries, two squares of this order, stay within an eighth
    /// of a block).
    static func stripRows(_ order: Int, at rows: Int) -> Int { Swift.max(1, Swift.min(rows, order / 4)) }

    /// Lower-triangular ones of order `order`, on `device`.
    static func lowerOnes(_ order: Int, on device: Device) -> NDArray<Double> {
        NDArray((0..<(order * order)).map { $0 % order <= $0 / order ? 1.0 : 0.0 }, shape: [order, order]).to(device)
    }

    /// `square` without what lies above its diagonal, a copy on its device (the only block-sized
    /// temporary: the masking goes strip by strip).
    static func lowerTriangle(of square: NDArray<Double>, strip: Int) -> NDArray<Double> {
        let order = square.shape[0]
        let strip = Self.stripRows(order, at: strip)
        let ones = Self.lowerOnes(strip, on: square.device)
        var masked = square.copy()
        for start in stride(from: 0, to: order, by: strip) {
            let end = Swift.min(start + strip, order)
            if end < order { masked[start..<end, end...] = 0.0 }
            let corner = square[start..<end, start..<end] * ones[0..<(end - start), 0..<(end - start)]
            masked[start..<end, start..<end] = corner
        }
        return masked
    }

    /// `remainder −= left · tril(diagonal)ᵀ`, where `tril` drops what lies above the diagonal, with no
    /// block-sized temporary: for each strip of the diagonal block's rows, the columns of `remainder`
    /// it makes take the product with the strip's part left of the diagonal, then with its masked
    /// corner (a small square).
    static func subtractMaskedProduct(
        from remainder: PArray<Double>,
        _ left: NDArray<Double>,
        _ diagonal: NDArray<Double>,
        strip: Int
    ) {
        let order = diagonal.shape[0]
        let strip = Self.stripRows(order, at: strip)
        let ones = Self.lowerOnes(strip, on: diagonal.device)
        for start in stride(from: 0, to: order, by: strip) {
            let end = Swift.min(start + strip, order)
            let columns = remainder[0..., start..<end]
            if start > 0 {
                columns.multiplyAdd(
                    left[0..., 0..<start],
                    diagonal[start..<end, 0..<start],
                    alpha: -1,
                    beta: 1,
                    transposeB: true
                )
            }
            let corner = diagonal[start..<end, start..<end] * ones[0..<(end - start), 0..<(end - start)]
            columns.multiplyAdd(left[0..., start..<end], corner, alpha: -1, beta: 1, transposeB: true)
        }
    }
}

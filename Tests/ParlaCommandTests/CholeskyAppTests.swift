import Testing

@testable import Parla
@testable import ParlaCommand

/// `parla app cholesky`'s program: Parla's blocked Cholesky factorizes the test matrix exactly enough
/// on virtual and simulated CUDA GPUs, with either placement, from either starting point.
@Suite("the blocked Cholesky app")
struct CholeskyAppTests {
    @Test(
        "the factor's residual is at rounding level",
        arguments: [DeviceSelection.virtual(gpus: 2), .cudaSimulated(gpus: 3)],
        BlockedCholesky.Mapping.allCases
    )
    func factorizes(devices: DeviceSelection, mapping: BlockedCholesky.Mapping) async throws {
        let registry = try DeviceRegistry.make(devices)
        let gpus = registry.devices.filter { $0.kind == .gpu }
        var program = BlockedCholesky(n: 96, block: 24, gpus: gpus, mapping: mapping)
        let host = DeviceRegistry.withCurrent(registry) { program.hostBlocks() }
        // The residual check masks the diagonal blocks in strips: 6 rows (four strips), then 5 (five,
        // the last one shorter).
        for (startOnGPUs, strip) in [(true, 6), (false, 5)] {
            program.maskStrip = strip
            let blocks = DeviceRegistry.withCurrent(registry) { BlockedCholesky.parrays(host) }
            var residual = Double.infinity
            try await Parla.run(devices: devices) {
                if startOnGPUs { try await program.distribute(blocks) }
                let space = TaskSpace("cholesky")
                program.spawnFactorization(blocks, in: space)
                try await space.wait()
                if !startOnGPUs { try await program.gatherOnHost(blocks) }
                residual = try await program.relativeResidual(of: blocks, original: host)
            }
            #expect(
                residual < 1e-14,
                "starting on the \(startOnGPUs ? "GPUs" : "host"), strips of \(strip): \(residual)"
            )
            // The host blocks the program holds are left as they were.
            #expect(host[1][0].elements == DeviceRegistry.withCurrent(registry) { program.hostBlocks()[1][0].elements })
        }
    }

    @Test("the residual check's masked products match the product with the lower triangle", arguments: [1, 3, 4, 5])
    func maskedProducts(strip: Int) {
        let order = 20  // strips of at most 5 rows
        let lowerOnes = NDArray<Double>(
            (0..<(order * order)).map { $0 % order <= $0 / order ? 1 : 0 },
            shape: [order, order]
        )
        let diagonal = NDArray<Double>.random([order, order])
        let left = NDArray<Double>.random([order, order])
        let start = NDArray<Double>.random([order, order])
        let lower = diagonal * lowerOnes

        // `tril` by strips, exactly.
        #expect(BlockedCholesky.lowerTriangle(of: diagonal, strip: strip).elements == lower.elements)

        // `remainder −= left · tril(diagonal)ᵀ` by strips (on the host, outside tasks), to rounding.
        let remainder = PArray(start.copy())
        BlockedCholesky.subtractMaskedProduct(from: remainder, left, diagonal, strip: strip)
        var expected = start.copy()
        expected.multiplyAdd(left, lower, alpha: -1, beta: 1, transposeB: true)
        let difference: Double = (remainder.array - expected).abs().max().item()
        #expect(difference < 1e-12)
    }

    @Test("the test matrix is symmetric and diagonally dominant")
    func testMatrix() {
        let n = 50
        for i in 0..<n {
            var offDiagonal = 0.0
            for j in 0..<n where j != i {
                #expect(BlockedCholesky.element(i, j, order: n) == BlockedCholesky.element(j, i, order: n))
                offDiagonal += Swift.abs(BlockedCholesky.element(i, j, order: n))
            }
            #expect(BlockedCholesky.element(i, i, order: n) > offDiagonal)
        }
    }
}

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
        let program = BlockedCholesky(n: 96, block: 24, gpus: gpus, mapping: mapping)
        let host = DeviceRegistry.withCurrent(registry) { program.hostBlocks() }
        for startOnGPUs in [true, false] {
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
            #expect(residual < 1e-14, "starting on the \(startOnGPUs ? "GPUs" : "host"): \(residual)")
            // The host blocks the program holds are left as they were.
            #expect(host[1][0].elements == DeviceRegistry.withCurrent(registry) { program.hostBlocks()[1][0].elements })
        }
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

import Testing

@testable import ParlaDevices

/// The cuSOLVERMg baseline: what can be checked without a GPU or the library (loading, errors, and the
/// block-cyclic layout the library reads, built on simulated GPUs).
@Suite("the cuSOLVERMg baseline")
struct CUSOLVERMgTests {
    @Test("without libcusolverMg, availability fails naming the library and PARLA_CUSOLVERMG")
    func unavailableWithoutTheLibrary() throws {
        // This test's machines have no CUDA toolkit; where one is installed, there is nothing to check.
        guard case .failure(let error) = CUSOLVERMgBaseline.availability() else { return }
        guard case .cudaUnavailable(let reason) = error else {
            Issue.record("expected .cudaUnavailable, got \(error)")
            return
        }
        #expect(reason.contains("libcusolverMg"))
        #expect(reason.contains("PARLA_CUSOLVERMG"))
        #expect(
            error.description.hasPrefix("no CUDA GPU can be used: cuSOLVERMg (libcusolverMg.so.12) cannot be loaded")
        )
    }

    @Test("potrf on simulated GPUs throws cudaUnavailable instead of calling the library")
    func potrfNeedsTheLibraryAndRealGPUs() throws {
        let machine = try CUDASystem.simulatedMachine(SimulatedCUDA.Configuration(gpus: 2))
        var evaluated = 0
        #expect {
            _ = try CUSOLVERMgBaseline.potrf(n: 8, blockColumns: 2, gpus: machine.gpus, repetitions: 1) { row, column in
                evaluated += 1
                return row == column ? 8 : 1
            }
        } throws: { error in
            guard case .cudaUnavailable = error as? DeviceError else { return false }
            return true
        }
        #expect(evaluated == 0)
    }

    @Test("cuSOLVERMg errors name the call and the library's own code")
    func errorDescriptions() {
        let status = DeviceError.cudaCall(
            device: nil,
            call: "cusolverMgPotrf(n: 8, 2-column blocks, 2 GPUs)",
            code: 3,
            message: CUSOLVERMgLibrary.statusText(3)
        )
        #expect(
            status.description
                == "cusolverMgPotrf(n: 8, 2-column blocks, 2 GPUs) failed: CUSOLVER_STATUS_INVALID_VALUE (3)"
        )
        #expect(CUSOLVERMgLibrary.statusText(42) == "cusolverStatus_t (42)")
        // Driver errors keep their names.
        let driver = DeviceError.cudaCall(device: nil, call: "cuMemAlloc", code: 2, message: "out of memory")
        #expect(driver.description == "cuMemAlloc failed with CUDA_ERROR_OUT_OF_MEMORY (2): out of memory")
    }

    @Test("1-D block-cyclic columns: block j on device j % G, as its local block j / G", arguments: [1, 2, 3, 5])
    func layout(devices: Int) {
        let layout = BlockCyclicColumns(n: 10, blockColumns: 3, devices: devices)
        #expect(layout.blockCount == 4)
        #expect((0..<devices).map { layout.blockCount(onDevice: $0) }.reduce(0, +) == 4)
        #expect(layout.localBlockCapacity == (4 + devices - 1) / devices)
        var seen = Set<[Int]>()
        for column in 0..<10 {
            for row in 0..<10 {
                let (device, offset) = layout.location(row: row, column: column)
                let block = column / 3
                #expect(device == block % devices)
                #expect(offset == ((block / devices) * 3 + column % 3) * 10 + row)
                #expect(offset < layout.localElements)
                seen.insert([device, offset])
            }
        }
        #expect(seen.count == 100)
    }

    @Test("the matrix is filled into each simulated GPU's local columns, zeros past the last column")
    func fillOnSimulatedGPUs() throws {
        let machine = try CUDASystem.simulatedMachine(SimulatedCUDA.Configuration(gpus: 3))
        // 4 blocks of 3 columns (the last holds 1) over 3 GPUs: gpu(0) holds blocks 0 and 3, the others one
        // block and one block of zeros.
        let layout = BlockCyclicColumns(n: 10, blockColumns: 3, devices: 3)
        let matrix = try BlockCyclicMatrix(layout: layout, gpus: machine.gpus)
        for round in 0..<2 {
            try matrix.fill { row, column in Double(1000 * round + 100 * row + column) }
            let locals = try (0..<3).map { try matrix.localMatrix(ofDevice: $0) }
            var expected = (0..<3).map { _ in [Double](repeating: 0, count: layout.localElements) }
            for column in 0..<10 {
                for row in 0..<10 {
                    let (device, offset) = layout.location(row: row, column: column)
                    expected[device][offset] = Double(1000 * round + 100 * row + column)
                }
            }
            #expect(locals == expected)
        }
    }
}

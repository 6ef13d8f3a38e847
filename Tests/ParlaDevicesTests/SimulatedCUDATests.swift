import CCUDADriver
import ParlaArrays
import Testing

@testable import ParlaDevices

/// The simulated CUDA driver keeps the driver's rules, so that the CUDA backend's own code is tested
/// without a GPU; and the backend keeps them.
@Suite("the simulated CUDA driver")
struct SimulatedCUDATests {
    /// A machine of `gpus` simulated GPUs with contexts, streams and peer access set up by the backend.
    func machine(_ gpus: Int = 2, memory: Int? = nil, faults: DeviceFaults? = nil) throws -> CUDAMachine {
        try CUDASystem.simulatedMachine(SimulatedCUDA.Configuration(gpus: gpus, memory: memory, faults: faults))
    }

    @Test(
        "an event made in one GPU's context is not recorded on another GPU's stream: the first multi-GPU run's failure"
    )
    func eventOfAnotherContext() throws {
        let machine = try self.machine()
        let (source, destination) = (machine.gpus[0], machine.gpus[1])
        // What the GPU-to-GPU copy did before: with the destination's context current, it made an event
        // (of that context) and recorded it on the source's compute stream.
        try destination.makeCurrent()
        let event = try CUDAEvent(gpu: destination)
        #expect(
            throws: DeviceError.cudaCall(
                device: gpu(1),
                call: "cuEventRecord",
                code: 400,
                message: "invalid resource handle"
            )
        ) {
            try destination.driver.record(event.handle, on: source.stream(.compute), device: destination.device)
        }
        // The backend now has each GPU record on its own streams, whatever context is current.
        try destination.makeCurrent()
        try source.record(on: .compute).wait()
        #expect(
            DeviceError.cudaCall(device: gpu(1), call: "cuEventRecord", code: 400, message: "invalid resource handle")
                .description
                == "cuEventRecord failed on gpu(1) with CUDA_ERROR_INVALID_HANDLE (400): invalid resource handle"
        )
    }

    @Test("allocations, streams and events need a current context")
    func currentContextRequired() {
        let api = SimulatedCUDA.entryPoints
        _ = api.cuInit(0)
        #expect(api.cuCtxSetCurrent(nil) == CUDAResult.success.rawValue)
        var address: CUdeviceptr = 0
        #expect(api.cuMemAlloc(&address, 1024) == CUDAResult.invalidContext.rawValue)
        var stream: CUstream? = nil
        #expect(api.cuStreamCreate(&stream, 0) == CUDAResult.invalidContext.rawValue)
        var event: CUevent? = nil
        #expect(api.cuEventCreate(&event, 0) == CUDAResult.invalidContext.rawValue)
    }

    @Test("copies go on a stream of the current context, into memory of its device")
    func copiesBelongToTheCurrentContext() throws {
        let machine = try self.machine()
        let (first, second) = (machine.gpus[0], machine.gpus[1])
        try second.makeCurrent()
        let onSecond = try #require(try second.driver.allocate(64, device: second.device))
        try first.makeCurrent()
        let onFirst = try #require(try first.driver.allocate(64, device: first.device))
        defer {
            first.driver.free(onFirst)
            first.driver.free(onSecond)
        }
        var bytes = [UInt8](repeating: 7, count: 64)
        // A stream of another context.
        #expect(throws: DeviceError.self) {
            try first.driver.copyHostToDevice(
                onFirst,
                from: &bytes,
                bytes: 64,
                on: second.stream(.compute),
                device: first.device,
                ""
            )
        }
        // Memory of another device.
        let wrongMemory = first.driver.entryPointsForTesting.cuMemcpyHtoDAsync(
            onSecond,
            &bytes,
            64,
            first.stream(.compute)
        )
        #expect(wrongMemory == CUDAResult.invalidValue.rawValue)
        // Past the end of an allocation.
        let pastEnd = first.driver.entryPointsForTesting.cuMemcpyHtoDAsync(
            onFirst + 32,
            &bytes,
            64,
            first.stream(.compute)
        )
        #expect(pastEnd == CUDAResult.invalidValue.rawValue)
        try first.driver.copyHostToDevice(
            onFirst,
            from: &bytes,
            bytes: 64,
            on: first.stream(.compute),
            device: first.device,
            ""
        )
        try first.driver.synchronizeStream(first.stream(.compute), device: first.device)
    }

    @Test("a peer copy needs peer access enabled from the stream's context")
    func peerCopyNeedsPeerAccess() throws {
        let api = SimulatedCUDA.entryPoints
        _ = api.cuInit(0)
        // A machine whose contexts the backend has not linked.
        let raw = SimulatedCUDA.addMachine(SimulatedCUDA.Configuration(gpus: 2))
        var contexts: [CUcontext?] = [nil, nil]
        var streams: [CUstream?] = [nil, nil]
        var addresses: [CUdeviceptr] = [0, 0]
        for index in 0..<2 {
            #expect(api.cuDevicePrimaryCtxRetain(&contexts[index], Int32(raw.ordinals[index])) == 0)
            #expect(api.cuCtxSetCurrent(contexts[index]) == 0)
            #expect(api.cuStreamCreate(&streams[index], 0) == 0)
            #expect(api.cuMemAlloc(&addresses[index], 256) == 0)
        }
        // Current: the second GPU. A peer copy on its stream from the first GPU's memory.
        let denied = api.cuMemcpyPeerAsync(addresses[1], contexts[1], addresses[0], contexts[0], 256, streams[1])
        #expect(denied == CUDAResult.peerAccessNotEnabled.rawValue)
        #expect(api.cuCtxEnablePeerAccess(contexts[0], 0) == 0)
        #expect(api.cuCtxEnablePeerAccess(contexts[0], 0) == CUDAResult.peerAccessAlreadyEnabled.rawValue)
        let allowed = api.cuMemcpyPeerAsync(addresses[1], contexts[1], addresses[0], contexts[0], 256, streams[1])
        #expect(allowed == 0)
        #expect(api.cuStreamSynchronize(streams[1]) == 0)
        for address in addresses { #expect(api.cuMemFree(address) == 0) }
        #expect(api.cuMemFree(addresses[0]) == CUDAResult.invalidValue.rawValue)  // freed twice
    }

    @Test("arrays travel between simulated GPUs through the backend, over peer links and staged through pinned memory")
    func arraysTravel() throws {
        // A machine of its own: the test turns peer copies off.
        let machine = try self.machine(3, memory: 3 << 30)
        let registry = try DeviceRegistry.make(.cudaSimulated(gpus: 3, memory: 3 << 30))
        let values = NDArray<Double>.arange(3 * 70_000).reshaped([3, 70_000])  // large enough to stage in chunks
        DeviceRegistry.withCurrent(registry) {
            for direct in [true, false] {
                for gpu in machine.gpus {
                    for other in machine.gpus where other !== gpu { gpu.setPeerCopiesEnabled(direct, to: other.device) }
                }
                let there = values.to(gpu(0)).to(gpu(2)).to(gpu(1))
                #expect(there.device == gpu(1))
                #expect(sqrt(there).to(cpu).elements == sqrt(values).elements, "peer copies \(direct ? "on" : "off")")
                let big = NDArray<Float>.ones([3 << 20]).to(gpu(1)).to(gpu(0))  // 12 MiB: two staging chunks
                #expect(big.sum().item() == Float(3 << 20))
            }
            for gpu in machine.gpus {
                for other in machine.gpus where other !== gpu { gpu.setPeerCopiesEnabled(true, to: other.device) }
            }
        }
    }

    @Test("sums of UInt8 and Int32 on a GPU are Ints, as on the host (NumPy widens them)")
    func narrowIntegerSumsOnAGPU() throws {
        let registry = try DeviceRegistry.make(.cudaSimulated(gpus: 1))
        DeviceRegistry.withCurrent(registry) {
            // Large enough for the two-pass reduction.
            let bytes = NDArray<UInt8>.full([3, 40_000], value: 200).to(gpu(0))
            let total: NDArray<Int> = bytes.sum()
            #expect(total.device == gpu(0))
            #expect(total.to(cpu).item() == 24_000_000)
            #expect(bytes.sum(axis: 1).to(cpu).elements == [8_000_000, 8_000_000, 8_000_000])
            #expect(bytes.transposed.sum(axis: 0).to(cpu).elements == [8_000_000, 8_000_000, 8_000_000])
            let words = NDArray<Int32>([Int32.max, Int32.max, 2]).to(gpu(0))
            #expect(words.sum().to(cpu).item() == 2 * Int(Int32.max) + 2)
        }
    }

    @Test("a kernel that reads past its allocation is an illegal address")
    func kernelBounds() throws {
        let machine = try self.machine()
        let gpu = machine.gpus[0]
        let small = try gpu.allocate(byteCount: 16)
        let operand = KernelOperand(allocation: small, offset: 0, strides: [1], dtype: .float64)
        #expect(throws: DeviceError.self) {
            try gpu.kernels!.elementwise(.unary(.copy), shape: [100], output: operand, inputs: [operand], scalar: nil)
        }
        do {
            try gpu.kernels!.elementwise(.unary(.copy), shape: [100], output: operand, inputs: [operand], scalar: nil)
        } catch {
            #expect(error.description.contains("CUDA_ERROR_ILLEGAL_ADDRESS"))
        }
    }

    @Test("the n-th call of a kind fails with the kind's error, and no other call")
    func faultsByOccurrence() throws {
        // The backend retries a failed allocation once (after freeing its cached blocks): 2 and 3 fail.
        let machine = try self.machine(1, memory: 1 << 30, faults: .failing(.allocation, occurrences: [2, 3]))
        let gpu = machine.gpus[0]
        let kept = try gpu.allocate(byteCount: 1 << 20)  // 2 MiB in the allocator's size classes
        defer { withExtendedLifetime(kept) {} }
        #expect(throws: DeviceError.outOfMemory(device: gpu.device, requested: 3 << 20, free: (1 << 30) - (2 << 20))) {
            try gpu.allocate(byteCount: 3 << 20)
        }
        _ = try gpu.allocate(byteCount: 5 << 20)
        #expect(machine.simulation?.injectedFaults == 2)
    }

    @Test("random faults: the same seed fails the same calls")
    func randomFaultsReplay() {
        func failures(seed: UInt64) -> [Bool] {
            var state = DeviceFaultState(plan: .random(probability: 0.3, seed: seed, operations: [.launch]))
            return (0..<64).map { _ in state.shouldFail(.launch) }
        }
        #expect(failures(seed: 5) == failures(seed: 5))
        #expect(failures(seed: 5) != failures(seed: 6))
        let rate = Double(failures(seed: 9).filter { $0 }.count) / 64
        #expect(rate > 0.1 && rate < 0.5)
    }

    @Test("a CUDA GPU's diagnostics describe it, query its stream, time the driver's copies and switch peer copies")
    func diagnostics() throws {
        let machine = try self.machine()
        let (first, second) = (machine.gpus[0], machine.gpus[1])
        let diagnostics = second.diagnostics
        #expect(diagnostics.details == "compute capability 9.0, 132 SMs")
        #expect(diagnostics.runsOnHost)
        try second.synchronize()
        #expect(try diagnostics.isIdle())
        #expect(diagnostics.driverCopyName(from: first.device, to: second.device) == "cuMemcpyPeerAsync")
        #expect(diagnostics.driverCopyName(from: cpu, to: second.device) == "cuMemcpyHtoDAsync")
        #expect(diagnostics.directPeerCopies(from: first.device) == true)
        diagnostics.setDirectPeerCopies(false, from: first.device)
        #expect(diagnostics.directPeerCopies(from: first.device) == false)
        diagnostics.setDirectPeerCopies(true, from: first.device)
        #expect(diagnostics.directPeerCopies(from: first.device) == true)
        let (from, to) = (try first.allocate(byteCount: 4096), try second.allocate(byteCount: 4096))
        #expect(try diagnostics.timeDriverCopy(from: from, to: to, byteCount: 4096) > .zero)
    }

    @Test("kernel names round-trip, so that the simulated driver runs the kernel that was compiled")
    func kernelNames() {
        let keys: [CUDAKernelKey] = [
            .elementwise(.binaryWithScalarLeft(.subtract), output: .int32, input: .int32),
            .elementwise(.cast, output: .uint8, input: .float64), .elementwise(.fill, output: .float32, input: nil),
            .elementwise(.unary(.tanh), output: .float64, input: .float64), .reduction(.argmax, input: .int64),
            .matmul(.float32),
        ]
        for key in keys { #expect(CUDAKernelKey(name: key.name) == key) }
        #expect(CUDAKernelKey(name: "ew.unary-nothing.float32.float32") == nil)
    }
}

import Testing

@testable import ParlaArrays
@testable import ParlaDevices

/// Makes a registry of virtual GPUs current for the calling test (a task-local binding, so tests in
/// parallel keep their own devices).
@discardableResult
func withVirtualGPUs<R>(_ count: Int, memory: Int? = nil, _ body: (DeviceRegistry) throws -> R) throws -> R {
    let registry = try DeviceRegistry.make(.virtual(gpus: count, memory: memory))
    return try DeviceRegistry.withCurrent(registry) { try body(registry) }
}

@Suite(.serialized)
struct VirtualGPUTests {
    @Test("results of operations on a virtual GPU stay on that GPU")
    func resultsStayOnDevice() throws {
        try withVirtualGPUs(2) { _ in
            let a = NDArray<Double>.arange(6).reshaped([2, 3]).to(gpu(1))
            #expect(a.device == gpu(1))
            #expect((a + a).device == gpu(1))
            #expect(sqrt(a).device == gpu(1))
            #expect(a.sum().device == gpu(1))
            #expect(a.argmax(axis: 0).device == gpu(1))
            #expect(matmul(a, a.transposed).device == gpu(1))
            #expect(a.transposed.contiguous().device == gpu(1))
            #expect(a.astype(Int32.self).device == gpu(1))
            #expect((a + a).to(cpu).elements == [0, 2, 4, 6, 8, 10])
        }
    }

    @Test("copies between every pair of devices round-trip exactly")
    func copiesRoundTrip() throws {
        try withVirtualGPUs(3) { registry in
            let original = (NDArray<Double>.random([257, 31], seed: 5) * 255).astype(UInt8.self)
            for source in registry.devices {
                for target in registry.devices {
                    let there = original.to(source).to(target)
                    #expect(there.device == target)
                    #expect(there.to(source).to(cpu).elements == original.elements, "\(source) -> \(target)")
                }
            }
        }
    }

    @Test("a copy on a virtual GPU has its own memory: writing either copy leaves the other alone")
    func memoryIsSeparate() throws {
        try withVirtualGPUs(2) { _ in
            var host = NDArray<Float>.ones([4, 4])
            let onGPU = host.to(gpu(0))
            host[0, 0] = 42
            #expect(onGPU.to(cpu).elements.allSatisfy { $0 == 1 })
            var gpuCopy = onGPU
            gpuCopy[1] = NDArray<Float>.full([4], value: 7).to(gpu(0))
            #expect(onGPU.to(cpu).elements.allSatisfy { $0 == 1 })
            #expect(host[1, 2] as Float == 1)
            let other = onGPU.to(gpu(1))
            gpuCopy[2, 2] = 9
            #expect(other.to(cpu).elements.allSatisfy { $0 == 1 })
            // Separate allocations, never aliased.
            #expect(host._storage.allocation.address != onGPU._storage.allocation.address)
            #expect(onGPU._storage.allocation.address != other._storage.allocation.address)
        }
    }

    @Test("an allocation past a virtual GPU's capacity fails naming the device and the sizes")
    func capacityError() throws {
        _ = try withVirtualGPUs(2, memory: 1000) { registry in
            let backend = try registry.backend(for: gpu(1))
            do {
                let first = try backend.allocate(byteCount: 600)
                #expect(backend.memoryInUse == 600)
                #expect(throws: DeviceError.outOfMemory(device: gpu(1), requested: 800, free: 400)) {
                    _ = try backend.allocate(byteCount: 800)
                }
                let error = DeviceError.outOfMemory(device: gpu(1), requested: 800, free: 400)
                #expect(error.description == "out of memory on gpu(1): asked for 800 bytes, 400 bytes free")
                withExtendedLifetime(first) {}
            }
            // Freed memory is free again.
            #expect(backend.memoryInUse == 0)
            #expect(throws: DeviceError.outOfMemory(device: gpu(0), requested: 1600, free: 1000)) {
                _ = try NDArray<Double>.zeros([200]).copy(to: gpu(0))
            }
            // Within capacity it works, and freeing gives the bytes back.
            let fits = try NDArray<Double>.zeros([100]).copy(to: gpu(0))
            #expect(try registry.backend(for: gpu(0)).memoryInUse == 800)
            withExtendedLifetime(fits) {}
        }
    }

    @Test("copying to a device the selection does not have fails naming it")
    func missingDevice() throws {
        try withVirtualGPUs(2) { _ in
            #expect(throws: DeviceError.noSuchDevice(gpu(5), available: [gpu(0), gpu(1), cpu])) {
                _ = try NDArray<Int>.arange(3).copy(to: gpu(5))
            }
        }
    }

    @Test("a device in host memory has the default diagnostics: memcpy as its own copies, no peer links")
    func hostMemoryDiagnostics() throws {
        let linked = VirtualGPU(index: 0, link: .pcie4)
        let diagnostics = linked.diagnostics
        #expect(diagnostics.details == "link 25.0 GB/s + 10.0 µs per copy")
        #expect(VirtualGPU(index: 1).diagnostics.details == "copies at memcpy speed")
        #expect(HostBackend().diagnostics.details == nil)
        #expect(diagnostics.runsOnHost)
        #expect(try diagnostics.isIdle())
        #expect(diagnostics.driverCopyName(from: cpu, to: gpu(0)) == "memcpy")
        #expect(diagnostics.directPeerCopies(from: gpu(1)) == nil)
        diagnostics.setDirectPeerCopies(true, from: gpu(1))
        #expect(diagnostics.directPeerCopies(from: gpu(1)) == nil)
        let source = try HostBackend().allocate(byteCount: 256)
        source.hostPointer!.initializeMemory(as: UInt8.self, repeating: 9, count: 256)
        let target = try linked.allocate(byteCount: 256)
        #expect(try diagnostics.timeDriverCopy(from: source, to: target, byteCount: 256) >= .zero)
        let copied = UnsafeBufferPointer(start: target.hostPointer!.assumingMemoryBound(to: UInt8.self), count: 256)
        #expect(copied.allSatisfy { $0 == 9 })
    }

    @Test("copies on a virtual GPU's queue are asynchronous and complete, also with a link model")
    func asynchronousCopies() throws {
        let gpu0 = VirtualGPU(index: 0, link: .init(bytesPerSecond: 1e9, latency: 1e-4))
        let host = HostBackend()
        let source = try host.allocate(byteCount: 1 << 16)
        source.hostPointer!.initializeMemory(as: UInt8.self, repeating: 3, count: 1 << 16)
        let target = try gpu0.allocate(byteCount: 1 << 16)
        let event = try DeviceCopies.copy(from: source, to: target, byteCount: 1 << 16)
        try event.wait()
        #expect(event.isComplete)
        let copied = UnsafeBufferPointer(start: target.hostPointer!.assumingMemoryBound(to: UInt8.self), count: 1 << 16)
        #expect(copied.allSatisfy { $0 == 3 })
        try gpu0.synchronize()
    }
}

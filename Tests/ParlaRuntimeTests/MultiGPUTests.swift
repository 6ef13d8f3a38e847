import Synchronization
import Testing

@testable import Parla
@testable import ParlaDevices

#if canImport(Glibc)
import Glibc
#endif

/// PArrays on several GPUs, on virtual GPUs and on the simulated CUDA driver (which runs the CUDA
/// backend's own code under the driver's rules), including driver calls that fail.
@Suite("PArray on several GPUs, and failing device calls")
struct MultiGPUTests {
    /// The program that once read zeros on real GPUs: rows of a 4×8 array written on alternating GPUs,
    /// then read whole on gpu(0) and row by row on the other GPU.
    @Test(
        "rows written on alternating GPUs are read back whole and by row",
        arguments: [DeviceSelection.virtual(gpus: 2), .cudaSimulated(gpus: 2), .cudaSimulated(gpus: 4)]
    )
    func alternatingRows(devices: DeviceSelection) async throws {
        let whole = Mutex<Double>(-1)
        let rows = Mutex<[Int: Double]>([:])
        try await Parla.run(devices: devices) {
            let M = PArray(NDArray<Double>.zeros([4, 8]))
            for i in 0..<4 {
                spawn(placement: gpu(i % 2), output: [M[i]]) {
                    M[i] = NDArray<Double>.full([8], value: Double(i + 1)).to(Device.current)
                }
            }
            spawn(placement: gpu(0), input: [M]) { whole.withLock { $0 = M.array.sum().item() } }
            for i in 0..<4 {
                spawn(placement: gpu(1), input: [M[i]]) {
                    let sum: Double = M[i].array.sum().item()
                    rows.withLock { $0[i] = sum }
                }
            }
        }
        #expect(whole.withLock { $0 } == 80)
        #expect(rows.withLock { $0 } == [0: 8, 1: 16, 2: 24, 3: 32])
    }

    @Test(
        "reads of one array on four GPUs at once each get the data, each moved once",
        arguments: [DeviceSelection.virtual(gpus: 4), .cudaSimulated(gpus: 4)]
    )
    func concurrentReads(devices: DeviceSelection) async throws {
        let count = 300_000
        let sums = Mutex<[Double]>([])
        try await Parla.run(devices: devices) {
            let A = PArray(NDArray<Double>.arange(count))
            let T = TaskSpace("T")
            for i in 0..<4 {
                spawn(T[i], placement: gpu(i), input: [A]) {
                    let sum: Double = A.array.sum().item()
                    sums.withLock { $0.append(sum) }
                }
            }
            try await T.wait()
            let received = Dictionary(grouping: DataMovementLog.currentRun, by: \.link.destination)
                .mapValues { $0.reduce(0) { $0 + $1.bytes } }
            for i in 0..<4 { #expect(received[gpu(i)] == count * 8) }
            for i in 0..<4 { #expect(A.state(on: gpu(i)) == .shared) }
        }
        #expect(sums.withLock { $0 } == Array(repeating: Double(count * (count - 1) / 2), count: 4))
    }

    @Test(
        "a large array that tasks on four GPUs wait to read is shared out: a share each from the host, the rest over the peer links"
    )
    func sharedRead() async throws {
        let count = 4 << 20  // 32 MiB of doubles: above the smallest shared read
        let sums = Mutex<[Double]>([])
        try await Parla.run(devices: .cudaSimulated(gpus: 4)) {
            let A = PArray(NDArray<Double>.arange(count))
            let gate = Gate()
            let G = TaskSpace("G")
            spawn(G[0]) { gate.waitUntilOpen() }
            // A writer on the host (behind the gate), then a reader on every GPU: the readers start
            // together when the writer ends, and the first to plan its move serves all four. (Readers
            // waiting only for the writer, which produces their data, prefetch nothing.)
            spawn(dependencies: [G[0]], placement: cpu, inOut: [A]) {}
            let readers = TaskSpace("R")
            for i in 0..<4 {
                spawn(readers[i], placement: gpu(i), input: [A]) {
                    let sum: Double = A.array.sum().item()
                    sums.withLock { $0.append(sum) }
                }
            }
            gate.open()
            try await readers.wait()
            for i in 0..<4 { #expect(A.state(on: gpu(i)) == .shared) }
            let moved = Dictionary(
                uniqueKeysWithValues: DataMovementLog.currentRun.map { ($0.link.description, $0.bytes) }
            )
            let share = count * 8 / 4
            for i in 0..<4 {
                #expect(moved["cpu -> gpu(\(i))"] == share)
                for j in 0..<4 where j != i { #expect(moved["gpu(\(i)) -> gpu(\(j))"] == share) }
            }
            #expect(moved.count == 16)
        }
        #expect(sums.withLock { $0 } == Array(repeating: Double(count) * Double(count - 1) / 2, count: 4))
    }

    @Test("a region is fetched over the fastest link: another GPU's copy over NVLink rather than the host's")
    func fastestSource() async throws {
        // The simulated machine has an H200 host's nominal links: GPUs 385 GB/s apart, 55 GB/s from the host.
        try await Parla.run(devices: .cudaSimulated(gpus: 2)) {
            let A = PArray(NDArray<Double>.ones([1000]))
            let first = spawn(placement: gpu(0), input: [A]) {}
            try await first.wait()
            spawn(placement: gpu(1), input: [A]) {}
        }
        let links = DeviceLinks(devices: [gpu(0), gpu(1), cpu]) { from, to in
            from == .cpu || to == .cpu ? 55e9 : 25e9  // a GPU pair slower than the host (no peer link)
        }
        #expect(CoherenceProtocol.bestSource([gpu(0), cpu], for: gpu(1), links: links) == cpu)
        let nvlink = DeviceLinks(devices: [gpu(0), gpu(1), cpu]) { from, to in from == .cpu || to == .cpu ? 55e9 : 385e9
        }
        #expect(CoherenceProtocol.bestSource([gpu(0), cpu], for: gpu(1), links: nvlink) == gpu(0))
        #expect(CoherenceProtocol.bestSource([gpu(1), gpu(0), cpu], for: cpu, links: .uniform) == gpu(0))
        let registry = try DeviceRegistry.make(.cudaSimulated(gpus: 2))
        #expect(registry.links.bandwidth(from: gpu(0), to: gpu(1)) == 385e9)
        #expect(registry.links.bandwidth(from: cpu, to: gpu(1)) == 55e9)
    }

    @Test("the GPU-to-GPU move reads the other GPU's copy, over the peer link")
    func peerMoveIsLogged() async throws {
        try await Parla.run(devices: .cudaSimulated(gpus: 2)) {
            let A = PArray(NDArray<Double>.ones([1000]))
            let first = spawn(placement: gpu(0), input: [A]) {}
            try await first.wait()
            let second = spawn(placement: gpu(1), input: [A]) {}
            try await second.wait()
            let moved = DataMovementLog.currentRun.map { "\($0.link): \($0.bytes)" }
            #expect(moved == ["cpu -> gpu(0): 8000", "gpu(0) -> gpu(1): 8000"])
        }
    }

    /// Rows 0 and 2 on gpu(0) and rows 1 and 3 on gpu(1), then `reader` on gpu(0) reads them all.
    func writeRowsOnTwoGPUs(_ M: PArray<Double>) {
        for i in 0..<4 {
            spawn(placement: gpu(i % 2), output: [M[i]]) {
                M[i] = NDArray<Double>.full([8], value: Double(i + 1)).to(Device.current)
            }
        }
    }

    /// The rows' values after `writeRowsOnTwoGPUs`.
    let writtenRows = (0..<4).flatMap { i in Array(repeating: Double(i + 1), count: 8) }

    @Test("a failed prefetch changes nothing: the task moves its data itself and reads the right values")
    func failedPrefetch() async throws {
        // The first GPU-to-GPU copy fails: it is the prefetch's (the reader also waits for a gate).
        // (Each fault test has a machine of its own, told apart by its memory size: the plan counts
        // the machine's calls.)
        let faults = DeviceFaults.failing(.copyBetweenDevices, occurrence: 1)
        let devices = DeviceSelection.cudaSimulated(gpus: 2, memory: 1 << 30 + 1, faults: faults)
        let machine = try CUDASystem.simulatedMachine(.init(gpus: 2, memory: 1 << 30 + 1, faults: faults))
        let seen = Mutex<[Double]>([])
        try await Parla.run(devices: devices) {
            let M = PArray(NDArray<Double>.zeros([4, 8]))
            let gate = Gate()
            let G = TaskSpace("G")
            spawn(G[0]) { gate.waitUntilOpen() }
            self.writeRowsOnTwoGPUs(M)
            spawn(dependencies: [G[0]], placement: gpu(0), input: [M]) {
                seen.withLock { $0 = M.array.to(cpu).elements }
            }
            // The gate opens once the prefetch's copy has failed.
            while machine.simulation?.injectedFaults != 1 { await Task.yield() }
            gate.open()
        }
        #expect(seen.withLock { $0 } == self.writtenRows)
    }

    @Test(
        "a failing copy fails its task with an error naming the task, device, operation and CUDA error; the array keeps its data"
    )
    func failedMove() async throws {
        let devices = DeviceSelection.cudaSimulated(
            gpus: 2,
            memory: 1 << 30 + 2,
            faults: .failing(.copyBetweenDevices, occurrence: 1)
        )
        let M = PArray(NDArray<Double>.zeros([4, 8]))
        do {
            try await Parla.run(devices: devices) {
                self.writeRowsOnTwoGPUs(M)
                spawn(TaskSpace("R")[0], placement: gpu(0), input: [M]) {}
            }
            Issue.record("the run should have failed")
        } catch let ParlaError.deviceFailed(task, device, operation, error) {
            #expect(task == "R_0")
            #expect(device == gpu(0))
            #expect(operation.hasPrefix("moving PArray #") && operation.hasSuffix("to gpu(0) (input)"))
            guard case .cudaCall(let on, let call, let code, _) = error else {
                Issue.record("not a CUDA call: \(error)")
                return
            }
            #expect(on == gpu(0) && call.hasPrefix("cuMemcpyPeerAsync(gpu(1) -> gpu(0)") && code == 999)
            #expect(
                ParlaError.deviceFailed(task: task, device: device, operation: operation, error: error).description
                    .contains("CUDA_ERROR_UNKNOWN (999)")
            )
        }
        // Nothing of the failed move counts: rows 1 and 3 are still only on gpu(1).
        #expect(M.state(on: gpu(0)) == .invalid)
        #expect(M[0].state(on: gpu(0)) == .modified && M[1].state(on: gpu(1)) == .modified)
        #expect(M[1].state(on: gpu(0)) == .invalid)
        #expect(M.array.elements == self.writtenRows)  // read on the CPU, outside any run
    }

    @Test("a kernel launch that fails fails its task, naming the operation; the task's later device work is skipped")
    func failedLaunch() async throws {
        let devices = DeviceSelection.cudaSimulated(
            gpus: 1,
            memory: 1 << 30 + 3,
            faults: .failing(.launch, occurrence: 1)
        )
        do {
            try await Parla.run(devices: devices) {
                spawn(TaskSpace("T")[0], placement: gpu(0)) { () -> Double in
                    let x = NDArray<Double>.full([10], value: 4).to(Device.current)
                    return sqrt(x).sum().item()
                }
            }
            Issue.record("the run should have failed")
        } catch let ParlaError.deviceFailed(task, device, operation, error) {
            #expect(task == "T_0" && device == gpu(0) && operation == "sqrt on gpu(0)")
            #expect(error.description.contains("cuLaunchKernel(ew.unary-sqrt.float64.float64)"))
            #expect(error.description.contains("CUDA_ERROR_LAUNCH_FAILED"))
        }
        // The GPU goes on working (the plan failed only the first launch).
        let after = Mutex<Double>(-1)
        try await Parla.run(devices: devices) {
            spawn(placement: gpu(0)) {
                let x = NDArray<Double>.full([10], value: 4).to(Device.current)
                after.withLock { $0 = sqrt(x).sum().item() }
            }
        }
        #expect(after.withLock { $0 } == 20)
    }

    @Test("a task whose kernel failed writes nothing more: other regions and its own keep their last completed writes")
    func failedTaskWritesNothing() async throws {
        // Launch 1 is E's write of row 0; launch 2 is F's sqrt, which fails.
        let devices = DeviceSelection.cudaSimulated(
            gpus: 2,
            memory: 1 << 30 + 4,
            faults: .failing(.launch, occurrence: 2)
        )
        let A = PArray(NDArray<Double>([[1, 1], [2, 2]]))
        let seen = Mutex<[Double]>([])
        do {
            try await Parla.run(devices: devices) {
                let T = TaskSpace("T")
                spawn(T[0], placement: gpu(1), inOut: [A[0]]) {
                    A[0] = NDArray<Double>.full([2], value: 5).to(Device.current)
                }
                spawn(T[1], dependencies: [T[0]], placement: gpu(1), inOut: [A[1]]) {
                    // A view of gpu(1)'s copy: the write below must not replace the copy by a half-made one.
                    let current: NDArray<Double> = A[1].array
                    A[1] = sqrt(current)
                }
                spawn(T[2], dependencies: [T[1]], placement: cpu, input: [A[0]]) {
                    seen.withLock { $0 = A[0].array.elements }
                }
            }
            Issue.record("the run should have failed")
        } catch let ParlaError.deviceFailed(task, _, operation, _) {
            #expect(task == "T_1" && operation == "sqrt on gpu(1)")
        }
        #expect(seen.withLock { $0 }.isEmpty)  // T_2 depended on the failed task: it did not run
        #expect(A.array.elements == [5, 5, 2, 2])
    }

    @Test(
        "a task whose declared data cannot fit on its GPU fails, naming its working set, and changes nothing: no copy counts as valid, none is lost",
        arguments: [AccessMode.input, .inOut]
    )
    func outOfMemoryMove(mode: AccessMode) async throws {
        let count = 200_000  // 1.6 MB: more than each virtual GPU's 1 MiB
        let A = PArray(NDArray<Double>.arange(count))
        do {
            try await Parla.run(devices: .virtual(gpus: 2, memory: 1 << 20)) {
                let T = TaskSpace("T")
                switch mode {
                case .input: spawn(T[0], placement: gpu(0), input: [A]) {}
                default: spawn(T[0], placement: gpu(0), inOut: [A]) {}
                }
            }
            Issue.record("the run should have failed")
        } catch let ParlaError.unsatisfiableResources(task, detail) {
            #expect(task == "T_0")
            #expect(detail.contains("(\(count * 8) bytes) do not fit in the \(1 << 20) bytes of gpu(0)"))
        }
        #expect(A.state(on: gpu(0)) == .invalid)
        #expect(A.state(on: cpu) == .modified)
        let sum: Double = A.array.sum().item()
        #expect(sum == Double(count) * Double(count - 1) / 2)
    }

    @Test("running out of device memory inside a task fails that task, not the process")
    func outOfMemoryInABody() async throws {
        let ran = Mutex(false)
        do {
            try await Parla.run(devices: .cudaSimulated(gpus: 1, memory: 1 << 20)) {
                let T = TaskSpace("T")
                spawn(T[0], placement: gpu(0)) {
                    let big = NDArray<Float>.zeros([1 << 20]).to(Device.current)  // 4 MiB
                    _ = (big + 1).sum()
                }
                spawn(T[1], placement: gpu(0)) {
                    let small = NDArray<Float>.ones([16]).to(Device.current)
                    ran.withLock { $0 = small.sum().item() == 16 }
                }
            }
            Issue.record("the run should have failed")
        } catch let ParlaError.deviceFailed(task, device, operation, error) {
            #expect(task == "T_0" && device == gpu(0))
            #expect(operation.hasPrefix("moving an array of shape [1048576]"))
            guard case .outOfMemory(let on, let requested, _) = error else {
                Issue.record("not out of memory: \(error)")
                return
            }
            #expect(on == gpu(0) && requested == 4 << 20)
        }
        #expect(ran.withLock { $0 })
    }
}

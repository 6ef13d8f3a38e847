import Dispatch
import Synchronization
import Testing

@testable import Parla
@testable import ParlaDevices

/// GPU tasks complete when the work they queued does, without a worker waiting, and release their
/// successors when that work is queued: on the simulated CUDA driver, with the GPUs' streams held so
/// that queued work visibly waits.
@Suite("runahead: GPU tasks complete by event, and successors on the same GPU run ahead of the device")
struct RunaheadTests {
    /// A simulated machine of the test's own (its streams are held), with `gpus` GPUs.
    static func ownMachine(_ gpus: Int, _ tag: Int) throws -> (DeviceSelection, DeviceRegistry) {
        let selection = DeviceSelection.cudaSimulated(gpus: gpus, memory: (1 << 30) + tag)
        return (selection, try DeviceRegistry.make(selection))
    }

    /// Polls until `condition` holds (no timing assumed: it waits as long as it takes).
    static func waitUntil(_ condition: () -> Bool) async throws {
        while !condition() { try await Task.sleep(for: .milliseconds(1)) }
    }

    @Test("a chain of tasks on one GPU runs its bodies while the device has not run the first one's work")
    func chainRunsAhead() async throws {
        let (selection, registry) = try Self.ownMachine(1, 1)
        let predecessorDone = Mutex<[Bool]>([])
        let x = PArray(NDArray<Double>.zeros([4]))
        try await Parla.run(devices: selection) {
            try await spawn(placement: gpu(0), input: [x]) {}.wait()  // x is on gpu(0) from now on
            registry.holdSimulatedStreams(true)
            var previous: ParlaTask<Void>? = nil
            for _ in 0..<5 {
                let before = previous
                previous = spawn(placement: gpu, inOut: [x]) {
                    predecessorDone.withLock { $0.append(before?.isCompleted ?? false) }
                    x[0..<4] = x.array + 1
                }
            }
            try await Self.waitUntil { predecessorDone.withLock { $0.count } == 5 }
            #expect(previous?.isCompleted == false, "the device holds the work, so no task has completed")
            registry.holdSimulatedStreams(false)
        }
        #expect(predecessorDone.withLock { $0 } == [false, false, false, false, false])
        #expect(x.array.elements == [5, 5, 5, 5])
    }

    @Test("a task released early that runs on another GPU waits for its predecessor to complete")
    func otherGPUWaits() async throws {
        let (selection, registry) = try Self.ownMachine(2, 2)
        let sawCompleted = Mutex<Bool?>(nil)
        let firstRan = Atomic<Bool>(false)
        let x = PArray(NDArray<Double>.zeros([4]))
        try await Parla.run(devices: selection) {
            try await spawn(placement: gpu(0), input: [x]) {}.wait()
            registry.holdSimulatedStreams(true)
            let first = spawn(placement: gpu(0), inOut: [x]) {
                x[0..<4] = x.array + 1
                firstRan.store(true, ordering: .releasing)
            }
            spawn(placement: gpu(1), input: [x]) {
                sawCompleted.withLock { $0 = first.isCompleted }
                #expect(x.array.to(cpu).elements == [1, 1, 1, 1])
            }
            try await Self.waitUntil { firstRan.load(ordering: .acquiring) }
            registry.holdSimulatedStreams(false)
        }
        #expect(sawCompleted.withLock { $0 } == true)
    }

    @Test(
        "a failure found when the device has run a task fails the tasks that ran ahead of it, and the array keeps its last completed write"
    )
    func failureReachesTasksThatRanAhead() async throws {
        let (selection, registry) = try Self.ownMachine(1, 3)
        let original: [[Double]] = [[4, 2], [2, 1]]  // not positive definite (leading minor of order 2)
        let x = PArray(NDArray(original))
        let secondRan = Atomic<Bool>(false)
        let failures = Mutex<[String]>([])
        do {
            try await Parla.run(devices: selection) {
                try await spawn(placement: gpu(0), input: [x]) {}.wait()
                registry.holdSimulatedStreams(true)
                let factor = spawn(placement: gpu(0), inOut: [x]) { try x.choleskyFactorize() }
                let update = spawn(placement: gpu(0), inOut: [x]) {
                    x[0..<2] = x.array + 100
                    secondRan.store(true, ordering: .releasing)
                }
                try await Self.waitUntil { secondRan.load(ordering: .acquiring) }
                registry.holdSimulatedStreams(false)
                for task in [factor, update] {
                    do { try await task.wait() } catch { failures.withLock { $0.append("\(error)") } }
                }
            }
            Issue.record("the run should fail")
        } catch {}
        let reported = failures.withLock { $0 }
        #expect(reported.count == 2)
        #expect(reported.first?.contains("not positive definite") == true, "\(reported)")
        #expect(
            reported.last?.contains("depends on") == true || reported.last?.contains("dependency") == true,
            "\(reported)"
        )
        #expect(x.array.elements == [4, 2, 2, 1])
    }

    @Test("an asynchronous task that ran ahead completes after its predecessor, and fails with it")
    func asynchronousTaskAfterFailure() async throws {
        let (selection, registry) = try Self.ownMachine(1, 4)
        let x = PArray(NDArray<Double>([[4, 2], [2, 1]]))  // not positive definite
        let secondRan = Atomic<Bool>(false)
        let outcomes = Mutex<[String]>([])
        do {
            try await Parla.run(devices: selection) {
                try await spawn(placement: gpu(0), input: [x]) {}.wait()
                registry.holdSimulatedStreams(true)
                let factor = spawn(placement: gpu(0), inOut: [x]) { try x.choleskyFactorize() }
                let update = spawn(placement: gpu(0), inOut: [x]) { () async throws in
                    x[0..<2] = x.array * 2
                    secondRan.store(true, ordering: .releasing)
                }
                try await Self.waitUntil { secondRan.load(ordering: .acquiring) }
                registry.holdSimulatedStreams(false)
                for task in [factor, update] {
                    do { try await task.wait() } catch { outcomes.withLock { $0.append("\(error)") } }
                }
            }
        } catch {}
        let reported = outcomes.withLock { $0 }
        #expect(reported.count == 2, "\(reported)")
        #expect(
            reported.last?.contains("depends on") == true || reported.last?.contains("dependency") == true,
            "\(reported)"
        )
        #expect(x.array.elements == [4, 2, 2, 1])
    }

    @Test("a runahead task that declared inOut but wrote nothing does not make a failed write's copy valid again")
    func noStaleHolderAfterFailure() async throws {
        let (selection, registry) = try Self.ownMachine(1, 5)
        let x = PArray(NDArray<Double>([[4, 2], [2, 1]]))  // not positive definite
        let secondRan = Atomic<Bool>(false)
        do {
            try await Parla.run(devices: selection) {
                try await spawn(placement: gpu(0), input: [x]) {}.wait()
                registry.holdSimulatedStreams(true)
                spawn(placement: gpu(0), inOut: [x]) { try x.choleskyFactorize() }
                spawn(placement: gpu(0), inOut: [x]) {
                    _ = x.array  // reads only
                    secondRan.store(true, ordering: .releasing)
                }
                try await Self.waitUntil { secondRan.load(ordering: .acquiring) }
                registry.holdSimulatedStreams(false)
            }
            Issue.record("the run should fail")
        } catch {}
        let seen = Mutex<[Double]>([])
        try await Parla.run(devices: selection) {
            spawn(placement: gpu(0), input: [x]) { seen.withLock { $0 = x.array.to(cpu).elements } }
        }
        #expect(seen.withLock { $0 } == [4, 2, 2, 1])
    }

    @Test("a PArray made from a GPU array a queued kernel still produces is read after that kernel")
    func wrappedArrayIsSettled() async throws {
        let (selection, registry) = try Self.ownMachine(2, 6)
        let seen = Mutex<[Double]>([])
        try await Parla.run(devices: selection) {
            let base = NDArray<Double>.zeros([4]).to(gpu(0))
            _ = base[0..<1].item()  // (on the GPU before the streams are held)
            registry.holdSimulatedStreams(true)
            let produced = base + 7  // queued on gpu(0), held
            // Let the streams go a little later, from a thread of its own: wrapping waits for the kernel.
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) {
                registry.holdSimulatedStreams(false)
            }
            let a = PArray(produced)
            try await spawn(placement: gpu(1), input: [a]) { seen.withLock { $0 = a.array.to(cpu).elements } }.wait()
        }
        #expect(seen.withLock { $0 } == [7, 7, 7, 7])
    }

    @Test("with runahead, results are those of the sequential program", arguments: [1, 2])
    func sequentialResults(gpus: Int) async throws {
        let x = PArray(NDArray<Double>.zeros([8]))
        try await Parla.run(devices: .cudaSimulated(gpus: gpus)) {
            for step in 0..<40 {
                spawn(placement: gpu(step % gpus), inOut: [x[(step % 2) * 4..<(step % 2 + 1) * 4]]) {
                    x[(step % 2) * 4..<(step % 2 + 1) * 4] = x[(step % 2) * 4..<(step % 2 + 1) * 4].array * 2 + 1
                }
            }
        }
        let expected = Double((1 << 20) - 1)
        #expect(x.array.elements == Array(repeating: expected, count: 8))
    }
}

/// A task's CUDA stream and library handles, for calling CUDA libraries from a task.
@Suite("the task's CUDA stream")
struct CUDAStreamTests {
    @Test("a task on a CUDA GPU calls cuBLAS on its stream with its handle, and completes after that work")
    func libraryCallOnTheTaskStream() async throws {
        let c = PArray(NDArray<Double>.zeros([2, 2]))
        let streams = Mutex<[Bool]>([])
        try await Parla.run(devices: .cudaSimulated(gpus: 1)) {
            spawn(placement: cpu) { streams.withLock { $0.append(CUDAStream.current == nil) } }
            spawn(placement: gpu(0), inOut: [c]) {
                guard let stream = CUDAStream.current else { return }
                streams.withLock { $0.append(stream.device == gpu(0)) }
                let a = NDArray<Double>([[1, 2], [3, 4]]).to(gpu(0))
                let identity = NDArray<Double>([[1, 0], [0, 1]]).to(gpu(0))
                let blas = try CUDALibraries.cublas(for: SimulatedCUDA.driver())
                let handle = try stream.cublasHandle()
                var (alpha, beta) = (1.0, 0.0)
                // Column-major, the row-major arrays are their transposes: Cᵀ = Aᵀ · I.
                let status = a.withUnsafeDeviceAddress { aAddress in
                    identity.withUnsafeDeviceAddress { iAddress in
                        c.array.withUnsafeDeviceAddress { cAddress in
                            blas.dgemm(
                                handle,
                                0,
                                0,
                                2,
                                2,
                                2,
                                &alpha,
                                UnsafePointer(bitPattern: UInt(aAddress)),
                                2,
                                UnsafePointer(bitPattern: UInt(iAddress)),
                                2,
                                &beta,
                                UnsafeMutablePointer(bitPattern: UInt(cAddress)),
                                2
                            )
                        }
                    }
                }
                streams.withLock { $0.append(status == 0) }
            }
        }
        #expect(streams.withLock { $0 } == [true, true, true])
        #expect(c.array.elements == [1, 2, 3, 4])
    }
}

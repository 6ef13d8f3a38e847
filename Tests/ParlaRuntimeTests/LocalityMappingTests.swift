import Synchronization
import Testing

@testable import Parla
@testable import ParlaDevices

/// The mapping of tasks that may run on several devices: where their data is, unless that device is
/// busy enough to make moving the data the faster way (see `RunScope+Locality.swift`).
@Suite("locality- and load-aware mapping")
struct LocalityMappingTests {
    @Test(
        "a task reading an array valid only on gpu(2) runs there when the loads are equal, elsewhere when gpu(2) is busy"
    )
    func localityThenLoad() async throws {
        let chosen = Mutex<[Device]>([])
        try await Parla.run(devices: .virtual(gpus: 4)) {
            let A = PArray(NDArray<Double>.zeros([1024]))
            let marker = PArray(NDArray<Double>.zeros([1]))
            let T = TaskSpace("T")
            spawn(T[0], placement: gpu(2), inOut: [A]) {}
            try await T[0].wait()
            #expect(A.state(on: gpu(2)) == .modified)
            spawn(T[1], placement: gpu, input: [A]) { chosen.withLock { $0.append(Device.current) } }
            try await T[1].wait()

            // gpu(2)'s tasks take 50 ms or more (measured as they finish)...
            let W = TaskSpace("W")
            for i in 0..<2 {
                spawn(W[i], placement: gpu(2), input: [marker]) { try await Task.sleep(for: .milliseconds(50)) }
            }
            try await W.wait()
            // ... and four are running when the reader is placed.
            let gate = Gate()
            let started = Atomic<Int>(0)
            let B = TaskSpace("B")
            for i in 0..<4 {
                spawn(B[i], placement: gpu(2), input: [marker]) {
                    started.add(1, ordering: .relaxed)
                    await gate.wait()
                }
            }
            while started.load(ordering: .relaxed) < 4 { await Task.yield() }
            spawn(T[2], placement: gpu, input: [A]) { chosen.withLock { $0.append(Device.current) } }
            try await T[2].wait()
            gate.open()
        }
        // Ties between the other GPUs go to the one with fewer running tasks, then the lowest index.
        #expect(chosen.withLock { $0 } == [gpu(2), gpu(0)])
    }

    @Test("a task whose data is on the host and may run anywhere runs on the host")
    func defaultPlacementFollowsHostData() async throws {
        let chosen = Mutex<Device?>(nil)
        try await Parla.run(devices: .virtual(gpus: 2)) {
            let A = PArray(NDArray<Double>.zeros([4096]))
            spawn(input: [A]) { chosen.withLock { $0 = Device.current } }
        }
        #expect(chosen.withLock { $0 } == cpu)
    }

    @Test("a device that cannot hold the task's data is not chosen, however close the data is")
    func capacityExcludesDevice() async throws {
        let chosen = Mutex<Device?>(nil)
        // 16 KiB per GPU: A (12 KiB) is valid only on gpu(0), B (8 KiB) on the host. Less would move to
        // gpu(0) than to the host, but A and B together do not fit there.
        try await Parla.run(devices: .virtual(gpus: 1, memory: 16 << 10)) {
            let A = PArray(NDArray<Double>.zeros([1536]))
            let B = PArray(NDArray<Double>.zeros([1024]))
            let T = TaskSpace("T")
            spawn(T[0], placement: gpu(0), inOut: [A]) {}
            try await T[0].wait()
            spawn(T[1], placement: [gpu(0), cpu] as [any Placement], input: [A, B]) {
                chosen.withLock { $0 = Device.current }
            }
        }
        #expect(chosen.withLock { $0 } == cpu)
    }

    @Test("placement ties: equal costs go to the device with fewer running tasks, then to the earlier one")
    func deterministicTies() async throws {
        let chosen = Mutex<[Device]>([])
        try await Parla.run(devices: .virtual(gpus: 3)) {
            let T = TaskSpace("T")
            for i in 0..<3 {
                let A = PArray(NDArray<Double>.zeros([16]))
                spawn(T[i], placement: gpu, output: [A]) { chosen.withLock { $0.append(Device.current) } }
                try await T[i].wait()
            }
        }
        #expect(chosen.withLock { $0 } == [gpu(0), gpu(0), gpu(0)])
    }
}

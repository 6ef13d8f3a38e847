import Dispatch
import Synchronization
import Testing

@testable import Parla
@testable import ParlaDevices

#if canImport(Glibc)
import Glibc
#endif

/// Tasks sharing one CUDA GPU (with `vcus` or `memory`) run on streams of their own, forked from the
/// GPU's compute stream and joined back into it; the simulated driver runs each stream on a thread of
/// its own, so a missing order shows up as wrong data.
@Suite("tasks sharing a GPU, each on its own stream")
struct ComputeLaneTests {
    @Test(
        "tasks with vcus or memory on one GPU get streams of their own; their kernels, copies and library calls stay in order",
        arguments: [(0.25, 0), (0, 1 << 20)]
    )
    func lanesKeepOrder(vcus: Double, memory: Int) async throws {
        let count = 4096
        let tasks = 6
        let arrays = (0..<tasks).map { _ in PArray(NDArray<Double>.arange(count)) }
        let matrices = (0..<tasks).map { _ in PArray(NDArray<Double>.zeros([8, 8])) }
        let handles = Mutex<(main: UInt?, lanes: Set<UInt>, sums: [Int: Double])>((nil, [], [:]))
        try await Parla.run(devices: .cudaSimulated(gpus: 1)) {
            spawn(placement: gpu(0)) {
                let handle = UInt(bitPattern: CurrentTask.current!.streams[0].handle)
                handles.withLock { $0.main = handle }
            }
            for index in 0..<tasks {
                let (A, M) = (arrays[index], matrices[index])
                spawn(
                    placement: gpu(0),
                    inOut: [A, M],
                    memory: memory == 0 ? nil : memory,
                    vcus: vcus == 0 ? nil : vcus
                ) {
                    let handle = UInt(bitPattern: CurrentTask.current!.streams[0].handle)
                    for _ in 0..<3 {  // temporaries freed and reused on the task's stream
                        A[0..<count] = A.array * 2 + 1
                    }
                    let sum: Double = A.array.sum().item()  // a copy out of the GPU, after the kernels
                    let ones = NDArray<Double>.ones([8, 8]).to(Device.current)
                    M.multiplyAdd(ones, ones, alpha: Double(index), beta: 0)  // cuBLAS on the task's stream
                    handles.withLock {
                        $0.lanes.insert(handle)
                        $0.sums[index] = sum
                    }
                }
            }
        }
        let seen = handles.withLock { $0 }
        let expected = (0..<count).map { Double($0) * 8 + 7 }
        let expectedSum = expected.reduce(0, +)
        let sums = Array(seen.sums.values)
        #expect(sums == Array(repeating: expectedSum, count: tasks))
        #expect(seen.main != nil && !seen.lanes.contains(seen.main!))
        for (index, A) in arrays.enumerated() {
            #expect(A.array.elements == expected, "task \(index)")
        }
        for (index, M) in matrices.enumerated() {
            #expect(M.array.elements == Array(repeating: Double(8 * index), count: 64), "task \(index)")
        }
    }

    @Test("a chain through one array alternates lanes and the compute stream, and reads every step's result")
    func chainAcrossLanes() async throws {
        let count = 1 << 14
        let A = PArray(NDArray<Double>.zeros([count]))
        try await Parla.run(devices: .cudaSimulated(gpus: 1)) {
            for step in 0..<24 {
                spawn(placement: gpu(0), inOut: [A], vcus: step % 3 == 0 ? nil : 0.5) { A += 1 }
                if step % 8 == 7 {
                    spawn(placement: cpu, inOut: [A]) { A[0..<count] = A.array + 0 }  // back through the host
                }
            }
        }
        #expect(A.array.elements == Array(repeating: 24, count: count))
    }

    @Test("a task's stream waits for the work queued before it on the compute stream, even while that is held")
    func laneWaitsForComputeStream() async throws {
        let count = 1024
        let A = PArray(NDArray<Double>.zeros([count]))
        let B = PArray(NDArray<Double>.zeros([count / 2]))
        try await Parla.run(devices: .cudaSimulated(gpus: 1)) {
            let T = TaskSpace("T")
            spawn(T[0], placement: gpu(0), inOut: [A]) {
                // The compute stream is held: this task's kernel waits there, and the task lets its
                // successor go at launch (runahead).
                let main = CurrentTask.current!.streams[0].handle
                SimulatedCUDA.setStreamHeld(true, handle: main)
                A += 1
                letGo(of: main, after: 50_000)
            }
            // (A block of a new size: no reused block's fence orders the stream.)
            spawn(T[1], dependencies: [T[0]], placement: gpu(0), input: [A], output: [B], vcus: 0.5) {
                B[0..<count / 2] = A[0..<count / 2].array * 3
            }
        }
        #expect(Set(B.array.elements) == [3])
    }

    @Test("a task on its own stream completes after the work queued there, even while that is held")
    func taskCompletesAfterItsStream() async throws {
        let A = PArray(NDArray<Double>.ones([32, 32]))
        let read = Mutex<[Double]>([])
        try await Parla.run(devices: .cudaSimulated(gpus: 1)) {
            let T = TaskSpace("T")
            spawn(T[0], placement: gpu(0), inOut: [A], vcus: 0.5) {
                let lane = CurrentTask.current!.streams[0].handle
                let ones = NDArray<Double>.ones([32, 32]).to(Device.current)
                SimulatedCUDA.setStreamHeld(true, handle: lane)
                A.multiplyAdd(ones, ones, alpha: 0, beta: 3)  // cuBLAS in place: no copy, only the kernel
                letGo(of: lane, after: 50_000)
            }
            spawn(T[1], dependencies: [T[0]], placement: cpu, input: [A]) {
                let values = A.array.elements
                read.withLock { $0 = values }
            }
        }
        #expect(Set(read.withLock { $0 }) == [3])
    }

    @Test(
        "a task on its own stream completes after its stream's work, even when another task's completion came in between"
    )
    func completionCountsTheLane() async throws {
        let A = PArray(NDArray<Double>.ones([32, 32]))
        let B = PArray(NDArray<Double>.zeros([64]))
        let read = Mutex<[Double]>([])
        let launched = DispatchSemaphore(value: 0)
        let otherDone = DispatchSemaphore(value: 0)
        try await Parla.run(devices: .cudaSimulated(gpus: 1)) {
            let T = TaskSpace("T")
            spawn(T[0], placement: gpu(0), inOut: [A], vcus: 0.5) {
                let lane = CurrentTask.current!.streams[0].handle
                let ones = NDArray<Double>.ones([32, 32]).to(Device.current)
                SimulatedCUDA.setStreamHeld(true, handle: lane)
                A.multiplyAdd(ones, ones, alpha: 0, beta: 3)  // held on the lane, counted as queued
                launched.signal()
                // (Bounded: on one worker the other task runs after this one.)
                _ = otherDone.wait(timeout: .now() + 5)
                letGo(of: lane, after: 200_000)
            }
            spawn(T[1], placement: gpu(0), inOut: [B]) {
                _ = launched.wait(timeout: .now() + 5)
                B += 1  // the compute stream: this task's completion comes first
            }
            spawn(T[2], dependencies: [T[1]], placement: cpu) { otherDone.signal() }
            spawn(T[3], dependencies: [T[0]], placement: cpu, input: [A]) {
                let values = A.array.elements
                read.withLock { $0 = values }
            }
        }
        #expect(Set(read.withLock { $0 }) == [3])
    }

    /// Lets go of the simulated stream `handle` after `microseconds`, from another thread (long enough
    /// for work that does not wait for it to have run first).
    private func letGo(of handle: OpaquePointer, after microseconds: UInt32) {
        let address = UInt(bitPattern: handle)
        DispatchQueue.global().async {
            usleep(microseconds)
            SimulatedCUDA.setStreamHeld(false, handle: OpaquePointer(bitPattern: address)!)
        }
    }
}

import Dispatch
import Synchronization
import Testing

@testable import Parla

@Suite("accesses outside tasks, and evictions, while tasks use an array", .serialized, .timeLimit(.minutes(1)))
struct ConsistencyTests {
    /// Reads `A` outside tasks while a task on gpu(0) writes it: `reader` runs once the task is inside
    /// its body, and its value is returned.
    private func readWhileWriting(
        _ reader: @escaping @Sendable (PArray<Double>) -> NDArray<Double>
    ) async throws -> (read: NDArray<Double>, after: NDArray<Double>) {
        let A = PArray(NDArray<Double>.zeros([4]))
        let writing = Gate()
        let finish = Gate()
        let readerStarted = Gate()
        let read = Mutex<NDArray<Double>?>(nil)
        try await Parla.run(devices: .virtual(gpus: 2)) {
            spawn(placement: gpu(0), inOut: [A]) {
                writing.open()
                finish.waitUntilOpen()
                A[0] = 1
            }
            await writing.wait()
            let reading = Self.detachedRead(of: A, by: reader, started: readerStarted)
            await readerStarted.wait()
            // (Give a reader that does not wait a chance to read the stale copy now.)
            for _ in 0..<100 { await Task.yield() }
            finish.open()
            let value = await reading.value
            read.withLock { $0 = value }
        }
        return (read.withLock { $0 }!, A.array)
    }

    /// Runs `reader` on `A` on a thread of its own (outside every task and run body; a thread of Swift's
    /// cooperative pool would be held while the reader waits, and the pool may have only two).
    private static func detachedRead(
        of A: PArray<Double>,
        by reader: @escaping @Sendable (PArray<Double>) -> NDArray<Double>,
        started: Gate
    ) -> Task<NDArray<Double>, Never> {
        Task.detached {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    started.open()
                    continuation.resume(returning: reader(A))
                }
            }
        }
    }

    @Test("a read outside tasks while a task writes the array waits for the task and sees its write")
    func readOutsideTasksDuringWrite() async throws {
        let (read, after) = try await self.readWhileWriting { A in NDArray(A.array.elements) }
        #expect(read.elements == [1, 0, 0, 0])
        #expect(after.elements == [1, 0, 0, 0])
    }

    @Test("a write outside tasks while a task writes the array comes after the task's")
    func writeOutsideTasksDuringWrite() async throws {
        let (_, after) = try await self.readWhileWriting { A in
            A[1] = 7
            return NDArray(A.array.elements)
        }
        #expect(after.elements == [1, 7, 0, 0])
    }

    @Test("an array evicted from a task's device while the task runs is brought back when it reads it")
    func evictedDuringTask() async throws {
        let A = PArray(NDArray<Double>.arange(100))
        let inside = Gate()
        let evicted = Gate()
        let sum = Mutex<Double>(0)
        try await Parla.run(devices: .virtual(gpus: 2)) {
            spawn(placement: gpu(0), input: [A]) {
                inside.open()
                evicted.waitUntilOpen()
                let total: Double = A.array.sum().item()
                sum.withLock { $0 = total }
            }
            await inside.wait()
            #expect(A.evict(from: gpu(0)))
            evicted.open()
        }
        #expect(sum.withLock { $0 } == 4950)
    }
}

@Suite("small GPUs: copies give way to the tasks that need the room", .serialized, .timeLimit(.minutes(1)))
struct DeviceMemoryTests {
    /// 600 kB of doubles: one fits on a 1 MiB virtual GPU, two do not.
    static let count = 75_000
    static let expectedSum = Double(count) * Double(count - 1) / 2

    static func sum(_ A: PArray<Double>) -> Double { A.array.sum().item() }

    @Test("a waiting task's prefetch does not make a ready task fail: it gives way, and both tasks run")
    func prefetchGivesWay() async throws {
        let B = PArray(NDArray<Double>.arange(Self.count))
        let C = PArray(NDArray<Double>.arange(Self.count))
        let release = Gate()
        let sums = Mutex<[String: Double]>([:])
        try await Parla.run(devices: .virtual(gpus: 1, memory: 1 << 20)) {
            let T = TaskSpace("T")
            spawn(T[0]) { release.waitUntilOpen() }
            // T_1 waits for T_0, so its input is prefetched to gpu(0) now.
            spawn(T[1], dependencies: [T[0]], placement: gpu(0), input: [B]) {
                sums.withLock { $0["T_1"] = Self.sum(B) }
            }
            while B.state(on: gpu(0)) == .invalid { await Task.yield() }
            // T_2 is ready at once and needs the room the prefetch took.
            try await spawn(T[2], placement: gpu(0), input: [C]) {
                sums.withLock { $0["T_2"] = Self.sum(C) }
            }.wait()
            release.open()
        }
        #expect(sums.withLock { $0 } == ["T_1": Self.expectedSum, "T_2": Self.expectedSum])
    }

    @Test("a task's memory reservation counts the copies on its device: they give way before it runs")
    func reservationMakesRoom() async throws {
        let A = PArray(NDArray<Double>.arange(Self.count))
        let allocated = Mutex(false)
        try await Parla.run(devices: .virtual(gpus: 1, memory: 1 << 20)) {
            try await spawn(placement: gpu(0), input: [A]) { _ = Self.sum(A) }.wait()
            #expect(A.state(on: gpu(0)) != .invalid)
            spawn(placement: gpu(0), memory: 600_000) {
                let scratch = NDArray<Double>.ones([Self.count]).to(Device.current)
                allocated.withLock { $0 = scratch.sum().item() == Double(Self.count) }
            }
        }
        #expect(allocated.withLock { $0 })
        #expect(Self.sum(A) == Self.expectedSum)
    }

    @Test("an allocation in a task body that finds its device full of other arrays' copies makes room")
    func bodyAllocationMakesRoom() async throws {
        let A = PArray(NDArray<Double>.arange(Self.count))
        try await Parla.run(devices: .virtual(gpus: 1, memory: 1 << 20)) {
            // A's only valid copy ends up on gpu(0): eviction must move it to the host first.
            try await spawn(placement: gpu(0), inOut: [A]) { A[0] = 1 }.wait()
            try await spawn(placement: gpu(0)) {
                let scratch = NDArray<Double>.ones([Self.count]).to(Device.current)
                #expect(scratch.sum().item() == Double(Self.count))
            }.wait()
        }
        #expect(Self.sum(A) == Self.expectedSum + 1)
    }
}

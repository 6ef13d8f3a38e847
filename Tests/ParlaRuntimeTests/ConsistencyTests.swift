import Synchronization
import Testing

@testable import Parla

@Suite("accesses outside tasks, and evictions, while tasks use an array", .serialized, .timeLimit(.minutes(1)))
struct ConsistencyTests {
    /// Reads `A` outside tasks while a task on gpu(0) writes it: `reader` runs once the task is inside
    /// its body, and its value is returned.
    private func readWhileWriting(
        _ reader: @escaping @Sendable (PArray<Double>) async -> NDArray<Double>
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

    /// Runs `reader` on `A` in a detached Swift task (outside every task and run body).
    private static func detachedRead(
        of A: PArray<Double>,
        by reader: @escaping @Sendable (PArray<Double>) async -> NDArray<Double>,
        started: Gate
    ) -> Task<NDArray<Double>, Never> {
        Task.detached {
            started.open()
            return await reader(A)
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

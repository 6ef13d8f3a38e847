import Synchronization
import Testing

@testable import Parla

@Suite("PArray: automatic, coherent data movement")
struct PArrayTests {
    @Test("the seed's task_a / task_b example works without the writeback task")
    func seedWritebackNotNeeded() async throws {
        let seen = Mutex<Double>(-1)
        try await Parla.run(devices: .virtual(gpus: 2)) {
            let arr = PArray(NDArray<Double>.zeros([3, 2]))
            let t = TaskSpace("t")
            spawn(t[0], placement: gpu(0), output: [arr[0]]) {
                arr[0] = 1
            }
            spawn(t[1], dependencies: [t[0]], placement: gpu(1), input: [arr[0]]) {
                let row: NDArray<Double> = arr[0]
                seen.withLock { $0 = row.min().item() == 1 && row.max().item() == 1 ? 1 : 0 }
            }
        }
        #expect(seen.withLock { $0 } == 1)
    }

    @Test("the seed's writeback recipe still works (and changes nothing)")
    func seedWritebackRecipe() async throws {
        let seen = Mutex<Double>(-1)
        try await Parla.run(devices: .virtual(gpus: 2)) {
            let arr = PArray(NDArray<Double>.zeros([3, 2]))
            let t = TaskSpace("t")
            let a = TaskSpace("a")
            spawn(t[0], placement: gpu(0), output: [arr[0]]) { arr[0] = 1 }
            spawn(a[0], dependencies: [t[0]], placement: cpu, inOut: [arr]) {}
            spawn(t[1], dependencies: [t[0], a[0]], placement: gpu(1), input: [arr[0]]) {
                let row: NDArray<Double> = arr[0]
                seen.withLock { $0 = row.min().item() }
            }
        }
        #expect(seen.withLock { $0 } == 1)
    }

    @Test("per-GPU row writes, then a whole-array reduction, then row reads all see the right values")
    func rowsThenWholeThenRows() async throws {
        let rows = 4
        let sums = Mutex<[Double]>([])
        let rowValues = Mutex<[Int: [Double]]>([:])
        try await Parla.run(devices: .virtual(gpus: 4)) {
            let A = PArray(NDArray<Double>.zeros([rows, 3]))
            for r in 0..<rows {
                spawn(placement: gpu(r), inOut: [A[r]]) {
                    A[r] = A[r].array + Double(r + 1)
                }
            }
            spawn(placement: cpu, input: [A]) {
                let total: Double = A.array.sum().item()
                sums.withLock { $0.append(total) }
            }
            for r in 0..<rows {
                spawn(placement: gpu((r + 1) % rows), input: [A[r]]) {
                    let values = A[r].array.to(cpu).elements
                    rowValues.withLock { $0[r] = values }
                }
            }
        }
        let expectedSum: Double = 30
        #expect(sums.withLock { $0 } == [expectedSum])
        for r in 0..<rows {
            let expected = [Double](repeating: Double(r + 1), count: 3)
            let actual = rowValues.withLock { $0[r] }
            #expect(actual == expected)
        }
    }

    @Test("inferred dependencies order writers and readers of overlapping regions; readers run concurrently")
    func inferredDependencies() async throws {
        let log = EventLog()
        try await Parla.run(devices: .virtual(gpus: 2)) {
            let A = PArray(NDArray<Int>.zeros([4]))
            spawn(placement: gpu(0), output: [A]) {
                A.update(NDArray<Int>.arange(4))
                log.append("write all")
            }
            spawn(placement: gpu(1), input: [A[0..<2]]) { log.append("read 0..<2 \(A[0..<2].array.to(cpu).elements)") }
            spawn(placement: cpu, inOut: [A[1..<3]]) {
                A[1..<3] = A[1..<3].array * 10
                log.append("write 1..<3")
            }
            spawn(placement: gpu(0), input: [A]) { log.append("read all \(A.array.to(cpu).elements)") }
        }
        let all = log.all
        #expect(all.first == "write all")
        #expect(all.contains("read 0..<2 [0, 1]"))
        #expect(all.firstIndex(of: "read 0..<2 [0, 1]")! < all.firstIndex(of: "write 1..<3")!)
        #expect(all.last == "read all [0, 10, 20, 3]")
    }

    @Test("state(on:), evict and the dictionary printed outside tasks")
    func statesAndEviction() async throws {
        let A = PArray([1, 2, 3])
        #expect(A.state(on: cpu) == .modified)
        try await Parla.run(devices: .virtual(gpus: 2)) {
            spawn(placement: gpu(1), inOut: [A[1...]]) { A[1...] = A[1...].array * 2 }
        }
        #expect(A.state(on: gpu(1)) == .invalid)
        #expect(A[1...].state(on: gpu(1)) == .modified)
        #expect(A[0].state(on: cpu) == .modified)
        #expect(A.evict(from: gpu(1), keepOneCopy: false) == false)
        #expect(A.evict(from: gpu(1)))
        #expect(A.state(on: cpu) == .modified)
        #expect(A.array.elements == [1, 4, 6])
        #expect(A.shape == [3])
        #expect(A[1...].shape == [2] && A[0].shape == [])
        #expect(PArray(NDArray<Int>.zeros([2, 3]))[1, 1...].shape == [2])
        #expect(A.sum().item() == 11)
    }
}

@Suite("PArray misuse inside tasks stops with a message")
struct PArrayMisuseTests {
    @Test("reading an undeclared PArray names the task, the array and the access")
    func undeclaredRead() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let A = PArray([1.0, 2.0])
            try? await Parla.run(devices: .virtual(gpus: 1)) {
                spawn(TaskSpace("U")[0], placement: cpu) { _ = A.array }
            }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(
            text.contains("task U_0 reads PArray #") && text.contains("which it did not declare"),
            "\(text.prefix(600))"
        )
    }

    @Test("writing a region declared only as input names the task, the array and the access")
    func writeToInput() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let A = PArray([1.0, 2.0])
            try? await Parla.run(devices: .virtual(gpus: 1)) {
                spawn(TaskSpace("W")[0], placement: gpu(0), input: [A]) { A[0] = 5 }
            }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(
            text.contains("task W_0 writes PArray #") && text.contains("declared only as input"),
            "\(text.prefix(600))"
        )
    }

    @Test("reading a region outside the declared one stops")
    func regionOutsideDeclared() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let A = PArray([[1.0, 2.0], [3.0, 4.0]])
            try? await Parla.run(devices: .virtual(gpus: 1)) {
                spawn(TaskSpace("R")[0], placement: gpu(0), input: [A[0]]) { _ = A[1].array }
            }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("task R_0 reads") && text.contains("[1..<2, 0..<2]"), "\(text.prefix(600))")
    }
}

@Suite("the API contract's lesson-6 program")
struct APIContractTests {
    @Test("API.md §1 compiles and runs as written (on virtual GPUs)")
    func lessonSixAsWritten() async throws {
        let final = Mutex<String>("")
        try await Parla.run(devices: .virtual(gpus: 4)) {
            let A = PArray([[1.0, 2.0], [3.0, 4.0]])
            let B = PArray(NDArray<Double>.random([2, 2]))
            let ts = TaskSpace("ts")

            spawn(ts[0], placement: gpu(0), input: [A]) {
                print(A)
            }
            spawn(ts[1], placement: gpu(1), output: [B]) {
                B.update(sqrt(NDArray<Double>.random([2, 2])))
            }
            spawn(ts[2], dependencies: [ts[0..<2]], placement: cpu, input: [A], inOut: [B]) {
                B[0, 1] = (B.array + A.array).sum()
            }
            spawn(ts[3], dependencies: [ts[2]], placement: gpu(1), inOut: [A[0]]) {
                A[0] = sqrt(A[0].array)
            }
            try await ts.wait()
            final.withLock { $0 = "\(A.array)" }
        }
        #expect(final.withLock { $0 } == "[[1.0, 1.4142135623730951], [3.0, 4.0]]")
    }
}

@Suite("explicit dependencies: races are reported")
struct ExplicitModeTests {
    func raceError(_ body: @escaping @Sendable () async throws -> Void) async -> ParlaError? {
        do {
            try await Parla.run(devices: .virtual(gpus: 2), dependencies: .explicit) { try await body() }
            return nil
        } catch let error as ParlaError {
            return error
        } catch {
            return nil
        }
    }

    @Test("two writers with no dependency between them race; the error names both tasks and the array")
    func unorderedWriters() async {
        let error = await raceError {
            let A = PArray(NDArray<Double>.zeros([4]))
            let T = TaskSpace("T")
            spawn(T[0], placement: gpu(0), inOut: [A[0..<2]]) {}
            spawn(T[1], placement: gpu(1), output: [A[1..<4]]) {}
        }
        guard case .race(let first, let second, let access) = error else {
            Issue.record("expected a race, got \(String(describing: error))")
            return
        }
        #expect(first == "T_0" && second == "T_1")
        #expect(access.contains("PArray #") && access.contains("[1..<4]"))
    }

    @Test("a race is reported even when the timing happened to order the tasks")
    func orderedByTiming() async {
        let error = await raceError {
            let A = PArray(NDArray<Double>.zeros([4]))
            let T = TaskSpace("T")
            spawn(T[0], placement: gpu(0), inOut: [A]) {}
            try await T[0].wait()
            spawn(T[1], placement: cpu, input: [A]) {}
        }
        if case .race = error {} else { Issue.record("expected a race, got \(String(describing: error))") }
    }

    @Test("dependencies (direct, transitive, spawned out of order) order conflicting tasks; readers never race")
    func orderedByDependencies() async {
        let error = await raceError {
            let A = PArray(NDArray<Double>.zeros([4]))
            let T = TaskSpace("T")
            spawn(T[1], dependencies: [T[0]], placement: gpu(1), inOut: [A]) {}  // T[0] spawned later
            spawn(T[0], placement: gpu(0), output: [A]) {}
            spawn(T[2], dependencies: [T[1]], placement: cpu) {}
            spawn(T[3], dependencies: [T[2]], placement: cpu, input: [A]) {}  // transitively after T[1]
            spawn(T[4], dependencies: [T[2]], placement: gpu(0), input: [A]) {}  // a reader beside T[3]
        }
        #expect(error == nil, "\(String(describing: error))")
    }

    @Test("accesses of an earlier run never race with a later run's")
    func earlierRunsDoNotRace() async throws {
        let A = PArray(NDArray<Double>.zeros([4]))
        // An inferred run leaves its accesses in the array's lists; a later explicit run's writer is
        // ordered after them by the end of that run, not racing with them.
        try await Parla.run(devices: .virtual(gpus: 2)) {
            for device in [gpu(0), gpu(1), cpu] { spawn(placement: device, input: [A]) {} }
        }
        let error = await raceError {
            spawn(placement: gpu(0), inOut: [A]) { A[0...] = A[0...].array + 1 }
        }
        #expect(error == nil, "\(String(describing: error))")
        #expect(A.array.elements == [1, 1, 1, 1])
    }
}

@Suite("PArray prefetch")
struct PArrayPrefetchTests {
    @Test("a task's input moves when its producer finishes, before the task's other dependencies do")
    func prefetchBeforeOtherDependencies() async throws {
        let seenByGate = Mutex<CoherenceState?>(nil)
        let sum = Mutex<Double>(0)
        try await Parla.run(devices: .virtual(gpus: 2)) {
            let A = PArray(NDArray<Double>.zeros([1000]))
            spawn(placement: gpu(0), output: [A]) { A.update(NDArray<Double>.ones([1000])) }
            // A dependency unrelated to A that finishes only once A has reached gpu(1) (waiting at most
            // a minute, so that a missing prefetch fails instead of hanging; a loaded 2-core machine
            // running the other suites at once may take a while to run the prefetch).
            let gate = spawn(placement: cpu) { () async in
                let deadline = ContinuousClock.now + .seconds(60)
                while ContinuousClock.now < deadline {
                    if A.state(on: gpu(1)) != .invalid { break }
                    await Task.yield()
                }
                seenByGate.withLock { $0 = A.state(on: gpu(1)) }
            }
            spawn(dependencies: [gate], placement: gpu(1), input: [A]) {
                let total: Double = A.array.sum().item()
                sum.withLock { $0 = total }
            }
        }
        #expect(seenByGate.withLock { $0 } == .shared)
        #expect(sum.withLock { $0 } == 1000)
    }
}

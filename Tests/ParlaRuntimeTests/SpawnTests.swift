import Synchronization
import Testing

@testable import Parla

@Suite("spawn, dependencies, awaiting", .serialized)
struct SpawnTests {
    @Test("task ids are named like Parla's and ranges give Cartesian products")
    func taskSpaceNames() {
        let T = TaskSpace("T")
        #expect(T[1].name == "T_1")
        #expect(T[1, 2].name == "T_1_2")
        #expect(T[1, 0, 0, 0, 1].name == "T_1_0_0_0_1")
        #expect(T[0..<2, 3].map(\.name) == ["T_0_3", "T_1_3"])
        #expect(T[0...1, 0..<2].map(\.name) == ["T_0_0", "T_0_1", "T_1_0", "T_1_1"])
        #expect(T[[4, 2], 1].map(\.name) == ["T_4_1", "T_2_1"])
        #expect(T[3] == T[3])
        #expect(T[3] != TaskSpace("T")[3])
        #expect(!T[9].isSpawned)
    }

    @Test("every task runs once and the run waits for all, nested ones included")
    func runWaitsForAll() async throws {
        let count = Atomic<Int>(0)
        try await Parla.run(devices: virtualDevices) {
            for _ in 0..<1000 {
                spawn {
                    count.add(1, ordering: .relaxed)
                    spawn { count.add(1, ordering: .relaxed) }
                }
            }
        }
        #expect(count.load(ordering: .relaxed) == 2000)
    }

    @Test("several runs follow one another")
    func severalRuns() async throws {
        for round in 0..<5 {
            let result = Mutex(0)
            try await Parla.run(devices: virtualDevices) {
                let task = spawn { round * 10 }
                let value = try await task.value
                result.withLock { $0 = value }
            }
            #expect(result.withLock { $0 } == round * 10)
        }
    }

    @Test("a chain runs in dependency order, also when spawned in reverse (out of order)")
    func chainOrder() async throws {
        let log = EventLog()
        try await Parla.run(devices: virtualDevices) {
            let T = TaskSpace("T")
            for i in stride(from: 49, through: 0, by: -1) {
                spawn(T[i], dependencies: i == 0 ? [] : [T[i - 1]]) { log.append("T\(i)") }
            }
        }
        #expect(log.all == (0..<50).map { "T\($0)" })
    }

    @Test("dependencies on sets, spaces and task handles")
    func dependencyKinds() async throws {
        let log = EventLog()
        try await Parla.run(devices: virtualDevices) {
            let A = TaskSpace("A")
            let B = TaskSpace("B")
            for i in 0..<4 { spawn(A[i]) { log.append("A\(i)") } }
            let handle = spawn(dependencies: [A[0..<2]]) { log.append("after A0 A1") }
            spawn(B[0], dependencies: [A]) { log.append("after all A") }
            spawn(B[1], dependencies: [handle, B[0]]) { log.append("last") }
        }
        let all = log.all
        for i in 0..<2 { #expect(all.firstIndex(of: "A\(i)")! < all.firstIndex(of: "after A0 A1")!) }
        for i in 0..<4 { #expect(all.firstIndex(of: "A\(i)")! < all.firstIndex(of: "after all A")!) }
        #expect(all.last == "last")
    }

    @Test("handles to finished tasks stay right after their records are reused for new tasks")
    func handlesOutliveRecordReuse() async throws {
        // Records of unnamed Void tasks go back to a cache when they finish, handles or not: each worker
        // spills batches of 128 once it holds 256, and spawn takes them back. With this many tasks some
        // worker finishes more than 256, so the second wave reuses records of the first.
        let count = 300 * Parla.workerThreads
        let firstWave = Mutex<[ParlaTask<Void>]>([])
        let reused = Mutex(0)
        let ran = Atomic<Int>(0)
        try await Parla.run(devices: virtualDevices) {
            let first = (0..<count).map { _ in spawn { _ = ran.add(1, ordering: .relaxed) } }
            for task in first { try await task.wait() }
            firstWave.withLock { $0 = first }
            // The second wave waits for a gate spawned only after the checks below: its tasks stay
            // pending meanwhile, in records that the first wave's handles still refer to.
            let gate = TaskSpace("gate")
            let records = Set(first.map { ObjectIdentifier($0.record) })
            let second = (0..<count).map { _ in spawn(dependencies: [gate[0]]) {} }
            reused.withLock { $0 = second.count { records.contains(ObjectIdentifier($0.record)) } }
            // Old handles: finished, waited for at once, and a dependency on them does not wait for the
            // pending tasks now in their records (it would wait for the gate, which would be a deadlock
            // the run reports).
            #expect(first.allSatisfy { $0.isCompleted })
            for task in first.prefix(100) { try await task.wait() }
            let after = spawn(dependencies: first) { _ = ran.add(1, ordering: .relaxed) }
            try await after.wait()
            #expect(!second.contains { $0.isCompleted })
            spawn(gate[0]) {}
        }
        #expect(reused.withLock { $0 } > 0)
        #expect(ran.load(ordering: .relaxed) == count + 1)
        // Names stay those of the spawn call that made the handle.
        let name = firstWave.withLock { $0[0].description }
        #expect(name.hasPrefix("(unnamed task spawned at ParlaRuntimeTests/SpawnTests.swift:"))
    }

    @Test("an array's list of recent accesses tells a reused record's new task from the one that accessed")
    func accessListsOutliveRecordReuse() async throws {
        let A = PArray(NDArray<Double>.zeros([8]))
        try await Parla.run(devices: virtualDevices) {
            let scope = try #require(RunScope.current)
            // A reader of A that finished (made by hand, as spawn would, so that the test decides when
            // its record is reused)...
            let reader = TypedTaskRecord<Void>.madeByHand(in: scope)
            scope.accounting.taskSpawned()
            _ = A.inferDependencies(
                of: reader,
                generation: 0,
                run: scope.serial,
                mode: .input,
                keepFinished: false,
                upcomingOrder: nil
            )
            reader.makeNeverReady()
            scope.accounting.taskBecameActive()
            reader.complete(failure: nil)
            // ...whose record now holds a new task that never runs (kept for reuse, as a cache would).
            reader.checkLifecycle(becoming: .cached)
            let generation = reader.reset(scope: scope, placement: .one(.cpu), origin: #fileID, originLine: #line)
            #expect(generation == 1)
            // A writer of A conflicts with the finished reader only: it runs. (Ordered after the
            // record's new task, it would never run; the run would report it.)
            let T = TaskSpace("T")
            spawn(T[0], placement: gpu(1), inOut: [A]) { A[0...] = A[0...].array + 2 }
            try await T[0].wait()
        }
        #expect(A.array.elements == Array(repeating: 2, count: 8))
    }

    @Test("task.value returns the body's result, also awaited from another task")
    func values() async throws {
        let seen = Mutex<[Int]>([])
        try await Parla.run(devices: virtualDevices) {
            let T = TaskSpace("T")
            let tasks = (0..<8).map { k in spawn(T[k]) { k * k } }
            let sum = spawn { () async throws -> Int in
                var total = 0
                for task in tasks { total += try await task.value }
                return total
            }
            let total = try await sum.value
            seen.withLock { $0.append(total) }
        }
        let expected = (0..<8).map { $0 * $0 }.reduce(0, +)
        #expect(seen.withLock { $0 } == [expected])
    }

    @Test("barriers on ids, sets and spaces, inside and outside tasks")
    func barriers() async throws {
        let log = EventLog()
        try await Parla.run(devices: virtualDevices) {
            let A = TaskSpace("A")
            let B = TaskSpace("B")
            spawn { () async throws in
                for i in 0..<4 { spawn(A[i]) { log.append("A\(i)") } }
                try await A.wait()
                log.append("after A")
                for i in 0..<4 { spawn(B[i]) { log.append("B\(i)") } }
                try await B[0].wait()
                log.append("after B0")
                try await B[0..<4].wait()
                log.append("after B")
            }
            try await B[3].wait()  // outside tasks, on an id spawned later by a task
            log.append("outside after B3")
        }
        let all = log.all
        for i in 0..<4 {
            #expect(all.firstIndex(of: "A\(i)")! < all.firstIndex(of: "after A")!)
            #expect(all.firstIndex(of: "B\(i)")! < all.firstIndex(of: "after B")!)
        }
        #expect(all.firstIndex(of: "B0")! < all.firstIndex(of: "after B0")!)
        #expect(all.firstIndex(of: "B3")! < all.firstIndex(of: "outside after B3")!)
    }

    @Test("a chain of 30,000 tasks that each await something completes (awaits free the workers)")
    func longAwaitingChain() async throws {
        let finished = Atomic<Int>(0)
        try await Parla.run(devices: virtualDevices) {
            let T = TaskSpace("T")
            for i in 0..<30_000 {
                spawn(T[i]) { () async throws in
                    if i > 0 { try await T[i - 1].wait() }
                    finished.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(finished.load(ordering: .relaxed) == 30_000)
    }

    @Test("Device.current is the task's device inside, cpu outside")
    func currentDevice() async throws {
        let seen = Mutex<[String]>([])
        #expect(Device.current == cpu)
        try await Parla.run(devices: virtualDevices) {
            #expect(Device.current == cpu)
            spawn(placement: gpu(2)) { seen.withLock { $0.append("sync \(Device.current)") } }
            spawn(placement: cpu) { seen.withLock { $0.append("sync \(Device.current)") } }
            spawn(placement: gpu(1)) { () async in
                await Task.yield()
                seen.withLock { $0.append("async \(Device.current)") }
            }
            let onAnyGPU = spawn(placement: gpu) { Device.current }
            let device = try await onAnyGPU.value
            #expect(device.kind == .gpu)
            let either = spawn(placement: [gpu(0), gpu(3)]) { Device.current }
            #expect([gpu(0), gpu(3)].contains(try await either.value))
        }
        #expect(Set(seen.withLock { $0 }) == ["sync gpu(2)", "sync cpu", "async gpu(1)"])
        #expect(Parla.devices.count >= 1)
    }
}

@Suite("documentation examples")
struct DocumentationExampleTests {
    @Test("the README's task example runs and its results are right")
    func readmeExample() async throws {
        let lines = Mutex<[String]>([])
        let result = Mutex<Double>(0)
        try await Parla.run(devices: .virtual(gpus: 2)) {
            let T = TaskSpace("T")
            for i in 0..<4 {
                spawn(T[i], dependencies: i == 0 ? [] : [T[i - 1]], placement: cpu) {
                    lines.withLock { $0.append("T[\(i)] on \(Device.current)") }
                }
            }
            let total = spawn(dependencies: [T[0..<4]], placement: gpu) { () -> Double in
                let x = NDArray<Double>.random([1000], seed: 1).to(Device.current)
                return sqrt(x).sum().item()
            }
            let value = try await total.value
            result.withLock { $0 = value }
            try await T.wait()
        }
        #expect(lines.withLock { $0 } == (0..<4).map { "T[\($0)] on cpu" })
        let expected = NDArray<Double>.random([1000], seed: 1).elements.map { $0.squareRoot() }.reduce(0, +)
        #expect(abs(result.withLock { $0 } - expected) < 1e-9)
    }
}

@Suite("task handle layout")
struct TaskHandleLayoutTests {
    @Test("a task handle fits an existential's inline buffer (an array of dependencies does not box it)")
    func handleSize() {
        #expect(MemoryLayout<ParlaTask<Void>>.size <= 3 * MemoryLayout<Int>.size)
    }

    /// A placement of a program's own: the even-numbered GPUs.
    struct EvenGPUs: Placement {
        func resolvedPlacement(gpuCount: Int) -> ResolvedPlacement {
            ResolvedPlacement(allowing: stride(from: 0, to: gpuCount, by: 2).map { gpu($0) })
        }
    }

    /// A dependency of a program's own: the tasks that wrote a block.
    struct Block: TaskDependency {
        var writers: [TaskID]
        func forEachTarget(_ visit: (TaskDependencyTarget) -> Void) {
            for id in writers { id.forEachTarget(visit) }
        }
    }

    @Test("a program's own placements and dependencies work as the built-in ones do")
    func ownPlacementsAndDependencies() async throws {
        let devices = Mutex<[Device]>([])
        let order = Mutex<[String]>([])
        try await Parla.run(devices: .virtual(gpus: 4)) {
            let W = TaskSpace("W")
            for _ in 0..<8 { spawn(placement: EvenGPUs()) { devices.withLock { $0.append(Device.current) } } }
            let block = Block(writers: [W[0], W[1]])
            // The reader is spawned before the writers: it waits for them all the same.
            spawn(W[2], dependencies: [block]) { order.withLock { $0.append("reader") } }
            for i in 0..<2 { spawn(W[i]) { order.withLock { $0.append("writer") } } }
        }
        #expect(Set(devices.withLock { $0 }).isSubset(of: [gpu(0), gpu(2)]))
        #expect(order.withLock { $0 } == ["writer", "writer", "reader"])
        #expect(ResolvedPlacement(allowing: [gpu(1), gpu(1)]).devices(gpuCount: 4) == [gpu(1)])
        #expect(ResolvedPlacement.anyDevice.devices(gpuCount: 2) == [gpu(0), gpu(1), cpu])
    }
}

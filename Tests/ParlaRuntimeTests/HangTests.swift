import Synchronization
import Testing

@testable import Parla

/// The cycle an error reports, or `nil` for another error.
private func reportedCycle(_ error: any Error) -> [String]? {
    guard case .unsatisfiableDependencies(_, let cycle, _) = error as? ParlaError else { return nil }
    return cycle
}

/// Counts by key, from any thread.
final class Counts: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    func add(_ key: String) { self.counts.withLock { $0[key, default: 0] += 1 } }
    subscript(key: String) -> Int { self.counts.withLock { $0[key, default: 0] } }
}

@Suite("awaits that can never end are reported, not hung", .serialized, .timeLimit(.minutes(1)))
struct HangTests {
    @Test("two asynchronous tasks awaiting each other: the await that closes the cycle throws")
    func mutualAwait() async throws {
        let caught = Mutex<[String: String]>([:])
        do {
            try await Parla.run(devices: virtualDevices) {
                let T = TaskSpace("T")
                for (me, other) in [(0, 1), (1, 0)] {
                    spawn(T[me]) { () async throws in
                        do { try await T[other].wait() } catch {
                            caught.withLock { $0["T_\(me)"] = "\(error)" }
                            throw error
                        }
                    }
                }
            }
            Issue.record("the run should have failed")
        } catch {
            #expect(Set(reportedCycle(error) ?? []) == ["T_0", "T_1"], "\(error)")
        }
        // One of them closed the cycle; the other then saw its dependency fail.
        #expect(caught.withLock { $0.values.contains { $0.contains("dependency cycle") } })
    }

    @Test("a task awaiting itself fails at once, naming itself")
    func selfAwait() async throws {
        do {
            try await Parla.run(devices: virtualDevices) {
                let T = TaskSpace("T")
                spawn(T[0]) { () async throws in try await T[0].wait() }
            }
            Issue.record("the run should have failed")
        } catch {
            #expect(reportedCycle(error) == ["T_0"])
            #expect("\(error)".contains("dependency cycle: T_0 -> T_0"))
        }
    }

    @Test("a task awaiting a task that depends on it: found when nothing can progress")
    func awaitThroughDependency() async throws {
        do {
            try await Parla.run(devices: virtualDevices) {
                let T = TaskSpace("T")
                spawn(T[0]) { () async throws in try await T[1].wait() }
                spawn(T[1], dependencies: [T[0]]) {}
            }
            Issue.record("the run should have failed")
        } catch {
            #expect(Set(reportedCycle(error) ?? []) == ["T_0", "T_1"], "\(error)")
        }
    }

    @Test("the body awaiting a task stuck in an await cycle wakes with the error")
    func bodyAwaitsStuckTask() async throws {
        let bodyError = Mutex<String?>(nil)
        await #expect(throws: ParlaError.self) {
            try await Parla.run(devices: virtualDevices) {
                let T = TaskSpace("T")
                spawn(T[0]) { () async throws in try await T[1].wait() }
                spawn(T[1], dependencies: [T[0]]) {}
                do { try await T[1].wait() } catch { bodyError.withLock { $0 = "\(error)" } }
            }
        }
        #expect(bodyError.withLock { $0 }?.contains("can never") == true)
    }

    @Test("awaiting an id outside every run fails when no run can spawn it")
    func outsideWithoutRun() async throws {
        // (Other tests' runs may be in progress: then the wait ends when the last of them does.)
        do {
            try await TaskSpace("Q")[1].wait()
            Issue.record("the wait should fail")
        } catch {
            guard case .neverSpawned(let id, let reason) = error as? ParlaError else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(id == "Q_1" && reason.hasPrefix("it is awaited outside Parla.run, and "))
        }
    }

    @Test(
        "awaiting an id outside runs: a run in progress that spawns it ends the wait; one that ends without spawning it fails it"
    )
    func outsideDuringRun() async throws {
        let Q = TaskSpace("Q")
        let started = Gate()
        let release = Gate()
        async let run: Void = Parla.run(devices: virtualDevices) {
            started.open()
            await release.wait()
            spawn(Q[0]) {}
        }
        await started.wait()
        async let spawnedWait: Void = Q[0].wait()
        async let neverWait: Void = Q[1].wait()
        // The run goes on once both waits are registered.
        for id in [Q[0], Q[1]] {
            while id.slot.state.withLock({ $0.spawnWaiters.isEmpty }) { await Task.yield() }
        }
        release.open()
        try await run
        try await spawnedWait
        do {
            try await neverWait
            Issue.record("the wait for an id never spawned should fail")
        } catch {
            #expect("\(error)".contains("the runs in progress ended without spawning it"), "\(error)")
        }
    }

    @Test("a run started from a detached task inside a run's body runs at once")
    func nestedDetachedRun() async throws {
        let counts = Counts()
        try await Parla.run(devices: virtualDevices) {
            spawn { counts.add("outer") }
            try await Task.detached { try await Self.hundredTasks(on: 1, counting: counts, as: "inner") }.value
            spawn { counts.add("outer") }
            #expect(Parla.devices.count == 5)
        }
        #expect(counts["inner"] == 100 && counts["outer"] == 2)
    }

    @Test("runs in progress at once keep their own tasks and devices")
    func concurrentRuns() async throws {
        let counts = Counts()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for run in 1...4 {
                group.addTask { try await Self.hundredTasks(on: run, counting: counts, as: "\(run)") }
            }
            try await group.waitForAll()
        }
        #expect((1...4).map { counts["\($0)"] } == [100, 100, 100, 100])
    }

    /// A run on `gpus` virtual GPUs of 100 tasks, half asynchronous, each checking the run's devices.
    @Sendable private static func hundredTasks(on gpus: Int, counting counts: Counts, as key: String) async throws {
        try await Parla.run(devices: .virtual(gpus: gpus)) {
            #expect(Parla.devices.count == gpus + 1)
            for _ in 0..<50 {
                spawn { () async in
                    #expect(Parla.devices.count == gpus + 1)
                    counts.add(key)
                }
                spawn(placement: gpu(gpus - 1)) {
                    #expect(Parla.devices.count == gpus + 1)
                    counts.add(key)
                }
            }
        }
    }

    @Test("a PArray used by a task of another run in progress fails the later task, naming both")
    func arraySharedAcrossRuns() async throws {
        let A = PArray(NDArray<Double>.zeros([4]))
        let writing = Gate()
        let finish = Gate()
        async let first: Void = Parla.run(devices: virtualDevices) {
            spawn(TaskSpace("R")[0], inOut: [A]) {
                writing.open()
                finish.waitUntilOpen()
                A[0] = 1
            }
        }
        await writing.wait()
        do {
            try await Parla.run(devices: virtualDevices) {
                spawn(TaskSpace("S")[0], input: [A]) { _ = A[0] }
            }
            Issue.record("the second run should have failed")
        } catch let error as ParlaError {
            guard case .sharedAcrossRuns(let task, _, let other) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(task == "S_0" && other == "R_0")
        }
        finish.open()
        try await first
        #expect(A.array[0] == 1)
    }

    @Test("a report without waiting tasks does not print an empty list")
    func reportWithoutWaiting() {
        let error = ParlaError.unsatisfiableDependencies(missing: ["W_3"], cycle: [], waiting: [])
        #expect(error.description == "an await can never end; never spawned: W_3")
    }
}

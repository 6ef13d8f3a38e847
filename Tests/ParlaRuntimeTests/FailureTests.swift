import Synchronization
import Testing

@testable import Parla

struct Boom: Error, Equatable {
    let code: Int
}

@Suite("failures and unsatisfiable tasks", .serialized)
struct FailureTests {
    @Test("a failing task fails its dependents, which do not run; run rethrows the first failure")
    func failurePropagates() async throws {
        let ran = Mutex<[String]>([])
        let dependentError = Mutex<(any Error)?>(nil)
        await #expect(throws: Boom(code: 7)) {
            try await Parla.run(devices: virtualDevices) {
                let T = TaskSpace("T")
                spawn(T[0]) { throw Boom(code: 7) }
                let child = spawn(T[1], dependencies: [T[0]]) { ran.withLock { $0.append("T1") } }
                spawn(T[2], dependencies: [T[1]]) { ran.withLock { $0.append("T2") } }
                spawn(T[3]) { ran.withLock { $0.append("T3") } }
                do { try await child.wait() } catch { dependentError.withLock { $0 = error } }
            }
        }
        #expect(ran.withLock { $0 } == ["T3"])
        let error = dependentError.withLock { $0 } as? ParlaError
        #expect(error == .dependencyFailed(task: "T_1", dependency: "T_0"))
        #expect(error?.description == "task T_1 did not run because its dependency T_0 failed")
    }

    @Test("spawning an id twice fails the second task, naming the id")
    func duplicateSpawn() async throws {
        let runs = Atomic<Int>(0)
        await #expect(throws: ParlaError.duplicateTaskID("D_0")) {
            try await Parla.run(devices: virtualDevices) {
                let D = TaskSpace("D")
                spawn(D[0]) { runs.add(1, ordering: .relaxed) }
                spawn(D[0]) { runs.add(1, ordering: .relaxed) }
            }
        }
        #expect(runs.load(ordering: .relaxed) == 1)
    }

    @Test("a placement on a device the run does not have fails the task, naming the device")
    func missingDevice() async throws {
        await #expect(throws: ParlaError.noSuchDevice(task: "P_0", device: gpu(7), available: [gpu(0), gpu(1), cpu])) {
            try await Parla.run(devices: .virtual(gpus: 2)) {
                let P = TaskSpace("P")
                spawn(P[0], placement: gpu(7)) {}
            }
        }
    }

    @Test("a dependency that is never spawned ends the run with an error listing it")
    func missingDependency() async throws {
        do {
            try await Parla.run(devices: virtualDevices) {
                let T = TaskSpace("T")
                spawn(T[0]) {}
                spawn(T[1], dependencies: [T[0], T[5]]) {}
                spawn(T[2], dependencies: [T[1]]) {}
            }
            Issue.record("the run should have failed")
        } catch let error as ParlaError {
            guard case .unsatisfiableDependencies(let missing, let cycle, let waiting) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(missing == ["T_5"])
            #expect(cycle.isEmpty)
            #expect(waiting.contains("T_1"))
            #expect(error.description.contains("never spawned: T_5"))
        }
    }

    @Test("awaiting an id that is never spawned ends the run with an error listing it")
    func awaitingMissing() async throws {
        await #expect(throws: ParlaError.self) {
            try await Parla.run(devices: virtualDevices) {
                let W = TaskSpace("W")
                try await W[3].wait()
            }
        }
    }

    @Test("a dependency cycle ends the run with an error listing the cycle")
    func cycle() async throws {
        do {
            try await Parla.run(devices: virtualDevices) {
                let C = TaskSpace("C")
                spawn(C[0], dependencies: [C[2]]) {}
                spawn(C[1], dependencies: [C[0]]) {}
                spawn(C[2], dependencies: [C[1]]) {}
            }
            Issue.record("the run should have failed")
        } catch let error as ParlaError {
            guard case .unsatisfiableDependencies(let missing, let cycle, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(missing.isEmpty)
            #expect(Set(cycle) == ["C_0", "C_1", "C_2"])
            #expect(error.description.contains("dependency cycle"))
        }
    }

    @Test("resources that no device has fail the task at spawn")
    func unplaceable() async throws {
        await #expect(throws: ParlaError.self) {
            try await Parla.run(devices: .virtual(gpus: 1, memory: 1000)) {
                spawn(placement: gpu(0), memory: 5000) {}
            }
        }
        await #expect(throws: ParlaError.self) {
            try await Parla.run(devices: virtualDevices) {
                spawn(vcus: 2) {}
            }
        }
    }
}

@Suite("placement resources", .serialized)
struct ResourceTests {
    @Test("tasks whose vcus add up to at most 1 share a device; more never run together", arguments: [0.5, 1.0, 0.34])
    func vcus(share: Double) async throws {
        let gauge = ConcurrencyGauge()
        try await Parla.run(devices: virtualDevices) {
            for _ in 0..<40 {
                spawn(placement: gpu(1), vcus: share) {
                    gauge.enter()
                    for _ in 0..<2000 { _ = Device.current }
                    gauge.leave()
                }
            }
        }
        #expect(gauge.peak <= Int((1 / share).rounded(.down)))
        #expect(gauge.peak >= 1)
    }

    @Test("memory reservations never exceed a device's capacity")
    func memory() async throws {
        let gauge = ConcurrencyGauge()
        try await Parla.run(devices: .virtual(gpus: 2, memory: 1000)) {
            for _ in 0..<30 {
                spawn(placement: gpu(0), memory: 600) {
                    gauge.enter()
                    for _ in 0..<2000 { _ = Device.current }
                    gauge.leave()
                }
            }
        }
        #expect(gauge.peak == 1)
    }
}

@Suite("misuse stops with a message")
struct MisuseTests {
    @Test("spawn outside Parla.run stops, saying where")
    func spawnOutsideRun() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            spawn {}
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("is outside Parla.run"))
    }

    @Test("a negative vcus stops, naming the task")
    func negativeVcus() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            try? await Parla.run(devices: .virtual(gpus: 1)) {
                spawn(TaskSpace("V")[0], vcus: -1) {}
            }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("vcus cannot be negative") && text.contains("V_0"), "\(text.prefix(800))")
    }
}

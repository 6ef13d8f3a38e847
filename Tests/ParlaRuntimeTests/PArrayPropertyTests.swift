import ParlaChecks
import Testing

@testable import Parla

@Suite("PArray: random programs against a sequential model")
struct PArrayPropertyTests {
    @Test(
        "random tasks with overlapping regions on 1-4 virtual GPUs, inferred or explicit dependencies, see exactly the sequential values",
        arguments: [(0, DependencyMode.inferred), (1, .inferred), (2, .explicit), (3, .explicit)]
    )
    func randomPrograms(batch: Int, dependencies: DependencyMode) async throws {
        for program in 0..<300 {
            let seed = UInt64(7_000_000 + batch * 1000 + program)
            let outcome = try await RandomPArrayProgram(seed: seed, dependencies: dependencies).run(
                gpuCounts: 1...4,
                on: { .virtual(gpus: $0) }
            )
            #expect(outcome.tasks >= 3)
            #expect(outcome.mismatches.isEmpty, "\(outcome.mismatches)")
            if !outcome.mismatches.isEmpty { return }
        }
    }
}

@Suite("PArray: random programs on simulated CUDA GPUs")
struct SimulatedCUDAProgramTests {
    @Test(
        "random programs on 1-4 simulated CUDA GPUs (the CUDA backend's own copies, streams and kernels) see exactly the sequential values",
        arguments: [DependencyMode.inferred, .explicit]
    )
    func randomPrograms(dependencies: DependencyMode) async throws {
        for program in 0..<150 {
            let seed = UInt64(9_000_000 + program * 2 + (dependencies == .explicit ? 1 : 0))
            let outcome = try await RandomPArrayProgram(seed: seed, dependencies: dependencies).run(
                gpuCounts: 1...4,
                on: { .cudaSimulated(gpus: $0) }
            )
            #expect(outcome.mismatches.isEmpty, "\(outcome.mismatches)")
            if !outcome.mismatches.isEmpty { return }
        }
    }
}

@Suite("PArray: random programs with injected device faults")
struct FaultInjectionTests {
    @Test(
        "with allocations, copies and launches failing at random, every task completes right or fails with a ParlaError, nothing hangs, and the array ends as the completed writes left it",
        arguments: [
            (DeviceSelection.virtual(gpus: 3), 0.03, 200),
            (.cudaSimulated(gpus: 3), 0.02, 100),
        ]
    )
    func faultyPrograms(devices: DeviceSelection, rate: Double, programs: Int) async throws {
        var injected = 0
        var failedTasks = 0
        for program in 0..<programs {
            let seed = UInt64(11_000_000 + program)
            let faulty = try #require(devices.withRandomFaults(seed: seed, rate: rate))
            let watchdog = Watchdog(seconds: 120) { "fault-injection program \(seed) on \(faulty) hangs" }
            let outcome = try await RandomPArrayProgram(seed: seed, dependencies: seed % 2 == 0 ? .inferred : .explicit)
                .run(gpuCounts: 1...3, faultsExpected: true, on: { _ in faulty })
            watchdog.stop()
            injected += outcome.faultsInjected
            failedTasks += outcome.failedTasks
            #expect(outcome.mismatches.isEmpty, "\(outcome.mismatches)")
            if !outcome.mismatches.isEmpty { return }
        }
        // The faults happened, and made tasks fail.
        #expect(injected > programs / 10)
        #expect(failedTasks >= injected / 2)
    }
}

import ParlaChecks
import Testing

@testable import Parla

@Suite("Eviction: random programs on GPUs with room for about three arrays, against a sequential model")
struct EvictionPropertyTests {
    @Test(
        "random tasks on 4-6 arrays, each declaring 1-3 of them on a GPU, the CPU, any GPU or either of two GPUs, on 2-4 virtual GPUs that hold about three arrays' buffers: no task fails, every read and every array's end agree with the sequential program, nothing hangs",
        arguments: [(0, DependencyMode.inferred), (1, .inferred), (2, .explicit), (3, .explicit)]
    )
    func randomPrograms(batch: Int, dependencies: DependencyMode) async throws {
        for program in 0..<100 {
            let seed = UInt64(13_000_000 + batch * 1000 + program)
            let watchdog = Watchdog(seconds: 60) {
                "eviction program \(seed) (\(dependencies) dependencies) on small virtual GPUs hangs"
            }
            let outcome = try await RandomEvictionProgram(seed: seed, dependencies: dependencies).run(
                gpuCounts: 2...4,
                on: { .virtual(gpus: $0, memory: $1) }
            )
            watchdog.stop()
            // The arrays do not all fit on one GPU, and no task fails.
            #expect(outcome.arrays * outcome.arrayBytes > outcome.memoryPerGPU)
            #expect(outcome.tasks >= 5)
            #expect(outcome.failedTasks == 0)
            #expect(outcome.mismatches.isEmpty, "\(outcome.mismatches.prefix(5))")
            if !outcome.mismatches.isEmpty { return }
        }
    }
}

@Suite("Eviction: the same random programs without a memory limit")
struct EvictionProgramBaselineTests {
    @Test(
        "the eviction programs on virtual GPUs of unbounded memory agree with the sequential program (the check itself is right)",
        arguments: [DependencyMode.inferred, .explicit]
    )
    func unboundedPrograms(dependencies: DependencyMode) async throws {
        for program in 0..<50 {
            let seed = UInt64(13_000_000 + (dependencies == .inferred ? 0 : 2000) + program)
            let watchdog = Watchdog(seconds: 60) {
                "eviction program \(seed) (\(dependencies)) on unbounded GPUs hangs"
            }
            let outcome = try await RandomEvictionProgram(seed: seed, dependencies: dependencies).run(
                gpuCounts: 2...4,
                on: { gpus, _ in .virtual(gpus: gpus) }
            )
            watchdog.stop()
            #expect(outcome.mismatches.isEmpty, "\(outcome.mismatches.prefix(5))")
            if !outcome.mismatches.isEmpty { return }
        }
    }
}

import ParlaChecks
import Synchronization
import Testing

@testable import Parla

/// Per-task start and finish stamps, written by the tasks (each to its own index).
final class Stamps: @unchecked Sendable {
    // @unchecked Sendable: each task writes only its own indices, and the test reads them after the
    // run, which has waited for every task.
    let start: UnsafeMutableBufferPointer<Int>
    let finish: UnsafeMutableBufferPointer<Int>
    let clock = Atomic<Int>(0)

    init(count: Int) {
        self.start = .allocate(capacity: count)
        self.finish = .allocate(capacity: count)
        self.start.initialize(repeating: -1)
        self.finish.initialize(repeating: -1)
    }

    deinit {
        self.start.deallocate()
        self.finish.deallocate()
    }

    func tick() -> Int { self.clock.add(1, ordering: .sequentiallyConsistent).oldValue }
}

@Suite("stress")
struct StressTests {
    @Test("200,000 tasks with random dependencies, spawned in random order, finish in dependency order")
    func randomGraph() async throws {
        let count = 200_000
        var random = SplitMix(state: 20_261_125)
        // Each task depends on up to 3 earlier tasks (a DAG), often close by, sometimes far back.
        var dependencies: [[Int]] = Array(repeating: [], count: count)
        for i in 1..<count {
            let n = Int.random(in: 0...3, using: &random)
            for _ in 0..<n {
                let back =
                    Bool.random(using: &random)
                    ? Int.random(in: 1...min(i, 16), using: &random) : Int.random(in: 1...i, using: &random)
                dependencies[i].append(i - back)
            }
        }
        // Spawn order: blocks of ids in shuffled order, so that many dependencies are spawned later.
        var order = Array(0..<count)
        for block in stride(from: 0, to: count, by: 1000) {
            order[block..<min(block + 1000, count)].shuffle(using: &random)
        }
        let stamps = Stamps(count: count)
        let deps = dependencies
        try await Parla.run(devices: .virtual(gpus: 2)) {
            let T = TaskSpace("T")
            for i in order {
                spawn(T[i], dependencies: deps[i].map { T[$0] as any TaskDependency }) {
                    stamps.start[i] = stamps.tick()
                    stamps.finish[i] = stamps.tick()
                }
            }
        }
        var violations = 0
        for i in 0..<count {
            #expect(stamps.finish[i] >= 0, "task \(i) did not run")
            for j in dependencies[i] where stamps.finish[j] >= stamps.start[i] {
                violations += 1
            }
        }
        #expect(violations == 0)
    }
}

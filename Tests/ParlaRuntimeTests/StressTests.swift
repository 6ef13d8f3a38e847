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

@Suite("stress: runs at once, cancellation, named tasks", .timeLimit(.minutes(3)))
struct RunStressTests {
    /// One run of 10,000 tasks: chains of named tasks, independent unnamed ones, some asynchronous,
    /// writing slices of an array; returns whether the run's task space and array were freed after it.
    @Sendable private static func tenThousandTasks(thread: Int, counted: Counts) async throws -> Bool {
        weak var space: TaskSpace? = nil
        weak var array: PArray<Double>? = nil
        try await Parla.run(devices: .virtual(gpus: 2)) {
            let A = PArray(NDArray<Double>.zeros([100]))
            let T = TaskSpace("T\(thread)")
            (space, array) = (T, A)
            for i in 0..<10_000 {
                switch i % 4 {
                case 0:
                    spawn(T[i], dependencies: i >= 4 ? [T[i - 4]] : []) { counted.add("\(thread)") }
                case 1:
                    spawn { counted.add("\(thread)") }
                case 2:
                    spawn(placement: gpu(i % 3 == 0 ? 0 : 1), inOut: [A[i % 100]]) {
                        A[i % 100] = NDArray(Double(i))
                        counted.add("\(thread)")
                    }
                default:
                    spawn { () async in counted.add("\(thread)") }
                }
            }
        }
        return space == nil && array == nil
    }

    @Test("8 threads each running Parla.run with 10,000 tasks at once: every task runs, nothing hangs, nothing is kept")
    func eightRunsAtOnce() async throws {
        let counted = Counts()
        let freed = try await withThrowingTaskGroup(of: Bool.self) { group in
            for thread in 0..<8 {
                group.addTask { try await Self.tenThousandTasks(thread: thread, counted: counted) }
            }
            var freed = 0
            for try await wasFreed in group where wasFreed { freed += 1 }
            return freed
        }
        #expect((0..<8).map { counted["\($0)"] } == Array(repeating: 10_000, count: 8))
        #expect(freed == 8)
    }

    @Test(
        "cancelling the Swift task that awaits a run: the spawned tasks still finish, then the run throws CancellationError"
    )
    func cancellation() async throws {
        let release = Gate()
        let started = Gate()
        let ran = Atomic<Int>(0)
        let caller = Task {
            try await Parla.run(devices: .virtual(gpus: 1)) {
                for _ in 0..<1000 { spawn { ran.add(1, ordering: .relaxed) } }
                spawn {
                    started.open()
                    release.waitUntilOpen()
                    ran.add(1, ordering: .relaxed)
                }
            }
        }
        await started.wait()
        caller.cancel()
        release.open()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(ran.load(ordering: .relaxed) == 1001)
    }

    @Test("100,000 named tasks: each id keeps its task's outcome, not its record")
    func namedTasksLetGoOfRecords() async throws {
        let T = TaskSpace("N")
        await #expect(throws: Boom(code: 1)) {
            try await Parla.run(devices: .virtual(gpus: 1)) {
                for i in 0..<100_000 { spawn(T[i]) { if i == 99_999 { throw Boom(code: 1) } } }
            }
        }
        for i in [0, 500, 99_998, 99_999] {
            #expect(T[i].slot.record == nil)
            #expect(T[i].isSpawned)
        }
        try await T[5].wait()
        await #expect(throws: Boom(code: 1)) { try await T[99_999].wait() }
    }
}

@Suite("task spaces keep finished ids compactly")
struct TaskSpaceCompactionTests {
    @Test("finished ids nothing refers to keep only their outcome; they still wait, fail and count as spawned")
    func finishedIdsAreCompact() async throws {
        let T = TaskSpace("C")
        let S = TaskSpace("S")
        let kept = T[7]  // held: keeps its entry object
        try await Parla.run(devices: .virtual(gpus: 1)) {
            for i in 0..<50_000 { spawn(T[i]) {} }
            for i in 0..<20_000 { spawn(S[i, 1]) {} }  // two-index ids: the dictionary
        }
        let objects = T.entries.withLock { entries in
            entries.dense.reduce(0) { count, entry in
                if case .slot = entry { return count + 1 }
                return count
            }
        }
        #expect(objects < 8192, "\(objects) entry objects kept for 50,000 finished ids")
        #expect(kept.slot === T[7].slot)
        #expect(T.count == 50_000 && S.count == 20_000)
        #expect(T[123].isSpawned && S[19_999, 1].isSpawned && !T[50_000].isSpawned)
        try await T[0..<50_000].wait()
        try await S.wait()
        try await Parla.run(devices: .virtual(gpus: 1)) {
            // A finished, compacted id is a dependency already satisfied.
            try await spawn(dependencies: [T[42], S[3, 1]]) {}.wait()
        }
    }
}

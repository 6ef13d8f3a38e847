import Parla
import Synchronization

/// A random program of tasks on one `PArray`, run by the runtime and compared with the same program
/// run sequentially on a plain array: each task reads or writes a random region (overlapping ones
/// included) on a random device, in a random mode; a reading task checks what it sees, and the array
/// is compared whole at the end.
///
/// The tests run thousands of these on virtual GPUs; `parla check-programs` runs them on the
/// machine's real GPUs.
public struct RandomPArrayProgram: Sendable {
    /// The seed the program is generated from (it replays the program).
    public let seed: UInt64
    /// How tasks are ordered: by their inferred conflicts, or by explicit dependencies that the
    /// program adds exactly where the sequential order requires one.
    public let dependencies: DependencyMode

    /// The program of `seed`.
    public init(seed: UInt64, dependencies: DependencyMode) {
        self.seed = seed
        self.dependencies = dependencies
    }

    /// What a run found.
    public struct Outcome: Sendable {
        /// The number of GPUs the program used.
        public var gpus: Int
        /// The tasks it spawned.
        public var tasks: Int
        /// Every disagreement with the sequential program, described (empty: it agreed).
        public var mismatches: [String]
    }

    /// Generates the program and runs it on the devices `selection(gpus)` makes, with a number of GPUs
    /// drawn from `gpuCounts`.
    public func run(
        gpuCounts: ClosedRange<Int>,
        on selection: @Sendable (Int) -> DeviceSelection
    ) async throws -> Outcome {
        var random = ProgramRandom(seed: self.seed)
        let rank = random.int(1...2)
        let shape = (0..<rank).map { _ in random.int(1...4) }
        let gpus = random.int(gpuCounts)
        let devices = (0..<gpus).map { gpu($0) } + [cpu]
        let count = shape.reduce(1, *)
        let strides = KernelLayout.contiguousStrides(for: shape)
        var model = (0..<count).map { $0 }
        var nextValue = 1000
        let mismatches = Mutex<[String]>([])
        let seed = self.seed
        let dependencies = self.dependencies
        var taskCount = 0

        let A = PArray(NDArray<Int>(Array(0..<count), shape: shape))
        try await Parla.run(devices: selection(gpus), dependencies: dependencies) {
            // For explicit dependencies: every earlier task whose access conflicts with a new one.
            var earlier: [(task: ParlaTask<Void>, box: Box, mode: AccessMode)] = []
            for step in 0..<random.int(3...25) {
                let box = random.box(in: shape)
                let device = devices[random.int(0...(devices.count - 1))]
                let mode: AccessMode = [.input, .output, .inOut][random.int(0...2)]
                let integerAxes = (0..<rank).map { box.upper[$0] - box.lower[$0] == 1 && random.chance(0.5) }
                let components = Self.components(box, integerAxes: integerAxes)
                let region = A.region(components)
                // The sequential program's values for this region, and what this task writes.
                var offsets: [Int] = []
                func walk(_ axis: Int, _ offset: Int) {
                    if axis == rank {
                        offsets.append(offset)
                        return
                    }
                    for i in box.lower[axis]..<box.upper[axis] { walk(axis + 1, offset + i * strides[axis]) }
                }
                walk(0, 0)
                let expected = offsets.map { model[$0] }
                let written = offsets.indices.map { nextValue + $0 }
                if mode.writes {
                    for (i, offset) in offsets.enumerated() { model[offset] = written[i] }
                    nextValue += offsets.count
                }
                let viewShape = (0..<rank).filter { !integerAxes[$0] }.map { box.upper[$0] - box.lower[$0] }
                let label = "seed \(seed) step \(step): \(mode) \(box) on \(device)"
                let body: @Sendable () -> Void = {
                    if mode.reads {
                        let seen = region.array.to(cpu).elements
                        if seen != expected {
                            mismatches.withLock { $0.append("\(label) read \(seen), expected \(expected)") }
                        }
                    }
                    if mode.writes {
                        A[indices: components] = NDArray(written, shape: viewShape).to(device)
                    }
                }
                let needed: [any TaskDependency] =
                    dependencies == .explicit
                    ? earlier.filter { ($0.mode.writes || mode.writes) && $0.box.intersection(box) != nil }.map {
                        $0.task
                    }
                    : []
                let task: ParlaTask<Void>
                switch mode {
                case .input: task = spawn(dependencies: needed, placement: device, input: [region], body)
                case .output: task = spawn(dependencies: needed, placement: device, output: [region], body)
                case .inOut: task = spawn(dependencies: needed, placement: device, inOut: [region], body)
                }
                earlier.append((task, box, mode))
                taskCount += 1
            }
        }
        // After the run, the whole array as a task on the CPU reads it is the sequential program's.
        let final = Mutex<[Int]>([])
        try await Parla.run(devices: selection(gpus)) {
            spawn(placement: cpu, input: [A]) { final.withLock { $0 = A.array.elements } }
        }
        let finalValues = final.withLock { $0 }
        if finalValues != model {
            mismatches.withLock { $0.append("seed \(seed): final \(finalValues), expected \(model)") }
        }
        return Outcome(gpus: gpus, tasks: taskCount, mismatches: mismatches.withLock { $0 })
    }

    /// Components selecting `box` (ranges, or an integer for some extent-1 axes).
    static func components(_ box: Box, integerAxes: [Bool]) -> [any NDIndex] {
        (0..<box.rank).map { axis -> any NDIndex in
            integerAxes[axis] ? box.lower[axis] : box.lower[axis]..<box.upper[axis]
        }
    }
}

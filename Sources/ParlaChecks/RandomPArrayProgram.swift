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
        /// The tasks that failed (each with a ``ParlaError``; only injected faults make tasks fail).
        public var failedTasks: Int = 0
        /// The device calls that a fault plan made fail.
        public var faultsInjected: Int = 0
        /// Every disagreement with the sequential program, described (empty: it agreed).
        public var mismatches: [String]
    }

    /// One task of the program: where it reads or writes, what it writes, and what it saw.
    private struct Step: Sendable {
        var mode: AccessMode
        var offsets: [Int]
        var written: [Int]
        var label: String
        var task: ParlaTask<Void>
    }

    /// Generates the program and runs it on the devices `selection(gpus)` makes, with a number of GPUs
    /// drawn from `gpuCounts`, then checks it against the sequential program.
    ///
    /// With `faultsExpected` (devices with a ``DeviceFaults`` plan), tasks may fail; each must fail with
    /// a ``ParlaError``, and the model keeps only the writes of the tasks that completed: every task that
    /// completed must have read exactly the model's values, and the array must end as the model does.
    /// Without, any failure is a mismatch.
    public func run(
        gpuCounts: ClosedRange<Int>,
        faultsExpected: Bool = false,
        on selection: @Sendable (Int) -> DeviceSelection
    ) async throws -> Outcome {
        var random = ProgramRandom(seed: self.seed)
        let rank = random.int(1...2)
        let shape = (0..<rank).map { _ in random.int(1...4) }
        let gpus = random.int(gpuCounts)
        let devices = (0..<gpus).map { gpu($0) } + [cpu]
        let count = shape.reduce(1, *)
        let strides = KernelLayout.contiguousStrides(for: shape)
        let seen = Mutex<[Int: [Int]]>([:])
        let seed = self.seed
        let dependencies = self.dependencies
        var steps: [Step] = []
        var nextValue = 1000
        let registry = Mutex<DeviceRegistry?>(nil)

        let A = PArray(NDArray<Int>(Array(0..<count), shape: shape))
        do {
            try await Parla.run(devices: selection(gpus), dependencies: dependencies) {
                registry.withLock { $0 = DeviceRegistry.current }
                for step in 0..<random.int(3...25) {
                    let box = random.box(in: shape)
                    let device = devices[random.int(0...(devices.count - 1))]
                    let mode: AccessMode = [.input, .output, .inOut][random.int(0...2)]
                    let integerAxes = (0..<rank).map { box.upper[$0] - box.lower[$0] == 1 && random.chance(0.5) }
                    let components = Self.components(box, integerAxes: integerAxes)
                    // The whole array is sometimes declared as itself, sometimes as a region covering it
                    // (the runtime keeps the two kinds of access apart).
                    let declaresWhole = box == Box(shape: shape) && !integerAxes.contains(true) && random.chance(0.5)
                    let region = declaresWhole ? A : A.region(components)
                    let offsets = Self.offsets(of: box, strides: strides)
                    let written = mode.writes ? offsets.indices.map { nextValue + $0 } : []
                    nextValue += written.count
                    let viewShape = (0..<rank).filter { !integerAxes[$0] }.map { box.upper[$0] - box.lower[$0] }
                    let body: @Sendable () -> Void = {
                        if mode.reads {
                            let values = region.array.to(cpu).elements
                            seen.withLock { $0[step] = values }
                        }
                        if mode.writes {
                            A[indices: components] = NDArray(written, shape: viewShape).to(device)
                        }
                    }
                    // Explicit dependencies: every earlier task whose access conflicts with this one.
                    let needed: [any TaskDependency] =
                        dependencies == .explicit
                        ? steps.indices.filter { earlier in
                            (steps[earlier].mode.writes || mode.writes)
                                && !Set(steps[earlier].offsets).isDisjoint(with: offsets)
                        }.map { steps[$0].task }
                        : []
                    let task: ParlaTask<Void>
                    switch mode {
                    case .input: task = spawn(dependencies: needed, placement: device, input: [region], body)
                    case .output: task = spawn(dependencies: needed, placement: device, output: [region], body)
                    case .inOut: task = spawn(dependencies: needed, placement: device, inOut: [region], body)
                    }
                    let label = "seed \(seed) step \(step): \(mode) \(box) on \(device)"
                    steps.append(Step(mode: mode, offsets: offsets, written: written, label: label, task: task))
                }
            }
        } catch {
            if !faultsExpected { throw error }
        }

        // The sequential program, keeping the writes of the tasks that completed.
        var mismatches: [String] = []
        var model = Array(0..<count)
        var failedTasks = 0
        let seenValues = seen.withLock { $0 }
        for (index, step) in steps.enumerated() {
            do {
                try await step.task.wait()
            } catch let error as ParlaError {
                failedTasks += 1
                if !faultsExpected { mismatches.append("\(step.label) failed: \(error)") }
                continue
            } catch {
                mismatches.append("\(step.label) failed with an error that is not a ParlaError: \(error)")
                continue
            }
            if step.mode.reads {
                let expected = step.offsets.map { model[$0] }
                if seenValues[index] != expected {
                    mismatches.append("\(step.label) read \(seenValues[index] ?? []), expected \(expected)")
                }
            }
            for (i, offset) in step.offsets.enumerated() where step.mode.writes { model[offset] = step.written[i] }
        }

        // After the run, the whole array as a task on the CPU reads it is the model's. (A read that an
        // injected fault fails changes nothing: it is tried again.)
        let final = Mutex<[Int]?>(nil)
        for _ in 0..<(faultsExpected ? 50 : 1) where final.withLock({ $0 }) == nil {
            do {
                try await Parla.run(devices: selection(gpus)) {
                    spawn(placement: cpu, input: [A]) { final.withLock { $0 = A.array.elements } }
                }
            } catch {
                if !faultsExpected { throw error }
            }
        }
        if let finalValues = final.withLock({ $0 }) {
            if finalValues != model {
                mismatches.append("seed \(seed): final \(finalValues), expected \(model)")
            }
        } else {
            mismatches.append("seed \(seed): the final read failed 50 times")
        }
        return Outcome(
            gpus: gpus,
            tasks: steps.count,
            failedTasks: failedTasks,
            faultsInjected: registry.withLock { $0 }?.faultsInjected ?? 0,
            mismatches: mismatches
        )
    }

    /// The positions of `box`'s elements in a contiguous array of `strides`, in row-major order.
    static func offsets(of box: Box, strides: [Int]) -> [Int] {
        var offsets: [Int] = []
        func walk(_ axis: Int, _ offset: Int) {
            if axis == box.rank {
                offsets.append(offset)
                return
            }
            for i in box.lower[axis]..<box.upper[axis] { walk(axis + 1, offset + i * strides[axis]) }
        }
        walk(0, 0)
        return offsets
    }

    /// Components selecting `box` (ranges, or an integer for some extent-1 axes).
    static func components(_ box: Box, integerAxes: [Bool]) -> [any NDIndex] {
        (0..<box.rank).map { axis -> any NDIndex in
            integerAxes[axis] ? box.lower[axis] : box.lower[axis]..<box.upper[axis]
        }
    }
}

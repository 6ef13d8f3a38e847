import Parla
import Synchronization

/// A random program of tasks on several `PArray`s, run on GPUs whose memory holds only about three of
/// the arrays' buffers, and compared with the same program run sequentially on plain arrays.
///
/// Every array of a program has the same number of elements (its shape differs), and a GPU keeps one
/// whole-array buffer per array it touches, so a GPU's memory (``memoryPerGPU(elements:)``) holds about
/// three arrays: with four to six arrays in play, copies must keep giving way (eviction). Each task
/// declares one to three distinct arrays, or regions of them, each in a random mode, on a random
/// placement (one GPU, the CPU, any GPU, either of two GPUs, or two GPUs at once: each access then for
/// one of them, and the task's body a loop over its devices); a reading task records what it sees,
/// and every array is compared whole at the end. No task's own working set exceeds a GPU's memory, so
/// no task may fail: any failure is a mismatch.
///
/// The tests run hundreds of these on virtual GPUs; `parla check-programs --eviction` runs them on
/// virtual GPUs given that capacity.
public struct RandomEvictionProgram: Sendable {
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
        /// The number of arrays the program used.
        public var arrays: Int
        /// The bytes of one array's buffer (every array of the program has this many).
        public var arrayBytes: Int
        /// The memory of each GPU the program asked for, in bytes (``memoryPerGPU(elements:)``).
        public var memoryPerGPU: Int
        /// The tasks it spawned.
        public var tasks: Int
        /// The tasks that failed (none should: each is a mismatch too).
        public var failedTasks: Int = 0
        /// The failed tasks whose error was running out of device memory.
        public var outOfMemoryTasks: Int = 0
        /// Every disagreement with the sequential program, and every failure, described (empty: it
        /// agreed).
        public var mismatches: [String]
    }

    /// The memory each GPU gets for a program whose arrays have `elements` elements of `Int` each: three
    /// and a half arrays' buffers (three arrays, and room for the temporary arrays that tasks' reads and
    /// writes of regions make on their device).
    public static func memoryPerGPU(elements: Int) -> Int {
        let bytes = elements * MemoryLayout<Int>.stride
        return 3 * bytes + bytes / 2
    }

    /// One declared access of a task: which array, the region, the mode, what it writes.
    private struct Access: Sendable {
        var array: Int
        var mode: AccessMode
        var region: PArray<Int>
        var components: [any NDIndex]
        var viewShape: [Int]
        var offsets: [Int]
        var written: [Int]
        var description: String
    }

    /// One task of the program: its accesses and the task the runtime made of it.
    private struct Step: Sendable {
        var accesses: [Access]
        var label: String
        var task: ParlaTask<Void>
    }

    /// Generates the program and runs it on the devices `selection(gpus, memory)` makes, with a number
    /// of GPUs drawn from `gpuCounts` and `memory` the bytes each GPU should have
    /// (``memoryPerGPU(elements:)`` for the program's arrays), then checks it against the sequential
    /// program. (A selection that ignores `memory` runs the same program without memory pressure.)
    public func run(
        gpuCounts: ClosedRange<Int>,
        on selection: @Sendable (_ gpus: Int, _ memory: Int) -> DeviceSelection
    ) async throws -> Outcome {
        var random = ProgramRandom(seed: self.seed)
        let gpus = random.int(gpuCounts)
        let elements = [8, 12, 16, 24, 32, 48, 64][random.int(0...6)]
        let arrayBytes = elements * MemoryLayout<Int>.stride
        let memory = Self.memoryPerGPU(elements: elements)
        let arrayCount = random.int(4...6)
        let shapes = (0..<arrayCount).map { _ in Self.shape(of: elements, random: &random) }
        let arrays = shapes.enumerated().map { index, shape in
            PArray(NDArray<Int>(Array((index * 10_000)..<(index * 10_000 + elements)), shape: shape))
        }
        let seen = Mutex<[Int: [[Int]]]>([:])
        let seed = self.seed
        let dependencies = self.dependencies
        let devices = selection(gpus, memory)
        var steps: [Step] = []
        var nextValue = 1_000_000
        var mismatches: [String] = []

        do {
            try await Parla.run(devices: devices, dependencies: dependencies) {
                for step in 0..<random.int(5...30) {
                    // One to three distinct arrays, each with a region and a mode.
                    var chosen: [Int] = []
                    for _ in 0..<random.int(1...3) {
                        let array = random.int(0...(arrayCount - 1))
                        if !chosen.contains(array) { chosen.append(array) }
                    }
                    var declared: [Access] = []
                    for array in chosen {
                        let access = Self.access(
                            of: arrays[array],
                            index: array,
                            shape: shapes[array],
                            nextValue: &nextValue,
                            random: &random
                        )
                        // The task's working set: the buffers of its arrays, and one temporary array
                        // (a region read or written on its device) at a time. It must fit in one GPU.
                        let temporary = ([access] + declared).map { $0.offsets.count }.max()! * MemoryLayout<Int>.stride
                        guard (declared.count + 1) * arrayBytes + temporary <= memory else { break }
                        declared.append(access)
                    }
                    let accesses = declared
                    let (placement, placementName, group) = Self.placement(gpus: gpus, random: &random)
                    // On two devices at once, each access is for one of them (its arrays are distinct:
                    // no region is written on one device and used on the other).
                    let deviceOf = accesses.map { _ in group ? random.int(0...1) : 0 }
                    let body: @Sendable () throws -> Void = {
                        let values = Mutex<[Int: [Int]]>([:])
                        let work: @Sendable (Int) -> Void = { index in
                            for (position, access) in accesses.enumerated()
                            where access.mode.reads && deviceOf[position] == index {
                                let read = access.region.array.to(cpu).elements
                                values.withLock { $0[position] = read }
                            }
                            for (position, access) in accesses.enumerated()
                            where access.mode.writes && deviceOf[position] == index {
                                let device = Device.current
                                arrays[access.array][indices: access.components] = NDArray(
                                    access.written,
                                    shape: access.viewShape
                                ).to(device)
                            }
                        }
                        if group {
                            try CurrentTask.current!.forEachDevice { index, _ in work(index) }
                        } else {
                            work(0)
                        }
                        let read = values.withLock { $0 }.sorted { $0.key < $1.key }.map(\.value)
                        if !read.isEmpty { seen.withLock { $0[step] = read } }
                    }
                    // Explicit dependencies: every earlier task with a conflicting access to one of the
                    // same arrays.
                    let needed: [any TaskDependency] =
                        dependencies == .explicit
                        ? steps.filter { earlier in
                            earlier.accesses.contains { before in
                                accesses.contains { now in
                                    before.array == now.array && (before.mode.writes || now.mode.writes)
                                        && !Set(before.offsets).isDisjoint(with: now.offsets)
                                }
                            }
                        }.map(\.task)
                        : []
                    func regions(_ mode: AccessMode) -> [any PArrayAccess] {
                        accesses.indices.filter { accesses[$0].mode == mode }.map { position -> any PArrayAccess in
                            let region = accesses[position].region
                            return group ? region.forDevice(deviceOf[position]) : region
                        }
                    }
                    let task = spawn(
                        dependencies: needed,
                        placement: placement,
                        input: regions(.input),
                        output: regions(.output),
                        inOut: regions(.inOut),
                        body
                    )
                    let described = accesses.indices.map { position in
                        accesses[position].description + (group ? " for device \(deviceOf[position])" : "")
                    }
                    let label = "seed \(seed) step \(step) on \(placementName): \(described.joined(separator: ", "))"
                    steps.append(Step(accesses: accesses, label: label, task: task))
                }
            }
        } catch {
            mismatches.append("seed \(seed): the run failed: \(error)")
        }

        // The sequential program, keeping the writes of the tasks that completed.
        var models = (0..<arrayCount).map { Array(($0 * 10_000)..<($0 * 10_000 + elements)) }
        var failedTasks = 0
        var outOfMemoryTasks = 0
        var wrongValues: [String] = []
        let seenValues = seen.withLock { $0 }
        for (index, step) in steps.enumerated() {
            do {
                try await step.task.wait()
            } catch {
                failedTasks += 1
                if case .deviceFailed(_, _, _, .outOfMemory) = error as? ParlaError { outOfMemoryTasks += 1 }
                mismatches.append("\(step.label) failed: \(error)")
                continue
            }
            let reads = step.accesses.filter(\.mode.reads)
            if !reads.isEmpty {
                let expected = reads.map { access in access.offsets.map { models[access.array][$0] } }
                if seenValues[index] != expected {
                    wrongValues.append("\(step.label) read \(seenValues[index] ?? []), expected \(expected)")
                }
            }
            for access in step.accesses where access.mode.writes {
                for (i, offset) in access.offsets.enumerated() { models[access.array][offset] = access.written[i] }
            }
        }

        // After the run, every array as a task on the CPU reads it is the model's.
        let final = Mutex<[[Int]]?>(nil)
        do {
            try await Parla.run(devices: devices) {
                spawn(placement: cpu, input: arrays) { final.withLock { $0 = arrays.map(\.array.elements) } }
            }
        } catch {
            mismatches.append("seed \(seed): the final read failed: \(error)")
        }
        if let finalValues = final.withLock({ $0 }) {
            for (index, values) in finalValues.enumerated() where values != models[index] {
                wrongValues.append("seed \(seed): array \(index) ends \(values), expected \(models[index])")
            }
        }
        // (Where tasks failed, a failed task's write in place stays where no other device held the
        // earlier data: the values may differ for that reason alone.)
        let note = failedTasks == 0 ? "" : " (after \(failedTasks) failed task\(failedTasks == 1 ? "" : "s"))"
        mismatches += wrongValues.map { $0 + note }
        return Outcome(
            gpus: gpus,
            arrays: arrayCount,
            arrayBytes: arrayBytes,
            memoryPerGPU: memory,
            tasks: steps.count,
            failedTasks: failedTasks,
            outOfMemoryTasks: outOfMemoryTasks,
            mismatches: mismatches
        )
    }

    /// A random shape of rank 1 or 2 with `elements` elements.
    private static func shape(of elements: Int, random: inout ProgramRandom) -> [Int] {
        if random.chance(0.4) { return [elements] }
        let divisors = (1...elements).filter { elements % $0 == 0 }
        let rows = divisors[random.int(0...(divisors.count - 1))]
        return [rows, elements / rows]
    }

    /// A random access of `array` (the program's array `index`, of `shape`): the whole array or a
    /// region, in a random mode, with fresh values from `nextValue` when it writes.
    private static func access(
        of array: PArray<Int>,
        index: Int,
        shape: [Int],
        nextValue: inout Int,
        random: inout ProgramRandom
    ) -> Access {
        let rank = shape.count
        let strides = KernelLayout.contiguousStrides(for: shape)
        let box = random.box(in: shape)
        let mode: AccessMode = [.input, .output, .inOut][random.int(0...2)]
        let integerAxes = (0..<rank).map { box.upper[$0] - box.lower[$0] == 1 && random.chance(0.5) }
        let components = RandomPArrayProgram.components(box, integerAxes: integerAxes)
        let declaresWhole = box == Box(shape: shape) && !integerAxes.contains(true) && random.chance(0.5)
        let region = declaresWhole ? array : array.region(components)
        let offsets = RandomPArrayProgram.offsets(of: box, strides: strides)
        let written = mode.writes ? offsets.indices.map { nextValue + $0 } : []
        nextValue += written.count
        let viewShape = (0..<rank).filter { !integerAxes[$0] }.map { box.upper[$0] - box.lower[$0] }
        return Access(
            array: index,
            mode: mode,
            region: region,
            components: components,
            viewShape: viewShape,
            offsets: offsets,
            written: written,
            description: "\(mode) array \(index)\(declaresWhole ? "" : " \(box)")"
        )
    }

    /// A random placement among `gpus` GPUs, with its name: one GPU, the CPU, any GPU (`gpu`), or
    /// either of two GPUs (either of GPU 0 and the CPU when there is one GPU).
    /// A task's placement, its name, and whether it runs on two devices at once.
    private static func placement(gpus: Int, random: inout ProgramRandom) -> (any Placement, String, group: Bool) {
        switch random.int(0...4) {
        case 0:
            let device = gpu(random.int(0...(gpus - 1)))
            return (device, "\(device)", false)
        case 1:
            return (cpu, "cpu", false)
        case 2:
            return (gpu, "any gpu", false)
        case 3 where gpus > 1:
            // (A multi-device task: any two GPUs, or two given ones.)
            if random.int(0...1) == 0 { return (gpu * 2, "gpu * 2", true) }
            let first = random.int(0...(gpus - 1))
            let second = (first + random.int(1...(gpus - 1))) % gpus
            return (DeviceGroup(gpu(first), gpu(second)), "(gpu(\(first)), gpu(\(second)))", true)
        default:
            guard gpus > 1 else { return ([gpu(0), cpu] as [any Placement], "[gpu(0), cpu]", false) }
            let first = random.int(0...(gpus - 1))
            let second = (first + random.int(1...(gpus - 1))) % gpus
            return ([gpu(first), gpu(second)] as [any Placement], "[gpu(\(first)), gpu(\(second))]", false)
        }
    }
}

extension DeviceSelection {
    /// These virtual GPUs with `bytes` of memory each (faults kept); `nil` for other devices: real ones
    /// have the memory they have, and simulated CUDA GPUs round small allocations up to 512 bytes, so a
    /// capacity of a few small arrays would not hold what it says.
    public func withGPUMemory(_ bytes: Int) -> DeviceSelection? {
        switch self {
        case .virtual(let gpus, _): return .virtual(gpus: gpus, memory: bytes)
        case .virtualWithFaults(let gpus, _, let faults):
            return .virtualWithFaults(gpus: gpus, memory: bytes, faults: faults)
        case .cudaSimulated, .auto, .cuda: return nil
        }
    }
}

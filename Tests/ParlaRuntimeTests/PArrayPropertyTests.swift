import Synchronization
import Testing

@testable import Parla

/// What a generated task does: which region of the array, on which device, how.
struct GeneratedAccess: Sendable {
    var box: Box
    var device: Device
    var mode: AccessMode
}

@Suite("PArray: random programs against a sequential model")
struct PArrayPropertyTests {
    /// Components selecting `box` of an array of `shape` (ranges, or an integer for extent-1 picks).
    static func components(_ box: Box, integerAxes: [Bool]) -> [any NDIndex] {
        (0..<box.rank).map { axis -> any NDIndex in
            integerAxes[axis] ? box.lower[axis] : box.lower[axis]..<box.upper[axis]
        }
    }

    @Test(
        "random tasks with overlapping regions on 1-4 virtual GPUs, inferred or explicit dependencies, see exactly the sequential values",
        arguments: [(0, DependencyMode.inferred), (1, .inferred), (2, .explicit), (3, .explicit)]
    )
    func randomPrograms(batch: Int, dependencies: DependencyMode) async throws {
        for program in 0..<300 {
            let seed = UInt64(7_000_000 + batch * 1000 + program)
            var random = ProgramRandom(seed: seed)
            let rank = random.int(1...2)
            let shape = (0..<rank).map { _ in random.int(1...4) }
            let gpus = random.int(1...4)
            let devices = (0..<gpus).map { gpu($0) } + [cpu]
            let count = shape.reduce(1, *)
            let strides = KernelLayout.contiguousStrides(for: shape)
            var model = (0..<count).map { $0 }
            var nextValue = 1000
            let mismatches = Mutex<[String]>([])

            let A = PArray(NDArray<Int>(Array(0..<count), shape: shape))
            try await Parla.run(devices: .virtual(gpus: gpus), dependencies: dependencies) {
                // For explicit dependencies: every earlier task whose access conflicts with a new one.
                var earlier: [(task: ParlaTask<Void>, box: Box, mode: AccessMode)] = []
                for step in 0..<random.int(3...25) {
                    let box = random.box(in: shape)
                    let device = devices[random.int(0...(devices.count - 1))]
                    let mode: AccessMode = [.input, .output, .inOut][random.int(0...2)]
                    let integerAxes = (0..<rank).map { box.upper[$0] - box.lower[$0] == 1 && random.chance(0.5) }
                    let region = A.region(Self.components(box, integerAxes: integerAxes))
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
                    let written = offsets.map { _ in nextValue }.enumerated().map { $0.element + $0.offset }
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
                            A[indices: Self.components(box, integerAxes: integerAxes)] = NDArray(
                                written,
                                shape: viewShape
                            ).to(device)
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
                }
            }
            // After the run, the whole array (read on the CPU) is the model.
            let finalValues = DeviceRegistry.withCurrent(try DeviceRegistry.make(.virtual(gpus: gpus))) {
                A.array.elements
            }
            #expect(finalValues == model, "seed \(seed): final \(finalValues), expected \(model)")
            #expect(mismatches.withLock { $0 }.isEmpty, "\(mismatches.withLock { $0 })")
            if !mismatches.withLock({ $0 }).isEmpty { return }
        }
    }
}

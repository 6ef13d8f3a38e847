import Synchronization
import Testing

@testable import Parla
@testable import ParlaCommand

/// Runs a lesson and returns what it printed.
func output(ofLesson number: Int, devices: DeviceSelection = .virtual(gpus: 2)) async throws -> [String] {
    let lines = Mutex<[String]>([])
    let lesson = Lessons.all.first { $0.number == number }!
    try await lesson.run(devices) { line in lines.withLock { $0.append(line) } }
    return lines.withLock { $0 }
}

@Suite("the tutorial's lessons 0 to 4")
struct LessonTests {
    @Test("lesson 0 prints Hello, World! from a task")
    func lesson0() async throws {
        #expect(try await output(ofLesson: 0) == ["Hello, World!"])
    }

    @Test("lesson 1: ids, dependencies in order, barriers after their waves")
    func lesson1() async throws {
        let lines = try await output(ofLesson: 1)
        #expect(
            Set(lines.prefix(5)) == [
                "task TaskSpace_0 ran", "task TaskSpace_1 ran", "task TaskSpace_1_0_0_0_1 ran",
                "task TaskSpace_0_a ran", "task TaskSpace_0_b ran",
            ]
        )
        #expect(lines[5] == "TaskSpace(TaskSpace, entries: 5)")
        #expect(Array(lines[6..<10]) == ["A[0]", "A[1] after A[0]", "B[0] after A[0] and A[1]", "A[3] after B[0]"])
        func at(_ line: String) -> Int { lines.firstIndex(of: line) ?? -1 }
        for i in 0..<4 {
            #expect(at("wave A: task \(i)") > 9)
            #expect(at("wave A: task \(i)") < at("barrier: all of A finished"))
            #expect(at("wave B: task \(i)") > at("barrier: all of A finished"))
        }
        // Only B[0] and then B[3] are awaited; B[1] and B[2] may finish later.
        #expect(at("wave B: task 0") < at("barrier: B[0] finished"))
        #expect(at("barrier: B[0] finished") < at("barrier: the last task of B (B[3]) finished"))
        #expect(at("wave B: task 3") < at("barrier: the last task of B (B[3]) finished"))
        #expect(lines.count == 10 + 11)
    }

    @Test("lesson 2: captured values, shared results, returned values")
    func lesson2() async throws {
        #expect(
            try await output(ofLesson: 2) == [
                "captured 4", "captured 5", "captured 6",
                "shared array: [0, 1, 2]",
                "shared dictionary: 0: task 0, 1: task 1, 2: task 2",
                "T[0] returned [0.0, 0.0, 0.0]",
                "T[1] returned [1.0, 1.0, 1.0]",
                "T[2] returned [2.0, 2.0, 2.0]",
            ]
        )
    }

    @Test("lesson 3: CPU, any GPU, per-GPU slices, a variant, a nested task")
    func lesson3() async throws {
        let lines = try await output(ofLesson: 3)
        #expect(lines.count == 5)
        #expect(lines[0] == "on cpu: x * x = [0.0, 1.0, 4.0, 9.0]")
        #expect(lines[1] == "on a GPU (a gpu): x * x = [0.0, 1.0, 4.0, 9.0]")
        #expect(lines[2] == "per-GPU slices added on 2 GPUs: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]")
        #expect(
            lines[3] == "on the CPU or a GPU: [10.0, 20.0, 30.0] by the GPU variant"
                || lines[3] == "on the CPU or a GPU: [10.0, 20.0, 30.0] by the default (CPU)"
        )
        #expect(lines[4] == "nested task returned 42")
    }

    @Test(
        "lesson 4: a partitioner puts half of A on the CPU, half on gpu(0); tasks read both halves where they run",
        arguments: [DeviceSelection.virtual(gpus: 2), .cudaSimulated(gpus: 1)]
    )
    func lesson4(devices: DeviceSelection) async throws {
        let lines = try await output(ofLesson: 4, devices: devices)
        #expect(
            lines == [
                "A = [1.0, 2.0, 3.0, 4.0]",
                "part 0 lives on cpu: [1.0, 2.0]",
                "part 1 lives on gpu(0): [3.0, 4.0]",
                "on gpu(0): part 0 + part 1 = [4.0, 6.0], an array on gpu(0)",
                "on cpu: part 0 + part 1 = [4.0, 6.0], an array on cpu",
            ]
        )
    }
}

@Suite("lesson 5: task constraints")
struct LessonFiveTests {
    @Test(
        "lesson 5: vcus and memory limit how many tasks share gpu(0); on CUDA each runs on a stream of its own",
        arguments: [DeviceSelection.virtual(gpus: 1, memory: 64_000_000), .cudaSimulated(gpus: 1)]
    )
    func lessonFive(devices: DeviceSelection) async throws {
        let lines = try await output(ofLesson: 5, devices: devices)
        var expected = [
            "four tasks on gpu(0), each taking the square root of its own array of 65536 doubles",
            "vcus: 1 (each task takes the whole GPU): never more than 1 at once on gpu(0): yes; results right",
            "vcus: 0.5 (two tasks share the GPU): never more than 2 at once on gpu(0): yes; results right",
            "memory: 40% of gpu(0)'s memory each: never more than 2 at once on gpu(0): yes; results right",
        ]
        if case .cudaSimulated = devices {
            for line in [4, 3, 2] {
                expected.insert("  each task ran on a stream of its own, not the GPU's compute stream: yes", at: line)
            }
        }
        #expect(lines == expected)
    }

    @Test("lesson 5 without a memory size leaves the memory constraint out, saying so")
    func lessonFiveWithoutMemorySize() async throws {
        let lines = try await output(ofLesson: 5, devices: .virtual(gpus: 1))
        #expect(lines.count == 4)
        #expect(lines[1].hasPrefix("(gpu(0) has no memory size here"))
    }
}

@Suite("lesson 6: automatic, coherent data movement")
struct LessonSixTests {
    @Test(
        "lesson 6 prints the seed's states after each task, and the bytes moved per link",
        arguments: [DeviceSelection.virtual(gpus: 4), .cudaSimulated(gpus: 4)]
    )
    func lessonSix(devices: DeviceSelection) async throws {
        let lines = try await output(ofLesson: 6, devices: devices)
        let text = lines.joined(separator: "\n")
        #expect(
            text.contains(
                "ts[0] on gpu(0), input: [A]\n  A = {0: [[1.0, 2.0], [3.0, 4.0]], 1: nil, 2: nil, 3: nil, -1: [[1.0, 2.0], [3.0, 4.0]]}"
            )
        )
        #expect(text.contains("ts[1] on gpu(1), output: [B]\n  B = {0: nil, 1: [["))
        #expect(text.contains(", 2: nil, 3: nil, -1: nil}"))
        #expect(
            text.contains(
                "ts[2] on cpu, input: [A], inOut: [B]\n  A = {0: [[1.0, 2.0], [3.0, 4.0]], 1: nil, 2: nil, 3: nil, -1: [[1.0, 2.0], [3.0, 4.0]]}\n  B = {0: nil, 1: nil, 2: nil, 3: nil, -1: [["
            )
        )
        #expect(
            text.contains(
                "ts[3] on gpu(1), inOut: [A[0]]\n  A = {0: {[1..<2, 0..<2]: [[3.0, 4.0]]}, 1: {[0..<1, 0..<2]: [[1.0, 1.4142135623730951]]}, 2: nil, 3: nil, -1: {[1..<2, 0..<2]: [[3.0, 4.0]]}}"
            )
        )
        #expect(text.contains("A = [[1.0, 1.4142135623730951], [3.0, 4.0]]"))
        #expect(
            lines.suffix(4) == [
                "bytes moved per link:", "  cpu -> gpu(0): 32 bytes", "  gpu(0) -> gpu(1): 16 bytes",
                "  gpu(1) -> cpu: 48 bytes",
            ]
        )
    }
}

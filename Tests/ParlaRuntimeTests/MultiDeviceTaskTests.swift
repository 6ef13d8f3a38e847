import Synchronization
import Testing

@testable import Parla
@testable import ParlaDevices

#if canImport(Glibc)
import Glibc
#endif

/// Tasks that run on several devices at once (`DeviceGroup`, `gpu * 2`): their placement, their
/// regions per device (`forDevice(_:)`), and the loop over their devices.
@Suite("multi-device tasks")
struct MultiDeviceTaskTests {
    @Test(
        "a task on two GPUs gets each region on its device and writes each half there",
        arguments: [DeviceSelection.virtual(gpus: 2), .cudaSimulated(gpus: 2), .virtual(gpus: 4)]
    )
    func halvesOnTwoGPUs(devices: DeviceSelection) async throws {
        let seen = Mutex<[Int: String]>([:])
        let result = Mutex<[Double]>([])
        try await Parla.run(devices: devices) {
            let A = PArray(NDArray<Double>.arange(8))
            let B = PArray(NDArray<Double>.zeros([8]))
            let T = TaskSpace("T")
            spawn(
                T[0],
                placement: DeviceGroup(gpu(0), gpu(1)),
                input: [A],
                inOut: [B[0..<4].forDevice(0), B[4..<8].forDevice(1)]
            ) {
                let task = CurrentTask.current!
                try task.forEachDevice { index, device in
                    let half = index * 4..<(index + 1) * 4
                    let input = A[half].array
                    B[half] = input * 2
                    seen.withLock {
                        $0[index] =
                            "\(device) \(Device.current) \(input.device) \(B[half].array.device) \(task.devices)"
                    }
                }
            }
            spawn(T[1], dependencies: [T[0]], placement: cpu, input: [B]) {
                result.withLock { $0 = B.array.elements }
            }
            try await T.wait()
            // The input was moved to both GPUs; each half of B is valid only where it was written.
            #expect(A.state(on: gpu(0)) == .shared && A.state(on: gpu(1)) == .shared)
        }
        #expect(
            seen.withLock { $0 } == [
                0: "gpu(0) gpu(0) gpu(0) gpu(0) [gpu(0), gpu(1)]",
                1: "gpu(1) gpu(1) gpu(1) gpu(1) [gpu(0), gpu(1)]",
            ]
        )
        #expect(result.withLock { $0 } == [0, 2, 4, 6, 8, 10, 12, 14])
    }

    @Test("gpu * 2 takes two distinct GPUs, the least busy pair; DeviceGroup(cpu, gpu) the CPU and a GPU")
    func anyTwoGPUs() async throws {
        let groups = Mutex<[String]>([])
        try await Parla.run(devices: .virtual(gpus: 3)) {
            let T = TaskSpace("T")
            for i in 0..<6 {
                spawn(T[i], placement: gpu * 2) {
                    let devices = CurrentTask.current!.devices
                    groups.withLock {
                        $0.append("\(devices.count) \(Set(devices).count) \(devices.allSatisfy { $0.kind == .gpu })")
                    }
                }
            }
            spawn(T[6], placement: DeviceGroup(cpu, gpu)) {
                let devices = CurrentTask.current!.devices
                groups.withLock { $0.append("\(devices[0]) \(devices[1].kind)") }
            }
        }
        let seen = groups.withLock { $0 }
        #expect(seen.filter { $0 == "2 2 true" }.count == 6)
        #expect(seen.contains("cpu gpu"))
    }

    @Test("the device sets of a group placement", arguments: [1, 2, 3, 4])
    func deviceSets(gpus: Int) {
        let pairs = (gpu * 2).deviceSets(gpuCount: gpus)
        #expect(pairs.count == gpus * (gpus - 1) / 2)
        #expect(pairs.allSatisfy { Set($0).count == 2 })
        let mixed = DeviceGroup(gpu(1), gpu).deviceSets(gpuCount: gpus)
        #expect(mixed.count == gpus - (gpus > 1 ? 1 : 0))  // (gpu(1) is named even where the run lacks it)
        #expect(mixed.allSatisfy { $0[0] == gpu(1) })
        let choice = ([DeviceGroup(gpu(0), gpu(1)), DeviceGroup(gpu(2), gpu(3))] as [any Placement])
            .resolvedPlacement(gpuCount: gpus)
        #expect(choice.groups(gpuCount: gpus) == [[gpu(0), gpu(1)], [gpu(2), gpu(3)]])
    }

    @Test("a group's vcus are reserved on each of its devices: a task needing one of them waits")
    func vcusOnEachDevice() async throws {
        let order = Mutex<[String]>([])
        try await Parla.run(devices: .virtual(gpus: 2)) {
            spawn(placement: DeviceGroup(gpu(0), gpu(1)), vcus: 1) {
                // (Ready now, it cannot start before this task gives gpu(1) back.)
                spawn(placement: gpu(1), vcus: 1) { order.withLock { $0.append("single") } }
                usleep(50_000)  // (time for it to start, were it let)
                order.withLock { $0.append("group") }
            }
        }
        #expect(order.withLock { $0 } == ["group", "single"])
    }

    @Test("a placement asking for more devices than the run has fails the task, naming it")
    func tooManyDevices() async throws {
        let failure = Mutex<String>("")
        do {
            try await Parla.run(devices: .virtual(gpus: 1)) { spawn(TaskSpace("T")[0], placement: gpu * 2) {} }
        } catch {
            failure.withLock { $0 = "\(error)" }
        }
        #expect(failure.withLock { $0 }.contains("T_0"))
        #expect(failure.withLock { $0 }.contains("more distinct devices at once than this run has"))
    }

    @Test("an error thrown on one device fails the task; the array keeps its last completed write")
    func errorOnOneDevice() async throws {
        struct Broken: Error {}
        let outcome = Mutex<String>("")
        let B = PArray(NDArray<Double>.ones([4]))
        await #expect(throws: Broken.self) {
            try await Parla.run(devices: .cudaSimulated(gpus: 2)) {
                let task = spawn(placement: gpu * 2, inOut: [B[0..<2].forDevice(0), B[2..<4].forDevice(1)]) {
                    try CurrentTask.current!.forEachDevice { index, _ in
                        if index == 1 { throw Broken() }
                        B[0..<2] = B[0..<2].array * 5
                    }
                }
                do { try await task.value } catch { outcome.withLock { $0 = "\(type(of: error))" } }
            }
        }
        #expect(outcome.withLock { $0 } == "Broken")
        #expect(B.array.elements == [1, 1, 1, 1])
    }

    @Test("a region for a device position the task does not have stops at spawn")
    func positionOutOfRange() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            try await Parla.run(devices: .virtual(gpus: 2)) {
                let A = PArray(NDArray<Double>.zeros([4]))
                spawn(TaskSpace("T")[0], placement: gpu * 2, input: [A.forDevice(2)]) {}
            }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("task T_0 declares PArray"), "\(text.prefix(600))")
        #expect(text.contains("for device 2 (forDevice(2)), and it runs on 2 devices"), "\(text.prefix(600))")
    }

    @Test("a write without its device in a multi-device task stops at spawn")
    func writeWithoutDevice() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            try await Parla.run(devices: .virtual(gpus: 2)) {
                let A = PArray(NDArray<Double>.zeros([4]))
                spawn(TaskSpace("T")[0], placement: gpu * 2, inOut: [A]) {}
            }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("runs on 2 devices and writes"), "\(text.prefix(600))")
        #expect(text.contains("without naming the device: declare"), "\(text.prefix(600))")
    }

    @Test("a region written on one device of a task and used on another stops at spawn")
    func overlapAcrossDevices() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            try await Parla.run(devices: .virtual(gpus: 2)) {
                let A = PArray(NDArray<Double>.zeros([4]))
                spawn(
                    TaskSpace("T")[0],
                    placement: gpu * 2,
                    input: [A[0..<3].forDevice(1)],
                    inOut: [A[2..<4].forDevice(0)]
                ) {}
            }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(
            text.contains("a region written on one device of a task cannot be used on another"),
            "\(text.prefix(600))"
        )
    }

    @Test("reading a region declared for another device of the task stops with a message")
    func readOnTheWrongDevice() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            try await Parla.run(devices: .virtual(gpus: 2)) {
                let A = PArray(NDArray<Double>.zeros([4]))
                spawn(TaskSpace("T")[0], placement: DeviceGroup(gpu(0), gpu(1)), input: [A.forDevice(0)]) {
                    try CurrentTask.current!.forEachDevice { _, _ in _ = A.array }
                }
            }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("which it did not declare in input, output or inOut"), "\(text.prefix(600))")
        #expect(text.contains("on gpu(1)"), "\(text.prefix(600))")
    }

    @Test(
        "group and single-device tasks share arrays under a memory limit (evicting); the results are exact",
        arguments: [DeviceSelection.virtual(gpus: 2, memory: 4 * 8 * 1024), .cudaSimulated(gpus: 2)]
    )
    func groupsUnderMemoryPressure(devices: DeviceSelection) async throws {
        let count = 1024
        let arrays = (0..<4).map { _ in PArray(NDArray<Double>.zeros([count])) }
        var expected = [[Double]](repeating: [Double](repeating: 0, count: count), count: 4)
        try await Parla.run(devices: devices) {
            for step in 0..<12 {
                let (first, second) = (arrays[step % 4], arrays[(step + 1) % 4])
                let half = count / 2
                if step % 3 == 0 {
                    spawn(placement: gpu(step % 2), inOut: [first]) { first += 1 }
                    for index in 0..<count { expected[step % 4][index] += 1 }
                } else {
                    spawn(
                        placement: gpu * 2,
                        input: [second.forDevice(0), second.forDevice(1)],
                        inOut: [first[0..<half].forDevice(0), first[half..<count].forDevice(1)]
                    ) {
                        try CurrentTask.current!.forEachDevice { index, _ in
                            let part = index * half..<(index + 1) * half
                            first[part] = first[part].array + second[part].array + Double(step)
                        }
                    }
                    for index in 0..<count {
                        expected[step % 4][index] += expected[(step + 1) % 4][index] + Double(step)
                    }
                }
            }
        }
        for (array, values) in zip(arrays, expected) { #expect(array.array.elements == values) }
    }

    @Test("an asynchronous body loops over its devices too; a variant runs per device")
    func asynchronousBodyAndVariants() async throws {
        let seen = Mutex<[String]>([])
        let kind = Specialized<Void, String> { _ in "default" }.variant(gpu) { _ in "gpu" }
        try await Parla.run(devices: .virtual(gpus: 1)) {
            spawn(placement: DeviceGroup(cpu, gpu)) { () async throws in
                await Task.yield()
                try CurrentTask.current!.forEachDevice { index, device in
                    seen.withLock { $0.append("\(index) \(device) \(kind(()))") }
                }
            }
        }
        #expect(seen.withLock { $0 }.sorted() == ["0 cpu default", "1 gpu(0) gpu"])
    }

    @Test("a failed multi-device write leaves every device's copy of the array as it was")
    func failedWriteRestoredPerDevice() async throws {
        struct Broken: Error {}
        let B = PArray(NDArray<Double>.ones([4]))
        let readOnGPU0 = Mutex<[Double]>([])
        await #expect(throws: Broken.self) {
            try await Parla.run(devices: .virtual(gpus: 2)) {
                try await spawn(placement: DeviceGroup(gpu(0), gpu(1)), input: [B]) {}.value  // valid everywhere
                try await spawn(
                    placement: DeviceGroup(gpu(0), gpu(1)),
                    inOut: [B[0..<2].forDevice(0), B[2..<4].forDevice(1)]
                ) {
                    try CurrentTask.current!.forEachDevice { index, _ in
                        if index == 0 {
                            B[0..<2] = B[0..<2].array * 5
                        } else {
                            usleep(20_000)
                            B[2..<4] = B[2..<4].array * 5
                            throw Broken()
                        }
                    }
                }.value
            }
        }
        try await Parla.run(devices: .virtual(gpus: 2)) {
            try await spawn(placement: gpu(0), input: [B]) {
                let values = B[0..<2].array.elements
                readOnGPU0.withLock { $0 = values }
            }.value
        }
        #expect(readOnGPU0.withLock { $0 } == [1, 1])
        #expect(B.array.elements == [1, 1, 1, 1])
    }

    @Test(
        "a group's working set is counted per device: regions that fit each device make others give way",
        arguments: [1, 2]
    )
    func workingSetPerDevice(arrays: Int) async throws {
        let count = 5 * 1024  // 40 KB each, on GPUs of 64 KB
        let (A, B, C) = (
            PArray(NDArray<Double>.ones([count])), PArray(NDArray<Double>.ones([count])),
            PArray(NDArray<Double>.ones([count]))
        )
        try await Parla.run(devices: .virtual(gpus: 2, memory: 64 * 1024)) {
            try await spawn(placement: gpu(0), input: [C]) {}.value  // C stays on gpu(0), idle
            let regions: [any PArrayAccess] = arrays == 2 ? [A.forDevice(0), B.forDevice(1)] : [A.forDevice(0)]
            try await spawn(placement: DeviceGroup(gpu(0), gpu(1)), input: regions) {}.value
        }
        #expect(C.state(on: gpu(0)) == .invalid)
    }
}

import Synchronization
import Testing

@testable import Parla
@testable import ParlaDevices

/// Which copies give way when a GPU is full, and in which order (see `RunScope+DeviceMemory.swift`):
/// copies valid elsewhere before sole ones, those needed furthest in the future first, then the least
/// recently used; sole copies are written back first and never lost.
@Suite("eviction: the victims and their order", .serialized, .timeLimit(.minutes(1)))
struct EvictionPolicyTests {
    /// Arrays of 64 KiB (8192 doubles) on one GPU with room for three of them (and small results).
    static let elements = 8192
    static let room = DeviceSelection.virtual(gpus: 1, memory: 3 * 8192 * 8 + 4096)

    static func array(_ value: Double) -> PArray<Double> { PArray(NDArray<Double>.full([elements], value: value)) }

    @Test("a copy also valid on the host is dropped before a copy holding the only valid data, which is written back")
    func cleanBeforeDirty() async throws {
        let (dirty, clean, third, fourth) = (Self.array(1), Self.array(2), Self.array(3), Self.array(4))
        var first = EvictionCounts()
        var all = EvictionCounts()
        try await Parla.run(devices: Self.room) {
            let T = TaskSpace("T")
            // `dirty` is used first (least recently used), but only `clean` and `third` are valid on the
            // host too, and `clean` was used before `third`.
            try await spawn(T[0], placement: gpu(0), inOut: [dirty]) {}.wait()
            try await spawn(T[1], placement: gpu(0), input: [clean]) {}.wait()
            try await spawn(T[2], placement: gpu(0), input: [third]) {}.wait()
            try await spawn(T[3], placement: gpu(0), input: [fourth]) {}.wait()
            #expect(clean.state(on: gpu(0)) == .invalid)
            #expect(dirty.state(on: gpu(0)) == .modified && third.state(on: gpu(0)) == .shared)
            first = DataMovementLog.currentRunEvictions
            // Make every copy there the only valid one; the least recently used of them is written back.
            try await spawn(T[4], placement: gpu(0), inOut: [third]) {}.wait()
            try await spawn(T[5], placement: gpu(0), inOut: [fourth]) {}.wait()
            try await spawn(T[6], placement: gpu(0), input: [clean]) {}.wait()
            #expect(dirty.state(on: gpu(0)) == .invalid && dirty.state(on: cpu) == .modified)
            #expect(third.state(on: gpu(0)) == .modified && fourth.state(on: gpu(0)) == .modified)
            all = DataMovementLog.currentRunEvictions
        }
        #expect(first.dropped == 1 && first.writtenBack == 0 && first.bytesFreed == Self.elements * 8)
        #expect(all.dropped == 1 && all.writtenBack == 1 && all.bytesFreed == 2 * Self.elements * 8)
        // Nothing was lost.
        #expect(dirty.array.sum().item() == Double(Self.elements))
        #expect(third.array.sum().item() == Double(Self.elements * 3))
    }

    @Test("among copies valid elsewhere, the one the spawned tasks need furthest in the future goes first")
    func furthestNextUse() async throws {
        let arrays = (0..<3).map { Self.array(Double($0)) }
        let newcomer = Self.array(9)
        try await Parla.run(devices: Self.room) {
            let T = TaskSpace("T")
            for i in 0..<3 { try await spawn(T[i], placement: gpu(0), input: [arrays[i]]) {}.wait() }
            // Tasks spawned, held back by a gate, read arrays[2], then arrays[0], then arrays[1]: arrays[1]
            // is needed furthest in the future, though arrays[0] is the least recently used.
            let gate = Gate()
            let G = TaskSpace("G")
            spawn(G[0], placement: cpu) { gate.waitUntilOpen() }
            for (position, i) in [2, 0, 1].enumerated() {
                spawn(G[position + 1], dependencies: [G[0]], placement: gpu(0), input: [arrays[i]]) {}
            }
            try await spawn(T[3], placement: gpu(0), input: [newcomer]) {}.wait()
            #expect(arrays[1].state(on: gpu(0)) == .invalid)
            #expect(arrays[0].state(on: gpu(0)) == .shared && arrays[2].state(on: gpu(0)) == .shared)
            gate.open()
        }
    }

    @Test("with no spawned task needing them, the least recently used copy goes first")
    func leastRecentlyUsed() async throws {
        let arrays = (0..<3).map { Self.array(Double($0)) }
        try await Parla.run(devices: Self.room) {
            let T = TaskSpace("T")
            for i in 0..<3 { try await spawn(T[i], placement: gpu(0), input: [arrays[i]]) {}.wait() }
            try await spawn(T[3], placement: gpu(0), input: [arrays[0]]) {}.wait()  // arrays[1] is now the oldest
            try await spawn(T[4], placement: gpu(0), input: [Self.array(7)]) {}.wait()
            #expect(arrays[1].state(on: gpu(0)) == .invalid)
            #expect(arrays[0].state(on: gpu(0)) != .invalid && arrays[2].state(on: gpu(0)) != .invalid)
        }
    }

    @Test("two tasks whose data cannot be on the GPU together both run, one after the other, with the right results")
    func tasksWaitForRoom() async throws {
        // Room for three arrays; each task declares two and allocates a third.
        let pairs = (0..<4).map { i in (Self.array(Double(i)), Self.array(1)) }
        let sums = Mutex<[Int: Double]>([:])
        try await Parla.run(devices: Self.room) {
            for (i, (a, b)) in pairs.enumerated() {
                spawn(placement: gpu(0), input: [a, b]) {
                    let total: Double = (a.array + b.array).sum().item()
                    sums.withLock { $0[i] = total }
                }
            }
        }
        #expect(
            sums.withLock { $0 }
                == Dictionary(uniqueKeysWithValues: (0..<4).map { ($0, Double(Self.elements * ($0 + 1))) })
        )
    }

    @Test("copies a finished run left on a GPU give way to the next run's tasks (CUDA GPUs outlive runs)")
    func copiesOfEarlierRuns() async throws {
        let arrays = (0..<3).map { Self.array(Double($0)) }
        // A simulated CUDA machine is made once per configuration: both runs use the same GPU memory.
        let devices = DeviceSelection.cudaSimulated(gpus: 1, memory: 3 * Self.elements * 8 + 4096)
        try await Parla.run(devices: devices) {
            for array in arrays { try await spawn(placement: gpu(0), inOut: [array]) {}.wait() }
        }
        let late = Self.array(5)
        try await Parla.run(devices: devices) {
            try await spawn(placement: gpu(0), input: [late]) {}.wait()
            #expect(late.state(on: gpu(0)) != .invalid)
        }
        #expect(arrays.map { $0.array.sum().item() } == [0, Double(Self.elements), Double(2 * Self.elements)])
    }

    @Test("a task suspended on an await of a task that needs room on its GPU does not hold that task back")
    func awaitingTaskDoesNotBlockAdmission() async throws {
        let (a, b) = (Self.array(1), Self.array(2))
        let sum = Mutex<Double>(0)
        try await Parla.run(devices: Self.room) {
            // The parent's reservation (a, and room for a temporary as large) and the child's (b, and
            // the same) do not fit together, though a and b do; the parent awaits the child.
            try await spawn(placement: gpu(0), inOut: [a]) { () async throws in
                let child = spawn(placement: gpu(0), input: [b]) {
                    let total: Double = b.array.sum().item()
                    sum.withLock { $0 = total }
                }
                try await child.wait()
            }.wait()
        }
        #expect(sum.withLock { $0 } == Double(2 * Self.elements))
    }

    @Test("a task that fails after the copy it moved its data from was evicted leaves the array as it was")
    func failedWriterAfterEviction() async throws {
        let a = Self.array(1)
        let fillers = (0..<3).map { Self.array(Double(10 + $0)) }
        let gate = Gate()
        let writing = Atomic<Bool>(false)
        struct Failure: Error {}
        await #expect(throws: Failure.self) {
            try await Parla.run(devices: .virtual(gpus: 2, memory: 3 * Self.elements * 8 + 4096)) {
                // a's only valid copy is on gpu(0); the writer on gpu(1) moves it from there.
                try await spawn(placement: gpu(0), inOut: [a]) {}.wait()
                #expect(a.state(on: gpu(0)) == .modified)
                let writer = spawn(placement: gpu(1), inOut: [a]) { () async throws in
                    a[0..<Self.elements] = NDArray<Double>.full([Self.elements], value: 99).to(Device.current)
                    writing.store(true, ordering: .releasing)
                    await gate.wait()
                    throw Failure()
                }
                while !writing.load(ordering: .acquiring) { await Task.yield() }
                // gpu(0) fills up: a's copy there, which no task uses, is evicted while the writer runs.
                for filler in fillers { try await spawn(placement: gpu(0), input: [filler]) {}.wait() }
                #expect(a.state(on: gpu(0)) == .invalid)
                gate.open()
                try await writer.wait()
            }
        }
        // The writer failed: a is as it was before it started (its earlier data came back from gpu(0)).
        #expect(a.array.sum().item() == Double(Self.elements))
    }

    @Test("PARLA_DEVICE_MEMORY's values: bytes, or binary units")
    func memoryLimitParsing() throws {
        #expect(try DeviceMemoryLimit.bytes(parsing: "1048576") == 1 << 20)
        #expect(try DeviceMemoryLimit.bytes(parsing: "512M") == 512 << 20)
        #expect(try DeviceMemoryLimit.bytes(parsing: "8G") == 8 << 30)
        #expect(try DeviceMemoryLimit.bytes(parsing: "64KiB") == 64 << 10)
        #expect(try DeviceMemoryLimit.bytes(parsing: "2gb") == 2 << 30)
        #expect(throws: DeviceError.self) { try DeviceMemoryLimit.bytes(parsing: "lots") }
        #expect(throws: DeviceError.self) { try DeviceMemoryLimit.bytes(parsing: "-5M") }
    }
}

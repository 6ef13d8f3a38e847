import Testing

@testable import Parla
@testable import ParlaDevices

/// The pieces a traced run records with: its clock and the lists of events each thread appends to.
@Suite("trace recording")
struct TraceRecorderTests {
    @Test("a list of events spans chunks, gives its events back in order, and can be emptied and filled again")
    func chunkedEvents() {
        var events = ChunkedEvents<TaskStarted>()
        let count = 3 * ChunkedEvents<TaskStarted>.capacity + 5
        for number in 0..<count {
            events.append(TaskStarted(number: number, started: UInt64(number), dataIn: 0, worker: number % 3))
        }
        var seen: [Int] = []
        events.forEachEvent { event in
            #expect(event.started == UInt64(event.number) && event.worker == event.number % 3)
            seen.append(event.number)
        }
        #expect(seen == Array(0..<count))
        events.removeAll()
        var left = 0
        events.forEachEvent { _ in left += 1 }
        #expect(left == 0)
        events.append(TaskStarted(number: 7, started: 7, dataIn: 7, worker: nil))
        var again: [Int] = []
        events.forEachEvent { again.append($0.number) }
        #expect(again == [7])
    }

    @Test("ticks become nanoseconds by the rate measured between two readings, also before the first")
    func timebase() {
        let timebase = TraceClock.Timebase(
            from: TraceClock.Reading(ticks: 1_000, nanoseconds: 5_000),
            to: TraceClock.Reading(ticks: 3_000, nanoseconds: 6_000)
        )
        #expect(timebase.nanosecondsPerTick == 0.5)
        #expect(timebase.nanoseconds(2_000) == 5_500)
        #expect(timebase.nanoseconds(3_000) == 6_000)
        #expect(timebase.nanoseconds(500) == 4_750)
        #expect(TraceClock.Timebase.identity.nanoseconds(123_456_789) == 123_456_789)
        // (Readings without time between them: the rate stays 1 rather than dividing by zero.)
        let still = TraceClock.Reading(ticks: 10, nanoseconds: 10)
        #expect(TraceClock.Timebase(from: still, to: still).nanosecondsPerTick == 1)
    }

    @Test("the machine's clock never goes back on one thread, and a reading's ticks agree with its nanoseconds")
    func machineClock() {
        let clock = TraceClock.machine
        var previous = clock.ticks
        for _ in 0..<10_000 {
            let now = clock.ticks
            #expect(now >= previous)
            previous = now
        }
        let first = clock.read()
        var sum = 0
        for index in 0..<1_000_000 { sum &+= index }  // (some time passes)
        let second = clock.read()
        #expect(sum > 0 && second.ticks > first.ticks && second.nanoseconds > first.nanoseconds)
    }

    @Test("a task's three events stay small: 32, 32 and 24 bytes")
    func eventSizes() {
        #expect(MemoryLayout<TaskSpawned>.stride == 32)
        #expect(MemoryLayout<TaskStarted>.stride == 32)
        #expect(MemoryLayout<TaskEnded>.stride == 24)
    }

    @Test("a spawn event gives back a named task's slot, or an unnamed task's file and line")
    func spawnEvent() {
        let unnamed = TaskSpawned(number: 1, time: 5, slot: nil, origin: #fileID, originLine: 42)
        #expect(unnamed.slot == nil && unnamed.originFile == "\(#fileID)" && unnamed.originLine == 42)
        #expect(unnamed.originFileAddress != 0)
        let space = TaskSpace("S")
        let slot = TaskSlot(space: space, index: TaskIndex(3))
        let named = TaskSpawned(number: 2, time: 6, slot: Unmanaged.passRetained(slot), origin: #fileID, originLine: 7)
        #expect(named.slot?.takeUnretainedValue() === slot && named.originFileAddress == 0)
        named.slot?.release()
        let ended = TaskEnded(number: 3, ended: 9, device: .gpu(2))
        #expect(ended.device == .gpu(2) && TaskEnded(number: 3, ended: 9, device: .cpu).device == .cpu)
        #expect(TaskStarted(number: 4, started: 1, dataIn: 2, worker: nil).worker == nil)
    }

    @Test("a thread outside the pool that records for two runs in turn keeps one buffer for each")
    func oneBufferPerThread() {
        let pool = WorkerPool.shared
        let first = TraceRecorder(path: "/dev/null", devices: [.cpu], pool: pool)
        let second = TraceRecorder(path: "/dev/null", devices: [.cpu], pool: pool)
        for round in 1...100 {
            first.recordDependency(from: round, to: round + 1)
            second.recordDependency(from: round, to: round + 2)
        }
        for (recorder, step) in [(first, 1), (second, 2)] {
            // The workers' buffers, and one of this thread's.
            #expect(recorder.buffers.count == pool.shardCount)
            var recorded: [Int] = []
            for buffer in recorder.buffers {
                buffer.dependencies.forEachEvent { recorded.append($0.to - $0.from) }
            }
            #expect(recorded == Array(repeating: step, count: 100))
            recorder.discardEvents()
        }
    }
}

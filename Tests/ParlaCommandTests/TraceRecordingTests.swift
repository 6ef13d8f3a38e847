import Foundation
import Parla
import Testing

@testable import ParlaCommand

/// The traces runs write (`Parla.run(trace:)`), checked against the trace-event format's rules and read
/// back by `parla trace`'s reader.
@Suite("traces of runs")
struct TraceRecordingTests {
    /// A temporary file for a trace.
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("parla-\(name)-\(UUID().uuidString).json").path
    }

    @Test(
        "tasks of every kind are joined right: asynchronous bodies, a failing task and its dependent that never starts, prefetches, keyed ids"
    )
    func everyKindOfTask() async throws {
        let path = Self.temporaryPath("kinds")
        defer { try? FileManager.default.removeItem(atPath: path) }
        struct Failure: Error {}
        do {
            try await Parla.run(devices: .virtual(gpus: 2), trace: path) {
                let A = PArray(NDArray<Double>.zeros([1024]))
                let T = TaskSpace("T")
                spawn(T["write"], placement: gpu(0), inOut: [A]) { A.update(A.array + 1) }
                // Waits for T["write"] and more: its read of A is prefetched (an untraced helper task).
                spawn(T["read"], dependencies: [T["async"]], placement: gpu(1), input: [A]) { _ = A.array.sum() }
                spawn(T["async"], placement: cpu) { () async throws in try await T["write"].wait() }
                spawn(T["fails"], placement: cpu) { throw Failure() }
                spawn(T["never"], dependencies: [T["fails"]], placement: cpu) {}
            }
        } catch is Failure {}
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let events = try #require(root["traceEvents"] as? [[String: Any]])
        let tasks = events.filter { $0["cat"] as? String == "task" && $0["pid"] as? Int == 1 }
        let names = tasks.compactMap { $0["name"] as? String }
        // Each task that ran (the failing one too) once, on its worker's track or the asynchronous one.
        #expect(names.sorted() == ["T_async", "T_fails", "T_read", "T_write"])
        let numbers = tasks.compactMap { ($0["args"] as? [String: Any])?["task"] as? Int }
        #expect(Set(numbers).count == 4 && numbers.allSatisfy { $0 > 0 })
        let asynchronous = tasks.first { $0["name"] as? String == "T_async" }
        #expect(asynchronous?["tid"] as? Int == 1000)  // the track of asynchronous bodies
    }

    @Test(
        "a traced run writes trace-event JSON: tracks named, tasks on their workers and devices, copies with their links, dependencies as flows"
    )
    func traceFollowsTheFormat() async throws {
        let path = Self.temporaryPath("format")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await Parla.run(devices: .virtual(gpus: 2), trace: path) {
            let A = PArray(NDArray<Double>.zeros([4096]))
            let T = TaskSpace("T")
            spawn(T[0], placement: gpu(0), inOut: [A]) { A.update(A.array + 1) }
            spawn(T[1], placement: gpu(1), input: [A]) { _ = A.array.sum() }
            spawn(T[2], dependencies: [T[1]], placement: cpu, input: [A]) { _ = A.array.sum() }
            try await T.wait()
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let events = try #require(root["traceEvents"] as? [[String: Any]])
        // Every event has a phase, a process and (but process metadata) a thread; complete events a
        // time and a duration of zero or more; flows come in pairs.
        var flows: [Int: [String]] = [:]
        for event in events {
            let phase = try #require(event["ph"] as? String)
            #expect(event["pid"] is Int)
            switch phase {
            case "M":
                #expect(event["name"] is String && event["args"] is [String: Any])
            case "X":
                #expect(event["tid"] is Int && event["ts"] is Double && event["name"] is String)
                #expect((event["dur"] as? Double).map { $0 >= 0 } == true)
            case "s", "f":
                flows[try #require(event["id"] as? Int), default: []].append(phase)
            default:
                Issue.record("unexpected phase \(phase)")
            }
        }
        #expect(flows.values.allSatisfy { $0.sorted() == ["f", "s"] })
        let tasks = events.filter { $0["cat"] as? String == "task" }
        #expect(tasks.count == 6)  // each task on its worker's track and its device's
        let names = Set(
            events.filter { $0["ph"] as? String == "M" }.compactMap {
                ($0["args"] as? [String: Any])?["name"] as? String
            }
        )
        #expect(names.isSuperset(of: ["workers", "gpu(0)", "gpu(1)", "cpu", "compute", "copies from gpu(0)"]))

        // `parla trace` reads it: the three tasks, the copies of A, the dependencies.
        let trace = try TraceFile(contentsOfFile: path)
        #expect(Set(trace.tasks.map(\.name)) == ["T_0", "T_1", "T_2"])
        #expect(Set(trace.tasks.map(\.device)) == ["gpu(0)", "gpu(1)", "cpu"])
        #expect(trace.tasks.allSatisfy { $0.space == "T" })
        #expect(trace.devices == ["gpu(0)", "gpu(1)", "cpu"])
        let links = Set(trace.copies.map { "\($0.source) -> \($0.destination)" })
        #expect(links.contains("cpu -> gpu(0)") && links.contains("gpu(0) -> gpu(1)"))
        #expect(trace.copies.allSatisfy { $0.bytes == 4096 * 8 })
        #expect(trace.dependencies.count >= 2)  // T_1 after T_0 (inferred), T_2 after T_1
        #expect(trace.wallMicroseconds > 0)
    }

    @Test("--trace FILE traces the runs a command starts: lesson 6's tasks and copies")
    func commandTraceOption() async throws {
        let path = Self.temporaryPath("lesson6")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let options = try TraceOptions.parse(["--trace", path])
        try await options.tracing { _ = try await output(ofLesson: 6) }
        let trace = try TraceFile(contentsOfFile: path)
        #expect(trace.tasks.count == 4)
        #expect(!trace.copies.isEmpty)
    }

    @Test("a run without a trace writes nothing")
    func noTraceByDefault() async throws {
        let path = Self.temporaryPath("none")
        try await Parla.run(devices: .virtual(gpus: 1)) { spawn(placement: gpu(0)) {} }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a multi-device task is drawn on the compute track of each of its devices, and counts on each")
    func multiDeviceTask() async throws {
        let path = Self.temporaryPath("group")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await Parla.run(devices: .virtual(gpus: 3), trace: path) {
            let T = TaskSpace("T")
            spawn(T[0], placement: DeviceGroup(gpu(0), gpu(2))) {}
            spawn(T[1], placement: gpu(1)) {}
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let events = try #require(root["traceEvents"] as? [[String: Any]])
        let group = events.filter { $0["cat"] as? String == "task" && $0["name"] as? String == "T_0" }
        // Its worker's track, then gpu(0)'s and gpu(2)'s compute tracks (pids 2 and 4), each naming its device.
        #expect(group.count == 3)
        let onDevices = group.filter { ($0["pid"] as? Int ?? 0) >= 2 }
        #expect(Set(onDevices.compactMap { $0["pid"] as? Int }) == [2, 4])
        #expect(
            Set(onDevices.compactMap { ($0["args"] as? [String: Any])?["device"] as? String }) == ["gpu(0)", "gpu(2)"]
        )

        let trace = try TraceFile(contentsOfFile: path)
        let task = try #require(trace.tasks.first { $0.name == "T_0" })
        #expect(task.devices == ["gpu(0)", "gpu(2)"])
        let summary = TraceSummary(trace)
        #expect(summary.devices.map(\.taskCount) == [1, 1, 1, 0])  // gpu(0), gpu(1), gpu(2), cpu
    }

    @Test("a trace of thousands of tasks, written a piece at a time, keeps each task once with its times in order")
    func largeTrace() async throws {
        let path = Self.temporaryPath("large")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let count = 20_000
        try await Parla.run(devices: .virtual(gpus: 1), trace: path) {
            let T = TaskSpace("T")
            for i in 0..<count {
                spawn(T[i], dependencies: i >= 8 ? [T[i - 8]] : [], placement: i % 2 == 0 ? cpu : gpu(0)) {}
            }
        }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size > 4 << 20)  // several pieces of a mebibyte
        let trace = try TraceFile(contentsOfFile: path)
        #expect(trace.tasks.count == count)
        #expect(Set(trace.tasks.map(\.number)).count == count)
        // (An arrow is drawn where a task waited: not for a predecessor that had finished when it was spawned.)
        #expect(trace.dependencies.count <= count - 8)
        #expect(trace.dependencies.allSatisfy { $0.to - $0.from == 8 })
        // (Times are rounded to nanoseconds on the way: a microsecond of slack.)
        for task in trace.tasks {
            #expect(task.start >= 0 && task.waitedForDependencies >= 0 && task.waitedForData >= 0)
            #expect(task.end <= trace.wallMicroseconds + 1)
        }
        let byNumber = Dictionary(uniqueKeysWithValues: trace.tasks.map { ($0.number, $0) })
        for dependency in trace.dependencies {
            let (before, after) = (try #require(byNumber[dependency.from]), try #require(byNumber[dependency.to]))
            #expect(before.end <= after.start + 1)
        }
    }

    @Test("a trace's times are the monotonic clock's: a task that sleeps 30 ms lasts 30 ms or more")
    func timesAreTheClocks() async throws {
        let path = Self.temporaryPath("clock")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await Parla.run(devices: .virtual(gpus: 0), trace: path) {
            spawn(TaskSpace("T")[0], placement: cpu) { usleep(30_000) }
        }
        let trace = try TraceFile(contentsOfFile: path)
        let task = try #require(trace.tasks.first)
        #expect(task.duration >= 29_990)
        #expect(task.end <= trace.wallMicroseconds + 1)
    }

    @Test("two traced runs at once each write their own tasks, spawned from the same kinds of threads")
    func concurrentTracedRuns() async throws {
        let paths = [Self.temporaryPath("first"), Self.temporaryPath("second")]
        defer { for path in paths { try? FileManager.default.removeItem(atPath: path) } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, path) in paths.enumerated() {
                group.addTask {
                    try await Parla.run(devices: .virtual(gpus: 1), trace: path) {
                        let space = TaskSpace(index == 0 ? "A" : "B")
                        for i in 0..<2_000 {
                            spawn(space[i], placement: i % 2 == 0 ? cpu : gpu(0)) {}
                            if i % 100 == 0 { await Task.yield() }  // (may resume on another thread)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        for (index, path) in paths.enumerated() {
            let trace = try TraceFile(contentsOfFile: path)
            #expect(trace.tasks.count == 2_000)
            #expect(trace.tasks.allSatisfy { $0.space == (index == 0 ? "A" : "B") })
        }
    }

    @Test("a trace replaces the file whole, leaves nothing beside it, and writes /dev/null in place")
    func writingTheFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "parla-write-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("run.json").path
        try Data("not a trace".utf8).write(to: URL(fileURLWithPath: path))
        try await Parla.run(devices: .virtual(gpus: 1), trace: path) { spawn(TaskSpace("T")[0], placement: gpu(0)) {} }
        #expect(try TraceFile(contentsOfFile: path).tasks.count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["run.json"])

        try await Parla.run(devices: .virtual(gpus: 1), trace: "/dev/null") { spawn(placement: gpu(0)) {} }
        let type = try FileManager.default.attributesOfItem(atPath: "/dev/null")[.type] as? FileAttributeType
        #expect(type == .typeCharacterSpecial)
    }

    @Test("a trace that cannot be written does not fail the run")
    func unwritableTrace() async throws {
        let path = "/nonexistent-\(UUID().uuidString)/run.json"
        try await Parla.run(devices: .virtual(gpus: 1), trace: path) { spawn(placement: gpu(0)) {} }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}

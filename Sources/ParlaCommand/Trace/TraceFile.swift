import Foundation

/// A run's trace as `parla trace` reads it: the tasks, copies and dependencies of a file in the
/// Chrome/Perfetto trace-event JSON format that the runtime writes (see ``TraceFile/init(contentsOfFile:)``).
///
/// Times are in microseconds from the run's start, as in the file.
struct TraceFile {
    /// The run's devices, in the run's device order (`gpu(0)`, …, `cpu`), then any other device
    /// that a task or copy names.
    var devices: [String]
    /// The run's wall time in microseconds: `otherData.wallSeconds`, or, without it, the end of
    /// the last task or copy.
    var wallMicroseconds: Double
    /// Each task once, by start time (then by number).
    var tasks: [TraceTask]
    /// The copies, by start time.
    var copies: [TraceCopy]
    /// The dependency edges between tasks, each once, sorted.
    var dependencies: [TraceDependency]

    /// The tasks that ran on each device (a multi-device task under each of its devices).
    var tasksByDevice: [String: [TraceTask]] {
        var grouped: [String: [TraceTask]] = [:]
        for task in self.tasks {
            for device in task.devices { grouped[device, default: []].append(task) }
        }
        return grouped
    }

    /// The end of the last task or copy, or the wall time if later: the span a chart of the run covers.
    var horizonMicroseconds: Double {
        let lastTask = tasks.map(\.end).max() ?? 0
        let lastCopy = copies.map(\.end).max() ?? 0
        return Swift.max(wallMicroseconds, lastTask, lastCopy)
    }

    /// Reads and decodes the trace at `path`.
    ///
    /// - Throws: ``TraceFileError`` naming the file and what is wrong with it.
    init(contentsOfFile path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "it cannot be read" : "no such file"
            throw TraceFileError(file: path, problem: reason)
        }
        try self.init(data: data, file: path)
    }

    /// Decodes a trace from the bytes of a file; `file` names it in errors.
    ///
    /// - Throws: ``TraceFileError`` naming `file` and what is wrong with it.
    init(data: Data, file: String) throws {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw TraceFileError(file: file, problem: "it is not JSON (\(error.localizedDescription))")
        }
        var reader = TraceEventReader(file: file)
        try reader.read(json)
        self = reader.traceFile()
    }

    /// The model itself, from its parts (for tests and tools that make traces).
    init(
        devices: [String],
        wallMicroseconds: Double,
        tasks: [TraceTask],
        copies: [TraceCopy],
        dependencies: [TraceDependency]
    ) {
        self.devices = devices
        self.wallMicroseconds = wallMicroseconds
        self.tasks = tasks.sorted { ($0.start, $0.number) < ($1.start, $1.number) }
        self.copies = copies.sorted { $0.start < $1.start }
        self.dependencies = Set(dependencies).sorted { ($0.from, $0.to) < ($1.from, $1.to) }
    }
}

/// One task of a trace.
struct TraceTask: Equatable {
    /// The task's number (`args.task`), which dependencies name.
    var number: Int
    /// The task's name (`T_3`, or `(unnamed task spawned at File.swift:12)`).
    var name: String
    /// The name of its task space; empty for unnamed tasks.
    var space: String
    /// The device it ran on (`gpu(0)`, `cpu`); for a multi-device task, the first of its devices.
    var device: String
    /// When it started, in microseconds from the run's start.
    var start: Double
    /// How long it ran, in microseconds.
    var duration: Double
    /// How long it waited for its dependencies, in microseconds.
    var waitedForDependencies: Double
    /// How long it waited for its data, in microseconds.
    var waitedForData: Double

    /// A multi-device task's other devices (empty for a task of one device).
    var otherDevices: [String] = []

    /// When it ended, in microseconds from the run's start.
    var end: Double { start + duration }

    /// Every device it ran on.
    var devices: [String] { [self.device] + self.otherDevices }
}

/// One copy between two devices' memories.
struct TraceCopy: Equatable {
    /// The device copied from.
    var source: String
    /// The device copied to.
    var destination: String
    /// The bytes copied.
    var bytes: Int
    /// When it started, in microseconds from the run's start.
    var start: Double
    /// How long it took, in microseconds.
    var duration: Double

    /// When it ended, in microseconds from the run's start.
    var end: Double { start + duration }
}

/// A dependency edge: task `to` waited for task `from` (both by number).
struct TraceDependency: Hashable {
    /// The predecessor's number.
    var from: Int
    /// The successor's number.
    var to: Int
}

/// What is wrong with a trace file.
struct TraceFileError: Error, CustomStringConvertible, Equatable {
    /// The file, as given.
    var file: String
    /// What is wrong: `no such file`, `it is not JSON (…)`, `event 12 (a task) has no "dur"`.
    var problem: String

    var description: String { "cannot read the trace \(file): \(problem)" }
}

import Foundation

/// Reads the events of a decoded trace-event JSON document into a ``TraceFile``.
///
/// Lenient about what it does not use: extra keys, other phases and categories, metadata it does not
/// know. A task appears on its worker's track and on its device's compute track (a multi-device task on
/// each of its devices'); these are one task, keyed by `args.task`.
struct TraceEventReader {
    /// The file, named in errors.
    let file: String
    /// `otherData.devices`, when present.
    private var listedDevices: [String]?
    /// `otherData.wallSeconds`, when present.
    private var wallSeconds: Double?
    /// `process_name` metadata: the name of each pid.
    private var processNames: [Int: String] = [:]
    /// The tasks by number, each with the pid of a device compute track it appeared on, if any.
    private var tasks: [Int: (task: TraceTask, devicePID: Int?)] = [:]
    /// The copies, each with the pid and tid of its queue (for copies without `args`).
    private var copies: [(copy: TraceCopy, pid: Int?, tid: Int?)] = []
    /// The dependency edges.
    private var dependencies: Set<TraceDependency> = []
    /// The pid of the first device: pid 2 + i is device i.
    private static let firstDevicePID = 2

    /// A reader for the events of `file`.
    init(file: String) {
        self.file = file
    }

    /// Reads a decoded document: an object with `traceEvents` (and optionally `otherData`), or a bare
    /// array of events.
    mutating func read(_ json: Any) throws {
        let events: [Any]
        if let object = json as? [String: Any] {
            guard let list = object["traceEvents"] else {
                throw problem("it has no \"traceEvents\" (it is not a trace-event file)")
            }
            guard let array = list as? [Any] else { throw problem("its \"traceEvents\" is not an array") }
            events = array
            if let other = object["otherData"] as? [String: Any] {
                listedDevices = (other["devices"] as? [Any])?.compactMap { $0 as? String }
                wallSeconds = Self.number(other["wallSeconds"])
            }
        } else if let array = json as? [Any] {
            events = array
        } else {
            throw problem("it is neither an object with \"traceEvents\" nor an array of events")
        }
        for (index, event) in events.enumerated() {
            guard let event = event as? [String: Any] else { throw problem("event \(index) is not an object") }
            try read(event, index: index)
        }
    }

    /// Reads one event; `index` is its place in `traceEvents`, named in errors.
    private mutating func read(_ event: [String: Any], index: Int) throws {
        let phase = event["ph"] as? String ?? ""
        let category = event["cat"] as? String ?? ""
        let pid = Self.integer(event["pid"])
        let args = event["args"] as? [String: Any] ?? [:]
        switch (phase, category) {
        case ("M", _):
            if event["name"] as? String == "process_name", let pid, let name = args["name"] as? String {
                processNames[pid] = name
            }
        case ("X", "task"):
            let (start, duration) = try times(event, index: index, kind: "a task")
            let name = event["name"] as? String ?? ""
            guard let number = Self.integer(args["task"]) else {
                throw problem("event \(index) (task \"\(name)\") has no \"args.task\" number")
            }
            let onDeviceTrack =
                pid.map { $0 >= Self.firstDevicePID } == true && (Self.integer(event["tid"]) ?? 0) == 0
            if var known = tasks[number] {
                if onDeviceTrack && known.devicePID == nil { known.devicePID = pid }
                if let device = args["device"] as? String {
                    if known.task.device.isEmpty {
                        known.task.device = device
                    } else if onDeviceTrack && device != known.task.device && !known.task.otherDevices.contains(device)
                    {
                        // A multi-device task, on the compute track of another of its devices.
                        known.task.otherDevices.append(device)
                    }
                }
                tasks[number] = known
                return
            }
            let task = TraceTask(
                number: number,
                name: name,
                space: args["space"] as? String ?? "",
                device: args["device"] as? String ?? "",
                start: start,
                duration: duration,
                waitedForDependencies: Self.number(args["waitedForDependenciesMicroseconds"]) ?? 0,
                waitedForData: Self.number(args["waitedForDataMicroseconds"]) ?? 0
            )
            tasks[number] = (task, onDeviceTrack ? pid : nil)
        case ("X", "copy"):
            let (start, duration) = try times(event, index: index, kind: "a copy")
            let copy = TraceCopy(
                source: args["source"] as? String ?? "",
                destination: args["destination"] as? String ?? "",
                bytes: Self.integer(args["bytes"]) ?? 0,
                start: start,
                duration: duration
            )
            copies.append((copy, pid, Self.integer(event["tid"])))
        case ("f", "dependency"):
            guard let from = Self.integer(args["from"]), let to = Self.integer(args["to"]) else {
                throw problem("event \(index) (the end of a dependency arrow) has no \"args.from\" and \"args.to\"")
            }
            dependencies.insert(TraceDependency(from: from, to: to))
        default:
            break
        }
    }

    /// The model of what was read: devices and names resolved from the metadata where the events'
    /// `args` leave them out.
    func traceFile() -> TraceFile {
        var devices = listedDevices ?? []
        if devices.isEmpty {
            devices = processNames.filter { $0.key >= Self.firstDevicePID }.sorted { $0.key < $1.key }.map(\.value)
        }
        /// The device of a device pid: from the run's device list, else from the metadata.
        func device(ofPID pid: Int?) -> String? {
            guard let pid, pid >= Self.firstDevicePID else { return nil }
            let index = pid - Self.firstDevicePID
            return index < devices.count ? devices[index] : processNames[pid]
        }
        let resolvedTasks = tasks.values.map { entry in
            var task = entry.task
            if task.device.isEmpty { task.device = device(ofPID: entry.devicePID) ?? "?" }
            return task
        }
        let resolvedCopies = copies.map { entry in
            var copy = entry.copy
            if copy.destination.isEmpty { copy.destination = device(ofPID: entry.pid) ?? "?" }
            if copy.source.isEmpty {
                copy.source = entry.tid.flatMap { device(ofPID: $0 - 1 + Self.firstDevicePID) } ?? "?"
            }
            return copy
        }
        for name in resolvedTasks.sorted(by: { $0.start < $1.start }).flatMap(\.devices)
            + resolvedCopies.flatMap({ [$0.source, $0.destination] }) where !devices.contains(name)
        {
            devices.append(name)
        }
        let lastEnd = Swift.max(resolvedTasks.map(\.end).max() ?? 0, resolvedCopies.map(\.end).max() ?? 0)
        return TraceFile(
            devices: devices,
            wallMicroseconds: wallSeconds.map { $0 * 1e6 } ?? lastEnd,
            tasks: resolvedTasks,
            copies: resolvedCopies,
            dependencies: Array(dependencies)
        )
    }

    /// The `ts` and `dur` of a complete event, both required.
    private func times(_ event: [String: Any], index: Int, kind: String) throws -> (start: Double, duration: Double) {
        guard let start = Self.number(event["ts"]) else { throw problem("event \(index) (\(kind)) has no \"ts\"") }
        guard let duration = Self.number(event["dur"]), duration >= 0 else {
            throw problem("event \(index) (\(kind)) has no \"dur\" of zero or more")
        }
        return (start, duration)
    }

    /// An error about this file.
    private func problem(_ text: String) -> TraceFileError {
        TraceFileError(file: file, problem: text)
    }

    /// A JSON number as a `Double`; `nil` for anything else.
    static func number(_ value: Any?) -> Double? {
        if let number = value as? NSNumber { return number.doubleValue }
        return value as? Double ?? (value as? Int).map(Double.init)
    }

    /// A JSON number that is a whole number, as an `Int`.
    static func integer(_ value: Any?) -> Int? {
        guard let number = number(value), number.rounded() == number, Swift.abs(number) < 9e15 else { return nil }
        return Int(number)
    }
}

import ParlaDevices

#if canImport(Glibc)
import Glibc
#endif

/// The trace as Chrome/Perfetto trace-event JSON (open it in ui.perfetto.dev or chrome://tracing):
///
/// - process 1, "workers": one track per worker thread (tid = the worker's number), and tid 1000 for
///   asynchronous bodies (run by Swift's threads);
/// - process 2 + i, the run's device i (GPUs in order, then the CPU): track 0, "compute", its tasks;
///   track 1 + j, "copies from" device j, the copies into device i from device j;
/// - a task is a complete event (`"ph": "X"`) on its worker's track and on its device's compute track,
///   with its number, space, device and the microseconds it waited for its dependencies (and a
///   worker) and for its data;
/// - a copy is a complete event on its queue's track, with its bytes, link and GB/s;
/// - a dependency is a flow (`"ph": "s"` at the end of the predecessor, `"ph": "f"` at the start of the
///   successor, on the devices' compute tracks).
///
/// Times are microseconds from the run's start; `otherData` gives the run's wall time and devices.
extension TraceRecorder {
    /// The tid of the track of asynchronous bodies in the workers' process.
    static let asynchronousTrack = 1000

    /// Writes the trace to ``path``; returns an error message when it cannot.
    func write(wallSeconds: Double) -> String? {
        let text = self.json(wallSeconds: wallSeconds)
        guard let file = fopen(self.path, "w") else {
            return "cannot write the trace to \(self.path): \(String(cString: strerror(errno)))"
        }
        defer { fclose(file) }
        let written = text.utf8CString.withUnsafeBufferPointer { buffer in
            fwrite(buffer.baseAddress, 1, buffer.count - 1, file)
        }
        return written == text.utf8.count ? nil : "cannot write the trace to \(self.path): the disk refused it"
    }

    /// The trace as JSON text.
    func json(wallSeconds: Double) -> String {
        let events = self.events
        var tasks: [Int: TracedTask] = [:]
        var copies: [TracedCopy] = []
        var dependencies: [(Int, Int)] = []
        var workers = Set<Int>()
        for event in events {
            switch event {
            case .task(let task):
                tasks[task.number] = task
                workers.insert(task.worker ?? Self.asynchronousTrack)
            case .copy(let copy): copies.append(copy)
            case .dependency(let from, let to): dependencies.append((from, to))
            }
        }
        var lines: [String] = []
        func metadata(_ kind: String, pid: Int, tid: Int? = nil, _ name: String) {
            let thread = tid.map { ",\"tid\":\($0)" } ?? ""
            lines.append(
                "{\"ph\":\"M\",\"name\":\"\(kind)\",\"pid\":\(pid)\(thread),\"args\":{\"name\":\(Self.quoted(name))}}"
            )
        }
        metadata("process_name", pid: 1, "workers")
        for worker in workers.sorted() {
            let name = worker == Self.asynchronousTrack ? "asynchronous bodies" : "worker \(worker)"
            metadata("thread_name", pid: 1, tid: worker, name)
        }
        for (index, device) in self.devices.enumerated() {
            metadata("process_name", pid: 2 + index, "\(device)")
            lines.append(
                "{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":\(2 + index),\"args\":{\"sort_index\":\(index)}}"
            )
            metadata("thread_name", pid: 2 + index, tid: 0, "compute")
            for (source, other) in self.devices.enumerated() where other != device {
                metadata("thread_name", pid: 2 + index, tid: 1 + source, "copies from \(other)")
            }
        }
        for task in tasks.values.sorted(by: { $0.started < $1.started }) {
            let args =
                "{\"task\":\(task.number),\"space\":\(Self.quoted(task.space)),\"device\":\(Self.quoted("\(task.device)")),"
                + "\"waitedForDependenciesMicroseconds\":\(self.microseconds(task.started, from: task.spawned)),"
                + "\"waitedForDataMicroseconds\":\(self.microseconds(task.dataIn, from: task.started))}"
            let span =
                "\"ts\":\(self.microseconds(task.started)),\"dur\":\(self.microseconds(task.ended, from: task.started))"
            let name = Self.quoted(task.name)
            let worker = task.worker ?? Self.asynchronousTrack
            lines.append(
                "{\"ph\":\"X\",\"cat\":\"task\",\"name\":\(name),\"pid\":1,\"tid\":\(worker),\(span),\"args\":\(args)}"
            )
            lines.append(
                "{\"ph\":\"X\",\"cat\":\"task\",\"name\":\(name),\"pid\":\(self.process(of: task.device)),\"tid\":0,\(span),\"args\":\(args)}"
            )
        }
        for copy in copies.sorted(by: { $0.started < $1.started }) {
            let seconds = Double(copy.ended &- copy.started) * 1e-9
            let rate = seconds > 0 ? (Double(copy.bytes) / seconds / 1e7).rounded() / 100 : 0
            let sourceTrack = 1 + (self.devices.firstIndex(of: copy.source) ?? 0)
            lines.append(
                "{\"ph\":\"X\",\"cat\":\"copy\",\"name\":\(Self.quoted("copy \(copy.source) -> \(copy.destination)")),"
                    + "\"pid\":\(self.process(of: copy.destination)),\"tid\":\(sourceTrack),"
                    + "\"ts\":\(self.microseconds(copy.started)),\"dur\":\(self.microseconds(copy.ended, from: copy.started)),"
                    + "\"args\":{\"bytes\":\(copy.bytes),\"source\":\(Self.quoted("\(copy.source)")),"
                    + "\"destination\":\(Self.quoted("\(copy.destination)")),\"gigabytesPerSecond\":\(rate)}}"
            )
        }
        for (flow, (from, to)) in dependencies.enumerated() {
            guard let predecessor = tasks[from], let successor = tasks[to] else { continue }
            // (Inside each slice, so that the arrow binds to it.)
            let end = predecessor.ended &- Swift.min((predecessor.ended &- predecessor.started) / 2, 500)
            let start = successor.started &+ Swift.min((successor.ended &- successor.started) / 2, 500)
            lines.append(
                "{\"ph\":\"s\",\"cat\":\"dependency\",\"name\":\"dependency\",\"id\":\(flow),"
                    + "\"pid\":\(self.process(of: predecessor.device)),\"tid\":0,\"ts\":\(self.microseconds(end))}"
            )
            lines.append(
                "{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"dependency\",\"name\":\"dependency\",\"id\":\(flow),"
                    + "\"pid\":\(self.process(of: successor.device)),\"tid\":0,\"ts\":\(self.microseconds(start)),"
                    + "\"args\":{\"from\":\(from),\"to\":\(to)}}"
            )
        }
        let devices = self.devices.map { Self.quoted("\($0)") }.joined(separator: ",")
        return "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n" + lines.joined(separator: ",\n")
            + "\n],\"otherData\":{\"wallSeconds\":\(wallSeconds),\"devices\":[\(devices)]}}\n"
    }

    /// The pid of `device`'s process.
    private func process(of device: Device) -> Int { 2 + (self.devices.firstIndex(of: device) ?? 0) }

    /// Microseconds from `start` (by default, the run's start) to `time`, with three decimals.
    private func microseconds(_ time: UInt64, from start: UInt64? = nil) -> Double {
        let base = start ?? self.origin
        let nanoseconds = time >= base ? Double(time - base) : 0
        return (nanoseconds).rounded() / 1000
    }

    /// `text` as a JSON string.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}

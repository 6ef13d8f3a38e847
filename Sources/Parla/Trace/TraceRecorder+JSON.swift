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
        let bytes = self.json(wallSeconds: wallSeconds)
        guard let file = fopen(self.path, "w") else {
            return "cannot write the trace to \(self.path): \(String(cString: strerror(errno)))"
        }
        defer { fclose(file) }
        let written = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
        return written == bytes.count ? nil : "cannot write the trace to \(self.path): the disk refused it"
    }

    /// The trace as JSON text (UTF-8), written straight into bytes.
    func json(wallSeconds: Double) -> [UInt8] {
        let events = self.events
        // A task's events, joined by its number (tasks are numbered from 1 as they are spawned;
        // number 0 is a task the trace did not number, such as a prefetch).
        let count = self.taskCount + 1
        var spawns = [TaskSpawned?](repeating: nil, count: count)
        var starts = [(started: UInt64, dataIn: UInt64, worker: Int?)?](repeating: nil, count: count)
        var ends = [(ended: UInt64, device: Device)?](repeating: nil, count: count)
        var copies: [TracedCopy] = []
        var dependencies: [(Int, Int)] = []
        for event in events {
            switch event {
            case .spawned(let spawn) where (1..<count).contains(spawn.number): spawns[spawn.number] = spawn
            case .started(let number, let started, let dataIn, let worker) where (1..<count).contains(number):
                starts[number] = (started, dataIn, worker)
            case .finished(let number, let ended, let device) where (1..<count).contains(number):
                ends[number] = (ended, device)
            case .spawned: break
            case .started, .finished: break
            case .copy(let copy): copies.append(copy)
            case .dependency(let from, let to): dependencies.append((from, to))
            }
        }
        var tasks = [TracedTask?](repeating: nil, count: count)
        var finished: [TracedTask] = []
        var workers = Set<Int>()
        for number in 1..<count {
            guard let spawn = spawns[number], let end = ends[number] else { continue }
            // (A task that failed before it started, or before its data was in, gets those times.)
            let start = starts[number] ?? (end.ended, end.ended, nil)
            let task = TracedTask(
                spawn: spawn,
                started: start.started,
                dataIn: start.dataIn,
                ended: end.ended,
                device: end.device,
                worker: start.worker
            )
            tasks[number] = task
            finished.append(task)
            workers.insert(task.worker ?? Self.asynchronousTrack)
        }
        var out = JSONBytes(origin: self.origin)
        out.bytes.reserveCapacity(256 * (2 * tasks.count + copies.count + dependencies.count) + 4096)
        out.append("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n")
        func metadata(_ kind: String, pid: Int, tid: Int? = nil, _ name: String) {
            out.separate()
            out.append("{\"ph\":\"M\",\"name\":")
            out.appendQuoted(kind)
            out.append(",\"pid\":")
            out.append(pid)
            if let tid {
                out.append(",\"tid\":")
                out.append(tid)
            }
            out.append(",\"args\":{\"name\":")
            out.appendQuoted(name)
            out.append("}}")
        }
        metadata("process_name", pid: 1, "workers")
        for worker in workers.sorted() {
            let name = worker == Self.asynchronousTrack ? "asynchronous bodies" : "worker \(worker)"
            metadata("thread_name", pid: 1, tid: worker, name)
        }
        // Each device's name as a JSON string, made once.
        let deviceNames = self.devices.map { JSONBytes.quoted("\($0)") }
        for (index, device) in self.devices.enumerated() {
            metadata("process_name", pid: 2 + index, "\(device)")
            out.separate()
            out.append("{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":")
            out.append(2 + index)
            out.append(",\"args\":{\"sort_index\":")
            out.append(index)
            out.append("}}")
            metadata("thread_name", pid: 2 + index, tid: 0, "compute")
            for (source, other) in self.devices.enumerated() where other != device {
                metadata("thread_name", pid: 2 + index, tid: 1 + source, "copies from \(other)")
            }
        }
        // The names of unnamed tasks as JSON strings, made once per line that spawns them.
        var unnamed: [UnnamedOrigin: [UInt8]] = [:]
        func quotedName(of task: TracedTask) -> [UInt8] {
            guard task.spawn.slot == nil, task.spawn.origin.hasPointerRepresentation else {
                return JSONBytes.quoted(task.name)
            }
            let origin = UnnamedOrigin(file: UInt(bitPattern: task.spawn.origin.utf8Start), line: task.spawn.originLine)
            if let known = unnamed[origin] { return known }
            let made = JSONBytes.quoted(task.name)
            unnamed[origin] = made
            return made
        }
        let noSpace = JSONBytes.quoted("")
        for task in finished.sorted(by: { $0.started < $1.started }) {
            let name = quotedName(of: task)
            let space = task.spawn.slot.map { JSONBytes.quoted($0.spaceName) } ?? noSpace
            let device = deviceNames[self.position(of: task.device)]
            // On its worker's track, then on its device's compute track.
            func event(pid: Int, tid: Int) {
                out.beginSlice("task", name: name, pid: pid, tid: tid, from: task.started, to: task.ended)
                out.append("\"task\":")
                out.append(task.number)
                out.append(",\"space\":")
                out.append(space)
                out.append(",\"device\":")
                out.append(device)
                out.append(",\"waitedForDependenciesMicroseconds\":")
                out.appendMicroseconds(task.started, from: task.spawned)
                out.append(",\"waitedForDataMicroseconds\":")
                out.appendMicroseconds(task.dataIn, from: task.started)
                out.append("}}")
            }
            event(pid: 1, tid: task.worker ?? Self.asynchronousTrack)
            event(pid: self.process(of: task.device), tid: 0)
        }
        for copy in copies.sorted(by: { $0.started < $1.started }) {
            let nanoseconds = copy.ended &- copy.started
            // GB/s in hundredths (bytes per nanosecond are GB/s).
            let hundredths = nanoseconds > 0 ? Int((Double(copy.bytes) / Double(nanoseconds) * 100).rounded()) : 0
            out.beginSlice(
                "copy",
                name: JSONBytes.quoted("copy \(copy.source) -> \(copy.destination)"),
                pid: self.process(of: copy.destination),
                tid: 1 + self.position(of: copy.source),
                from: copy.started,
                to: copy.ended
            )
            out.append("\"bytes\":")
            out.append(copy.bytes)
            out.append(",\"source\":")
            out.append(deviceNames[self.position(of: copy.source)])
            out.append(",\"destination\":")
            out.append(deviceNames[self.position(of: copy.destination)])
            out.append(",\"gigabytesPerSecond\":")
            out.appendHundredths(hundredths)
            out.append("}}")
        }
        for (flow, (from, to)) in dependencies.enumerated() {
            guard (1..<count).contains(from), (1..<count).contains(to), let predecessor = tasks[from],
                let successor = tasks[to]
            else { continue }
            // (Inside each slice, so that the arrow binds to it.)
            let end = predecessor.ended &- Swift.min((predecessor.ended &- predecessor.started) / 2, 500)
            let start = successor.started &+ Swift.min((successor.ended &- successor.started) / 2, 500)
            out.separate()
            out.append("{\"ph\":\"s\",\"cat\":\"dependency\",\"name\":\"dependency\",\"id\":")
            out.append(flow)
            out.append(",\"pid\":")
            out.append(self.process(of: predecessor.device))
            out.append(",\"tid\":0,\"ts\":")
            out.appendMicroseconds(end)
            out.append("}")
            out.separate()
            out.append("{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"dependency\",\"name\":\"dependency\",\"id\":")
            out.append(flow)
            out.append(",\"pid\":")
            out.append(self.process(of: successor.device))
            out.append(",\"tid\":0,\"ts\":")
            out.appendMicroseconds(start)
            out.append(",\"args\":{\"from\":")
            out.append(from)
            out.append(",\"to\":")
            out.append(to)
            out.append("}}")
        }
        out.append("\n],\"otherData\":{\"wallSeconds\":")
        out.append("\(wallSeconds)")
        out.append(",\"devices\":[")
        for (index, name) in deviceNames.enumerated() {
            if index > 0 { out.append(",") }
            out.append(name)
        }
        out.append("]}}\n")
        return out.bytes
    }

    /// Where unnamed tasks were spawned (the file's text never moves: a `StaticString`).
    private struct UnnamedOrigin: Hashable {
        let file: UInt
        let line: UInt
    }

    /// `device`'s place among the run's devices.
    private func position(of device: Device) -> Int { self.devices.firstIndex(of: device) ?? 0 }

    /// The pid of `device`'s process.
    private func process(of device: Device) -> Int { 2 + self.position(of: device) }
}

/// JSON text being written as UTF-8 bytes: numbers are formatted by hand (no `String` per value).
struct JSONBytes {
    var bytes: [UInt8] = []
    /// The run's start: times are microseconds from it.
    let origin: UInt64
    /// Whether an event was written (the next one is preceded by a comma and a new line).
    private var hasEvents = false

    init(origin: UInt64) { self.origin = origin }

    /// Starts the next event of the list.
    mutating func separate() {
        if self.hasEvents { self.append(",\n") }
        self.hasEvents = true
    }

    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { self.bytes.append(contentsOf: $0) }
    }

    mutating func append(_ text: String) { self.bytes.append(contentsOf: text.utf8) }

    mutating func append(_ made: [UInt8]) { self.bytes.append(contentsOf: made) }

    mutating func append(_ value: Int) {
        if value < 0 {
            self.bytes.append(UInt8(ascii: "-"))
            self.appendDigits(UInt64(-value))
        } else {
            self.appendDigits(UInt64(value))
        }
    }

    private mutating func appendDigits(_ value: UInt64) {
        if value >= 10 { self.appendDigits(value / 10) }
        self.bytes.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    /// Microseconds from `start` (by default, the run's start) to `time`, with three decimals (0 when
    /// `time` is earlier).
    mutating func appendMicroseconds(_ time: UInt64, from start: UInt64? = nil) {
        let base = start ?? self.origin
        let nanoseconds = time >= base ? time - base : 0
        self.appendDigits(nanoseconds / 1000)
        let fraction = nanoseconds % 1000
        self.bytes.append(UInt8(ascii: "."))
        self.bytes.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        self.bytes.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        self.bytes.append(UInt8(ascii: "0") + UInt8(fraction % 10))
    }

    /// Starts a complete event (`"ph":"X"`) of category `category`, named `name` (a quoted JSON
    /// string), on track `tid` of process `pid`, from `start` to `end`, up to the opening of its `args`
    /// object (the caller writes the arguments and closes it with `}}`).
    mutating func beginSlice(
        _ category: StaticString,
        name: [UInt8],
        pid: Int,
        tid: Int,
        from start: UInt64,
        to end: UInt64
    ) {
        self.separate()
        self.append("{\"ph\":\"X\",\"cat\":\"")
        self.append(category)
        self.append("\",\"name\":")
        self.append(name)
        self.append(",\"pid\":")
        self.append(pid)
        self.append(",\"tid\":")
        self.append(tid)
        self.append(",\"ts\":")
        self.appendMicroseconds(start)
        self.append(",\"dur\":")
        self.appendMicroseconds(end, from: start)
        self.append(",\"args\":{")
    }

    /// `hundredths` / 100, with two decimals.
    mutating func appendHundredths(_ hundredths: Int) {
        self.append(hundredths / 100)
        self.bytes.append(UInt8(ascii: "."))
        self.bytes.append(UInt8(ascii: "0") + UInt8(hundredths % 100 / 10))
        self.bytes.append(UInt8(ascii: "0") + UInt8(hundredths % 10))
    }

    /// `text` as a JSON string, in bytes of its own (to be appended more than once).
    static func quoted(_ text: String) -> [UInt8] {
        var made = JSONBytes(origin: 0)
        made.appendQuoted(text)
        return made.bytes
    }

    /// `text` as a JSON string.
    mutating func appendQuoted(_ text: String) {
        self.bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): self.append("\\\"")
            case UInt8(ascii: "\\"): self.append("\\\\")
            case UInt8(ascii: "\n"): self.append("\\n")
            case UInt8(ascii: "\r"): self.append("\\r")
            case UInt8(ascii: "\t"): self.append("\\t")
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                self.append("\\u00")
                self.bytes.append(hex[Int(byte >> 4)])
                self.bytes.append(hex[Int(byte & 0xF)])
            default: self.bytes.append(byte)
            }
        }
        self.bytes.append(UInt8(ascii: "\""))
    }
}

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
/// - a task is a complete event (`"ph": "X"`) on its worker's track and on its device's compute track
///   (a multi-device task on each of its devices'), with its number, space, device and the
///   microseconds it waited for its dependencies (and a worker) and for its data;
/// - a copy is a complete event on its queue's track, with its bytes, link and GB/s;
/// - a dependency is a flow (`"ph": "s"` at the end of the predecessor, `"ph": "f"` at the start of the
///   successor, on the devices' compute tracks).
///
/// Times are microseconds from the run's start; `otherData` gives the run's wall time and devices.
extension TraceRecorder {
    /// The tid of the track of asynchronous bodies in the workers' process.
    static let asynchronousTrack = 1000

    /// Writes the trace to ``path``; returns an error message when it cannot.
    ///
    /// A regular file (or a new one) is written beside the path and renamed over it: runs writing the
    /// same path at once each leave a whole trace (the last one's), and a reader never sees half of
    /// one. Anything else (`/dev/null`, a pipe) is written in place.
    func write(wallSeconds: Double) -> String? {
        var status = stat()
        let replacesFile =
            stat(self.path, &status) == 0 ? (status.st_mode & S_IFMT) == S_IFREG : errno == ENOENT
        let written = replacesFile ? "\(self.path).\(getpid())-\(self.identity).partial" : self.path
        func problem(_ code: Int32) -> String {
            "cannot write the trace to \(self.path): \(String(cString: strerror(code)))"
        }
        guard let file = fopen(written, "w") else { return problem(errno) }
        var failure: Int32? = nil
        self.writeJSON(wallSeconds: wallSeconds) { bytes in
            guard failure == nil else { return }
            let count = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
            if count != bytes.count { failure = errno }
        }
        if fclose(file) != 0 && failure == nil { failure = errno }
        if failure == nil && replacesFile && rename(written, self.path) != 0 { failure = errno }
        guard let failure else { return nil }
        if replacesFile { unlink(written) }
        return problem(failure)
    }

    /// Writes the trace as JSON text (UTF-8), handing it to `emit` a piece (about a mebibyte) at a
    /// time: a trace of millions of tasks is never held whole in memory.
    func writeJSON(wallSeconds: Double, to emit: ([UInt8]) -> Void) {
        let timebase =
            self.clock.readsCycleCounter ? TraceClock.Timebase(from: self.origin, to: self.clock.read()) : .identity
        let buffers = self.buffers
        // A task's events, joined by its number (tasks are numbered from 1 as they are spawned;
        // number 0 is a task the trace did not number, such as a prefetch).
        let count = self.taskCount + 1
        let numbered = 1..<count
        var spawns = [TaskSpawned?](repeating: nil, count: count)
        var starts = [TaskStarted?](repeating: nil, count: count)
        var ends = [TaskEnded?](repeating: nil, count: count)
        var otherDevices: [Int: [Device]] = [:]
        var copies: [TracedCopy] = []
        var dependencies: [TracedDependency] = []
        for buffer in buffers {
            buffer.spawns.forEachEvent { if numbered.contains($0.number) { spawns[$0.number] = $0 } }
            buffer.starts.forEachEvent { if numbered.contains($0.number) { starts[$0.number] = $0 } }
            buffer.ends.forEachEvent { end in
                guard numbered.contains(end.number) else { return }
                if ends[end.number] == nil {
                    ends[end.number] = end
                } else {
                    otherDevices[end.number, default: []].append(end.device)
                }
            }
            buffer.copies.forEachEvent { copy in
                var copy = copy
                copy.started = timebase.nanoseconds(copy.started)
                copy.ended = timebase.nanoseconds(copy.ended)
                copies.append(copy)
            }
            buffer.dependencies.forEachEvent { dependencies.append($0) }
        }
        var tasks = [TracedTask?](repeating: nil, count: count)
        var finished: [TracedTask] = []
        var workers = Set<Int>()
        for number in numbered {
            guard let spawn = spawns[number], let end = ends[number] else { continue }
            // (A task that failed before it started, or before its data was in, gets those times.)
            let start =
                starts[number] ?? TaskStarted(number: number, started: end.ended, dataIn: end.ended, worker: nil)
            let task = TracedTask(
                spawn: spawn,
                spawned: timebase.nanoseconds(spawn.time),
                started: timebase.nanoseconds(start.started),
                dataIn: timebase.nanoseconds(start.dataIn),
                ended: timebase.nanoseconds(end.ended),
                device: end.device,
                otherDevices: otherDevices[number] ?? [],
                worker: start.worker
            )
            tasks[number] = task
            finished.append(task)
            workers.insert(task.worker ?? Self.asynchronousTrack)
        }
        var out = JSONBytes(origin: self.origin.nanoseconds)
        out.bytes.reserveCapacity(JSONBytes.pieceSize + 4096)
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
            guard task.spawn.originFileAddress != 0 else {
                return JSONBytes.quoted(task.name)
            }
            let origin = UnnamedOrigin(file: task.spawn.originFileAddress, line: task.spawn.originLine)
            if let known = unnamed[origin] { return known }
            let made = JSONBytes.quoted(task.name)
            unnamed[origin] = made
            return made
        }
        let noSpace = JSONBytes.quoted("")
        for task in finished.sorted(by: { $0.started < $1.started }) {
            let name = quotedName(of: task)
            let space = task.spawn.slot.map { JSONBytes.quoted($0.takeUnretainedValue().spaceName) } ?? noSpace
            // On its worker's track, then on its devices' compute tracks.
            func event(pid: Int, tid: Int, device: Device) {
                out.beginSlice("task", name: name, pid: pid, tid: tid, from: task.started, to: task.ended)
                out.append("\"task\":")
                out.append(task.number)
                out.append(",\"space\":")
                out.append(space)
                out.append(",\"device\":")
                out.append(deviceNames[self.position(of: device)])
                out.append(",\"waitedForDependenciesMicroseconds\":")
                out.appendMicroseconds(task.started, from: task.spawned)
                out.append(",\"waitedForDataMicroseconds\":")
                out.appendMicroseconds(task.dataIn, from: task.started)
                out.append("}}")
            }
            event(pid: 1, tid: task.worker ?? Self.asynchronousTrack, device: task.device)
            event(pid: self.process(of: task.device), tid: 0, device: task.device)
            for other in task.otherDevices { event(pid: self.process(of: other), tid: 0, device: other) }
            out.drainPiece(into: emit)
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
            out.drainPiece(into: emit)
        }
        for (flow, dependency) in dependencies.enumerated() {
            let (from, to) = (dependency.from, dependency.to)
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
            out.drainPiece(into: emit)
        }
        out.append("\n],\"otherData\":{\"wallSeconds\":")
        out.append("\(wallSeconds)")
        out.append(",\"devices\":[")
        for (index, name) in deviceNames.enumerated() {
            if index > 0 { out.append(",") }
            out.append(name)
        }
        out.append("]}}\n")
        emit(out.bytes)
    }

    /// Where unnamed tasks were spawned (the file's text never moves: a `StaticString`).
    private struct UnnamedOrigin: Hashable {
        let file: UInt
        let line: UInt32
    }

    /// `device`'s place among the run's devices.
    private func position(of device: Device) -> Int { self.devices.firstIndex(of: device) ?? 0 }

    /// The pid of `device`'s process.
    private func process(of device: Device) -> Int { 2 + self.position(of: device) }
}

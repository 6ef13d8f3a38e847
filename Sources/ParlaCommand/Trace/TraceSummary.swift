/// What `parla trace summary` reports about a trace: each device's busy time and idle gaps, the bytes
/// and time of each link, the critical path, the longest tasks.
struct TraceSummary {
    /// How one device's compute track was used over the run's wall time.
    struct DeviceUsage: Equatable {
        /// The device.
        var device: String
        /// The tasks that ran on it.
        var taskCount: Int
        /// The union of its tasks' intervals, in microseconds.
        var busy: Double
        /// The rest of the run's wall time, in microseconds.
        var idle: Double
        /// Its idle gaps, longest first (ties: earliest first).
        var gaps: [TraceInterval]
    }

    /// The copies over one link.
    struct LinkUsage: Equatable {
        /// The device copied from.
        var source: String
        /// The device copied to.
        var destination: String
        /// The copies.
        var copyCount: Int
        /// The bytes of all of them.
        var bytes: Int
        /// The sum of their durations, in microseconds.
        var time: Double

        /// Bytes over copy time, in GB/s (decimal); 0 when they took no time.
        var gigabytesPerSecond: Double { time > 0 ? Double(bytes) / (time * 1e-6) / 1e9 : 0 }
    }

    /// The trace summarized.
    var trace: TraceFile
    /// Each device of the run, in its order.
    var devices: [DeviceUsage]
    /// Each link with copies, by source then destination in the run's device order.
    var links: [LinkUsage]
    /// The critical path of the task graph.
    var criticalPath: CriticalPath

    /// Summarizes `trace`.
    init(_ trace: TraceFile) {
        self.trace = trace
        let span = TraceInterval(start: 0, end: trace.horizonMicroseconds)
        let tasksByDevice = trace.tasksByDevice
        devices = trace.devices.map { device in
            let tasks = tasksByDevice[device] ?? []
            let busy = TraceInterval.union(tasks.map { TraceInterval(start: $0.start, end: $0.end) })
            let gaps = TraceInterval.gaps(in: span, between: busy)
            return DeviceUsage(
                device: device,
                taskCount: tasks.count,
                busy: busy.reduce(0) { $0 + $1.length },
                idle: gaps.reduce(0) { $0 + $1.length },
                gaps: gaps.sorted { ($0.length, -$0.start) > ($1.length, -$1.start) }
            )
        }
        let order = Dictionary(trace.devices.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let byLink = Dictionary(grouping: trace.copies) { [$0.source, $0.destination] }
        links = byLink.map { link, copies in
            LinkUsage(
                source: link[0],
                destination: link[1],
                copyCount: copies.count,
                bytes: copies.reduce(0) { $0 + $1.bytes },
                time: copies.reduce(0) { $0 + $1.duration }
            )
        }
        .sorted {
            (order[$0.source] ?? .max, order[$0.destination] ?? .max, $0.source, $0.destination)
                < (order[$1.source] ?? .max, order[$1.destination] ?? .max, $1.source, $1.destination)
        }
        criticalPath = CriticalPath(tasks: trace.tasks, dependencies: trace.dependencies)
    }

    /// The `count` tasks that ran longest, longest first (ties: earliest first).
    func longestTasks(_ count: Int) -> [TraceTask] {
        Array(trace.tasks.sorted { ($0.duration, -$0.start) > ($1.duration, -$1.start) }.prefix(Swift.max(count, 0)))
    }
}

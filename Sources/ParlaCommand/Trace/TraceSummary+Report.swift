extension TraceSummary {
    /// The text `parla trace summary` prints: a header line, then the devices, the links, the critical
    /// path and the `top` longest tasks, each an aligned table; `gapCount` idle gaps per device; at most
    /// `pathLimit` of the path's tasks (its first and last ones).
    func report(file: String, top: Int, gapCount: Int, pathLimit: Int = 20) -> String {
        let wall = trace.wallMicroseconds
        var lines = [
            "\(file): \(trace.tasks.count) tasks, \(trace.copies.count) copies, \(trace.dependencies.count) dependencies, wall time \(milliseconds(wall))"
        ]

        lines.append("")
        lines.append("devices (busy: time with a task running; idle gaps over the wall time):")
        var table = TextTable([.left, .right, .right, .right, .right, .right, .left])
        table.append(["device", "tasks", "busy", "", "idle", "gaps", "longest idle gaps"])
        for usage in devices {
            let gaps = usage.gaps.prefix(gapCount).map {
                "\(milliseconds($0.length)) at \(millisecondsNumber($0.start))–\(millisecondsNumber($0.end))"
            }
            table.append([
                usage.device, "\(usage.taskCount)", milliseconds(usage.busy), percent(usage.busy, of: wall),
                milliseconds(usage.idle), "\(usage.gaps.count)", gaps.joined(separator: ", "),
            ])
        }
        lines += table.lines()

        lines.append("")
        if links.isEmpty {
            lines.append("links: no copies")
        } else {
            lines.append("links (time: the copies' durations added up):")
            var table = TextTable([.left, .right, .right, .right, .right])
            table.append(["link", "copies", "bytes", "time", "GB/s"])
            for link in links {
                table.append([
                    "\(link.source) → \(link.destination)", "\(link.copyCount)", byteCount(link.bytes),
                    milliseconds(link.time), link.time > 0 ? fixed(link.gigabytesPerSecond, decimals: 2) : "-",
                ])
            }
            lines += table.lines()
        }

        lines.append("")
        let path = criticalPath
        var heading =
            "critical path: \(path.tasks.count) task\(path.tasks.count == 1 ? "" : "s"), \(milliseconds(path.length)) of task time, \(percent(path.length, of: wall)) of the wall time"
        if path.tasksInCycles > 0 { heading += " (\(path.tasksInCycles) tasks in dependency cycles left out)" }
        lines.append(heading)
        if path.tasks.count > pathLimit {
            let head = Array(path.tasks.prefix((pathLimit + 1) / 2))
            let tail = Array(path.tasks.suffix(pathLimit / 2))
            lines += taskTable(head, then: tail, omitted: path.tasks.count - head.count - tail.count)
        } else {
            lines += taskTable(path.tasks)
        }

        let longest = longestTasks(top)
        if !longest.isEmpty {
            lines.append("")
            lines.append("the \(longest.count) longest task\(longest.count == 1 ? "" : "s"):")
            lines += taskTable(longest)
        }
        return lines.joined(separator: "\n")
    }

    /// An aligned table of tasks: name, number, space, device, start, duration and waits; `tail`, if
    /// any, after a row saying how many tasks were `omitted` between the two.
    private func taskTable(_ tasks: [TraceTask], then tail: [TraceTask] = [], omitted: Int = 0) -> [String] {
        guard !tasks.isEmpty else { return [] }
        var table = TextTable([.left, .right, .left, .left, .right, .right, .right, .right])
        table.append(["task", "#", "space", "device", "start", "duration", "waited for deps", "for data"])
        /// One task's row.
        func row(_ task: TraceTask) -> [String] {
            [
                task.name, "\(task.number)", task.space.isEmpty ? "-" : task.space, task.device,
                milliseconds(task.start), milliseconds(task.duration), milliseconds(task.waitedForDependencies),
                milliseconds(task.waitedForData),
            ]
        }
        for task in tasks { table.append(row(task)) }
        if !tail.isEmpty {
            table.append(["… \(omitted) more"])
            for task in tail { table.append(row(task)) }
        }
        return table.lines()
    }
}

/// `12.345 ms`: microseconds as milliseconds with three decimals.
func milliseconds(_ microseconds: Double) -> String {
    "\(millisecondsNumber(microseconds)) ms"
}

/// `12.345`: microseconds as milliseconds with three decimals, no unit.
func millisecondsNumber(_ microseconds: Double) -> String {
    fixed(microseconds / 1000, decimals: 3)
}

/// `45%`: `part` as a whole percentage of `whole`; `-` when `whole` is not positive.
func percent(_ part: Double, of whole: Double) -> String {
    whole > 0 ? "\(Int((part / whole * 100).rounded()))%" : "-"
}

/// `value` rounded to `decimals` decimals, written with exactly that many: `0.500`, `-1.25`, `12`.
func fixed(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((Swift.abs(value) * scale).rounded())
    let whole = scaled / Int(scale)
    let sign = value < 0 && scaled > 0 ? "-" : ""
    guard decimals > 0 else { return "\(sign)\(whole)" }
    let fraction = String(scaled % Int(scale))
    return "\(sign)\(whole).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
}

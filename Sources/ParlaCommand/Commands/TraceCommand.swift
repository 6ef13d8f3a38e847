import ArgumentParser
import Foundation

/// `parla trace`: reads the traces a run writes (Chrome/Perfetto trace-event JSON).
struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Read a run's trace (Chrome/Perfetto trace-event JSON): what ran where, and when.",
        subcommands: [TraceSummaryCommand.self, TracePlotCommand.self]
    )
}

/// `parla trace summary FILE`: busy time and idle gaps per device, bytes and time per link, the
/// critical path, the longest tasks.
struct TraceSummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Busy time and idle gaps per device, copies per link, the critical path, the longest tasks.",
        discussion: """
            Busy time is the union of a device's task intervals; idle gaps are the rest of the run's wall \
            time. A link's GB/s is its bytes over its copies' durations added up. The critical path is the \
            path along dependency edges whose task durations add up to the most.
            """
    )

    @Argument(help: "The trace file.")
    var file: String

    @Option(help: "How many of the longest tasks to list.")
    var top = 10

    @Option(help: "How many of each device's longest idle gaps to list.")
    var gaps = 3

    @Option(help: "How many of the critical path's tasks to list (its first and last ones).")
    var path = 20

    func validate() throws {
        guard top >= 0, gaps >= 0, path >= 0 else {
            throw ValidationError("--top, --gaps and --path must be 0 or more")
        }
    }

    func run() throws {
        let trace = try TraceFile(contentsOfFile: file)
        print(TraceSummary(trace).report(file: file, top: top, gapCount: gaps, pathLimit: path))
    }
}

/// `parla trace plot FILE -o gantt.svg`: an SVG Gantt chart of the devices' tasks and copy queues.
struct TracePlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw an SVG Gantt chart: a row per device and per copy queue, tasks coloured by task space."
    )

    @Argument(help: "The trace file.")
    var file: String

    @Option(name: .shortAndLong, help: "The SVG file to write (default: the trace's name with .svg).")
    var output: String?

    @Option(help: "The chart's width in pixels.")
    var width = 1600

    func validate() throws {
        guard width >= 200 else { throw ValidationError("--width must be at least 200") }
    }

    func run() throws {
        let trace = try TraceFile(contentsOfFile: file)
        let destination = output ?? Self.defaultOutput(for: file)
        let name = URL(fileURLWithPath: file).lastPathComponent
        let chart = GanttChart(
            trace,
            title:
                "\(name): \(trace.tasks.count) tasks, \(trace.copies.count) copies, wall time \(milliseconds(trace.wallMicroseconds))",
            width: width
        )
        do {
            try Data(chart.svg().utf8).write(to: URL(fileURLWithPath: destination))
        } catch {
            throw ValidationError("cannot write \(destination): \(error.localizedDescription)")
        }
        print(
            "wrote \(destination): \(chart.rows.count) rows, \(trace.tasks.count) tasks, \(trace.copies.count) copies"
        )
    }

    /// `run.json` → `run.svg`; another name gets `.svg` added.
    static func defaultOutput(for file: String) -> String {
        file.hasSuffix(".json") ? String(file.dropLast(5)) + ".svg" : file + ".svg"
    }
}

import Foundation
import Testing

@testable import ParlaCommand

#if canImport(FoundationXML)
import FoundationXML
#endif

/// `parla trace summary` and `parla trace plot` on synthetic traces written the way the runtime writes
/// them: a diamond of tasks on two GPUs with copies between the devices, and thousands of tasks.
@Suite("the trace tools")
struct TraceToolTests {
    /// The diamond: E (cpu) → A (gpu(0)) → B (gpu(0)) and C (gpu(1)) → D (gpu(1), unnamed); F on the
    /// cpu overlaps E. Times in microseconds; the wall time is 10 ms.
    static let diamondTasks = [
        SyntheticTask(number: 1, name: "A", space: "setup", device: 0, start: 1000, duration: 2000),
        SyntheticTask(number: 2, name: "B", space: "work", device: 0, start: 3500, duration: 3000),
        SyntheticTask(number: 3, name: "C<&>", space: "work", device: 1, start: 4000, duration: 1000),
        SyntheticTask(
            number: 4,
            name: "(unnamed task spawned at Main.swift:12)",
            space: "",
            device: 1,
            start: 7000,
            duration: 2000
        ),
        SyntheticTask(number: 5, name: "E", space: "setup", device: 2, start: 0, duration: 500),
        SyntheticTask(number: 6, name: "F", space: "setup", device: 2, start: 200, duration: 600),
    ]
    /// The diamond's edges, and E → A.
    static let diamondEdges = [(1, 2), (1, 3), (2, 4), (3, 4), (5, 1)]
    /// The copies: cpu → gpu(0) twice, gpu(0) → gpu(1), gpu(1) → cpu.
    static let diamondCopies = [
        SyntheticCopy(source: 2, destination: 0, bytes: 8_000_000, start: 500, duration: 400),
        SyntheticCopy(source: 2, destination: 0, bytes: 4_000_000, start: 3000, duration: 200),
        SyntheticCopy(source: 0, destination: 1, bytes: 16_000_000, start: 3100, duration: 400),
        SyntheticCopy(source: 1, destination: 2, bytes: 1_000_000, start: 9000, duration: 100),
    ]

    @Test("a trace's tasks are read once each, with their devices, copies and dependencies")
    func readsTheModel() throws {
        let file = try Self.writeDiamond()
        defer { Self.removeDirectory(of: file) }
        let trace = try TraceFile(contentsOfFile: file)
        #expect(trace.devices == ["gpu(0)", "gpu(1)", "cpu"])
        #expect(trace.wallMicroseconds == 10_000)
        #expect(trace.tasks.map(\.number) == [5, 6, 1, 2, 3, 4])
        #expect(trace.tasks.map(\.device) == ["cpu", "cpu", "gpu(0)", "gpu(0)", "gpu(1)", "gpu(1)"])
        let unnamed = try #require(trace.tasks.first { $0.number == 4 })
        #expect(unnamed.space == "" && unnamed.waitedForDependencies == 5 && unnamed.waitedForData == 2)
        #expect(trace.copies.count == 4)
        #expect(trace.copies.map(\.bytes).reduce(0, +) == 29_000_000)
        #expect(trace.dependencies.count == 5)
    }

    @Test("the summary's busy time, idle gaps, links, critical path and longest tasks")
    func summarizes() throws {
        let file = try Self.writeDiamond()
        defer { Self.removeDirectory(of: file) }
        let summary = TraceSummary(try TraceFile(contentsOfFile: file))

        #expect(summary.devices.map(\.device) == ["gpu(0)", "gpu(1)", "cpu"])
        #expect(summary.devices.map(\.taskCount) == [2, 2, 2])
        #expect(summary.devices.map(\.busy) == [5000, 3000, 800])  // the cpu's two tasks overlap
        #expect(summary.devices.map(\.idle) == [5000, 7000, 9200])
        #expect(
            summary.devices[0].gaps == [
                TraceInterval(start: 6500, end: 10_000), TraceInterval(start: 0, end: 1000),
                TraceInterval(start: 3000, end: 3500),
            ]
        )
        #expect(summary.devices[1].gaps.first == TraceInterval(start: 0, end: 4000))

        let links = summary.links.map { "\($0.source)→\($0.destination)" }
        #expect(links == ["gpu(0)→gpu(1)", "gpu(1)→cpu", "cpu→gpu(0)"])
        let hostToGPU = try #require(summary.links.last)
        #expect(hostToGPU.copyCount == 2 && hostToGPU.bytes == 12_000_000 && hostToGPU.time == 600)
        #expect(Swift.abs(hostToGPU.gigabytesPerSecond - 20) < 1e-9)
        #expect(Swift.abs(summary.links[0].gigabytesPerSecond - 40) < 1e-9)

        #expect(summary.criticalPath.tasks.map(\.name) == ["E", "A", "B", "(unnamed task spawned at Main.swift:12)"])
        #expect(summary.criticalPath.length == 7500)
        #expect(summary.criticalPath.tasksInCycles == 0)

        #expect(summary.longestTasks(3).map(\.number) == [2, 1, 4])  // A before D: same length, earlier
        #expect(summary.longestTasks(100).count == 6)

        let report = summary.report(file: "diamond.json", top: 3, gapCount: 2)
        let lines = report.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "diamond.json: 6 tasks, 4 copies, 5 dependencies, wall time 10.000 ms")
        #expect(
            lines.contains {
                $0.hasPrefix("  gpu(0)") && $0.contains("5.000 ms  50%") && $0.contains("3.500 ms at 6.500–10.000")
            }
        )
        #expect(lines.contains { $0.hasPrefix("  cpu → gpu(0)") && $0.contains("12.0 MB") && $0.hasSuffix("20.00") })
        #expect(lines.contains("critical path: 4 tasks, 7.500 ms of task time, 75% of the wall time"))
        #expect(lines.contains("the 3 longest tasks:"))
        #expect(!lines.contains { $0.hasSuffix(" ") })
    }

    @Test("the Gantt chart is well-formed SVG with a rectangle per task and per copy")
    func plotsTheDiamond() throws {
        let file = try Self.writeDiamond()
        defer { Self.removeDirectory(of: file) }
        let chart = GanttChart(try TraceFile(contentsOfFile: file), title: "diamond <&>")
        #expect(
            chart.rows.map(\.label) == ["gpu(0)", "cpu → gpu(0)", "gpu(1)", "gpu(0) → gpu(1)", "cpu", "gpu(1) → cpu"]
        )
        #expect(chart.rows.map(\.lanes) == [1, 1, 1, 1, 2, 1])  // E and F overlap on the cpu
        #expect(
            chart.legend.map(\.label) == [
                "setup", "work", "(unnamed tasks)", "copies host → device", "copies device → host",
                "copies device → device",
            ]
        )
        let elements = try Self.parseSVG(chart.svg())
        #expect(elements.rects(ofClass: "task") == 6)
        #expect(elements.rects(ofClass: "copy") == 4)
        #expect(elements.texts.contains("diamond <&>"))
        #expect(elements.texts.contains("C<&>"))  // wide enough to be labelled, and escaped
        #expect(elements.tooltips.contains("C<&> (task 3, space work) on gpu(1): 4.000–5.000 ms, 1.000 ms"))
        #expect(elements.texts.contains("0") && elements.texts.contains("10"))  // the axis, in ms
        #expect(elements.width == "1600")
    }

    @Test("thousands of tasks: well-formed, a rectangle each, no text on narrow ones")
    func plotsThousandsOfTasks() throws {
        var tasks: [SyntheticTask] = []
        var edges: [(Int, Int)] = []
        for number in 0..<3000 {
            let device = number % 2
            let slot = Double(number / 2)
            tasks.append(
                SyntheticTask(
                    number: number,
                    name: "gemm_\(number)",
                    space: ["potrf", "trsm", "syrk", "gemm"][number % 4],
                    device: device,
                    start: slot * 100,
                    duration: 90
                )
            )
            if number >= 2 { edges.append((number - 2, number)) }
        }
        let file = try Self.write(tasks: tasks, edges: edges, copies: [], wallSeconds: 0.15)
        defer { Self.removeDirectory(of: file) }
        let trace = try TraceFile(contentsOfFile: file)
        #expect(trace.tasks.count == 3000)
        let summary = TraceSummary(trace)
        #expect(summary.criticalPath.tasks.count == 1500)
        let report = summary.report(file: "big.json", top: 5, gapCount: 3, pathLimit: 6)
        #expect(report.contains("  … 1494 more\n  gemm_2994"))
        let elements = try Self.parseSVG(GanttChart(trace, title: "big").svg())
        #expect(elements.rects(ofClass: "task") == 3000)
        #expect(!elements.texts.contains { $0.hasPrefix("gemm_") })
        #expect(elements.tooltips.filter { $0.hasPrefix("gemm_") }.count == 3000)
    }

    @Test("a missing file, a file that is not JSON, and JSON that is not a trace are refused, naming the file")
    func refusesBadFiles() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = directory + "/missing.json"
        #expect(throws: TraceFileError(file: missing, problem: "no such file")) {
            try TraceFile(contentsOfFile: missing)
        }
        let notJSON = directory + "/notes.txt"
        try Data("not a trace".utf8).write(to: URL(fileURLWithPath: notJSON))
        let error = try #require(throws: TraceFileError.self) { try TraceFile(contentsOfFile: notJSON) }
        #expect(error.file == notJSON && error.problem.hasPrefix("it is not JSON"))
        #expect("\(error)".hasPrefix("cannot read the trace \(notJSON): it is not JSON"))

        let other = directory + "/other.json"
        try Data(#"{"name": "something else"}"#.utf8).write(to: URL(fileURLWithPath: other))
        #expect(
            throws: TraceFileError(file: other, problem: #"it has no "traceEvents" (it is not a trace-event file)"#)
        ) {
            try TraceFile(contentsOfFile: other)
        }
        let noDuration = directory + "/no-duration.json"
        let event = #"{"ph": "X", "cat": "task", "name": "T", "pid": 1, "tid": 0, "ts": 1, "args": {"task": 1}}"#
        try Data(#"{"traceEvents": [\#(event)]}"#.utf8).write(to: URL(fileURLWithPath: noDuration))
        #expect(throws: TraceFileError(file: noDuration, problem: #"event 0 (a task) has no "dur" of zero or more"#)) {
            try TraceFile(contentsOfFile: noDuration)
        }
    }

    @Test("the palette gives each space its own colour, the same in every run; unnamed tasks are grey")
    func palette() {
        let palette = SpacePalette(spaces: ["potrf", "trsm", "syrk", "gemm", "", "gemm"])
        let colours = ["potrf", "trsm", "syrk", "gemm"].map(palette.colour(of:))
        #expect(Set(colours).count == 4)
        #expect(palette.colour(of: "") == SpacePalette.unnamed)
        #expect(
            SpacePalette(spaces: ["gemm"]).colour(of: "gemm") == SpacePalette(spaces: ["gemm", "x"]).colour(of: "gemm")
        )
    }
}

/// A task of a synthetic trace; `device` indexes gpu(0), gpu(1), cpu.
struct SyntheticTask {
    var number: Int
    var name: String
    var space: String
    var device: Int
    var start: Double
    var duration: Double
}

/// A copy of a synthetic trace; `source` and `destination` index gpu(0), gpu(1), cpu.
struct SyntheticCopy {
    var source: Int
    var destination: Int
    var bytes: Int
    var start: Double
    var duration: Double
}

extension TraceToolTests {
    /// The synthetic traces' devices.
    static let devices = ["gpu(0)", "gpu(1)", "cpu"]

    /// A new empty directory for one test's files.
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "parla-trace-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Removes the directory `temporaryDirectory()` made for `file`.
    static func removeDirectory(of file: String) {
        try? FileManager.default.removeItem(atPath: (file as NSString).deletingLastPathComponent)
    }

    /// Writes the diamond's trace and returns its path.
    static func writeDiamond() throws -> String {
        try write(tasks: diamondTasks, edges: diamondEdges, copies: diamondCopies, wallSeconds: 0.01)
    }

    /// Writes a trace as the runtime does (metadata, each task on its worker's and its device's track,
    /// copies on their queues, dependencies as flow events) and returns its path.
    static func write(
        tasks: [SyntheticTask],
        edges: [(Int, Int)],
        copies: [SyntheticCopy],
        wallSeconds: Double
    ) throws -> String {
        var events: [[String: Any]] = [
            ["ph": "M", "name": "process_name", "pid": 1, "args": ["name": "workers"]],
            ["ph": "M", "name": "thread_name", "pid": 1, "tid": 1000, "args": ["name": "program"]],
        ]
        for (index, device) in devices.enumerated() {
            events.append(["ph": "M", "name": "process_name", "pid": 2 + index, "args": ["name": device]])
            events.append(["ph": "M", "name": "thread_name", "pid": 2 + index, "tid": 0, "args": ["name": "compute"]])
            for (source, from) in devices.enumerated() {
                events.append([
                    "ph": "M", "name": "thread_name", "pid": 2 + index, "tid": 1 + source,
                    "args": ["name": "copies from \(from)"],
                ])
            }
        }
        var byNumber: [Int: SyntheticTask] = [:]
        for task in tasks {
            byNumber[task.number] = task
            let args: [String: Any] = [
                "task": task.number, "space": task.space, "device": devices[task.device],
                "waitedForDependenciesMicroseconds": 5.0, "waitedForDataMicroseconds": 2.0,
            ]
            for (pid, tid) in [(1, task.number % 4), (2 + task.device, 0)] {
                events.append([
                    "ph": "X", "cat": "task", "name": task.name, "pid": pid, "tid": tid, "ts": task.start,
                    "dur": task.duration, "args": args,
                ])
            }
        }
        for copy in copies {
            let (source, destination) = (devices[copy.source], devices[copy.destination])
            events.append([
                "ph": "X", "cat": "copy", "name": "copy \(source) -> \(destination)", "pid": 2 + copy.destination,
                "tid": 1 + copy.source, "ts": copy.start, "dur": copy.duration,
                "args": [
                    "bytes": copy.bytes, "source": source, "destination": destination,
                    "gigabytesPerSecond": Double(copy.bytes) / copy.duration / 1e3,
                ],
            ])
        }
        for (id, (from, to)) in edges.enumerated() {
            let (before, after) = (byNumber[from]!, byNumber[to]!)
            events.append([
                "ph": "s", "cat": "dependency", "name": "dependency", "id": id, "pid": 2 + before.device, "tid": 0,
                "ts": before.start + before.duration,
            ])
            events.append([
                "ph": "f", "bp": "e", "cat": "dependency", "name": "dependency", "id": id, "pid": 2 + after.device,
                "tid": 0, "ts": after.start, "args": ["from": from, "to": to],
            ])
        }
        let document: [String: Any] = [
            "displayTimeUnit": "ms", "traceEvents": events,
            "otherData": ["wallSeconds": wallSeconds, "devices": devices],
        ]
        let path = try temporaryDirectory() + "/trace.json"
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// What a parsed SVG document holds: the `class` of each `rect`, the text of each `text`, each
    /// tooltip (`title`), the root's width.
    struct SVGElements {
        var rectClasses: [String?] = []
        var texts: [String] = []
        var tooltips: [String] = []
        var width: String?

        /// How many `rect`s have class `name`.
        func rects(ofClass name: String) -> Int { rectClasses.filter { $0 == name }.count }
    }

    /// Parses `svg` as XML; throws if it is not well-formed.
    static func parseSVG(_ svg: String) throws -> SVGElements {
        let collector = SVGCollector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = collector
        guard parser.parse() else {
            throw SVGError(description: "not well-formed: \(parser.parserError.map { "\($0)" } ?? "?")")
        }
        return collector.elements
    }

    /// The SVG did not parse.
    struct SVGError: Error, CustomStringConvertible {
        var description: String
    }

    /// Collects ``SVGElements`` as the parser goes.
    final class SVGCollector: NSObject, XMLParserDelegate {
        /// What was collected so far.
        var elements = SVGElements()
        /// The text of the `text` or `title` element being read.
        private var text: String?

        /// Notes the width of `svg`, the class of a `rect`, the start of a `text` or `title`.
        func parser(
            _ parser: XMLParser,
            didStartElement name: String,
            namespaceURI: String?,
            qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            switch name {
            case "svg": elements.width = attributes["width"]
            case "rect": elements.rectClasses.append(attributes["class"])
            case "text", "title": text = ""
            default: break
            }
        }

        /// Adds to the text being read.
        func parser(_ parser: XMLParser, foundCharacters string: String) {
            text? += string
        }

        /// Keeps a finished `text` or `title`'s text.
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard let text else { return }
            if name == "text" { elements.texts.append(text) }
            if name == "title" { elements.tooltips.append(text) }
            self.text = nil
        }
    }
}

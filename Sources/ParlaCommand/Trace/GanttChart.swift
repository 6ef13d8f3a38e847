/// The Gantt chart `parla trace plot` draws: one row per device compute track with tasks and per copy
/// queue with copies, on a common time axis.
struct GanttChart {
    /// What a row shows.
    enum RowKind: Equatable {
        /// A device's tasks.
        case compute(device: String)
        /// The copies into `destination` from `source`.
        case copies(source: String, destination: String)
    }

    /// One bar: a task or a copy.
    struct Bar {
        /// Where it starts, in microseconds.
        var start: Double
        /// Where it ends, in microseconds.
        var end: Double
        /// Its fill colour.
        var colour: String
        /// The text drawn on it where it is wide enough.
        var label: String
        /// The text shown on hovering over it.
        var tooltip: String
        /// Its lane in its row: bars that overlap in time (tasks running at once on a device's
        /// workers or streams) go in different lanes.
        var lane = 0
    }

    /// One row of the chart.
    struct Row {
        /// What it shows.
        var kind: RowKind
        /// The text at its left.
        var label: String
        /// Its bars, by start.
        var bars: [Bar]
        /// How many lanes its bars need.
        var lanes: Int

        /// A row of `bars`, each put in the first lane free when it starts.
        init(kind: RowKind, label: String, bars: [Bar]) {
            self.kind = kind
            self.label = label
            var laneEnds: [Double] = []
            self.bars = bars.sorted { $0.start < $1.start }.map { bar in
                var bar = bar
                if let free = laneEnds.firstIndex(where: { $0 <= bar.start }) {
                    bar.lane = free
                    laneEnds[free] = bar.end
                } else {
                    bar.lane = laneEnds.count
                    laneEnds.append(bar.end)
                }
                return bar
            }
            lanes = Swift.max(laneEnds.count, 1)
        }

        /// Whether it is a copy queue's row.
        var isCopies: Bool {
            if case .copies = kind { return true }
            return false
        }
    }

    /// The kinds of copy, by their ends, and their colours.
    enum CopyKind: String, CaseIterable {
        /// Host to a device.
        case hostToDevice = "copies host → device"
        /// A device to the host.
        case deviceToHost = "copies device → host"
        /// Between two devices.
        case peer = "copies device → device"

        /// The kind of a copy from `source` to `destination`; the host is `cpu`.
        init(source: String, destination: String) {
            self = source == "cpu" ? .hostToDevice : destination == "cpu" ? .deviceToHost : .peer
        }

        /// Its bars' colour.
        var colour: String {
            switch self {
            case .hostToDevice: "#3f3f8f"
            case .deviceToHost: "#2f8f8f"
            case .peer: "#8f3f6f"
            }
        }
    }

    /// The chart's title.
    var title: String
    /// The time the axis covers, from 0, in microseconds.
    var horizon: Double
    /// The rows, top to bottom.
    var rows: [Row]
    /// The legend's entries: label and colour.
    var legend: [(label: String, colour: String)]
    /// The width of the SVG in pixels.
    var width: Int

    /// The chart of `trace`, `width` pixels wide, titled `title`.
    init(_ trace: TraceFile, title: String, width: Int = 1600) {
        self.title = title
        self.width = width
        horizon = Swift.max(trace.horizonMicroseconds, 1)
        let palette = SpacePalette(spaces: trace.tasks.map(\.space))
        let tasksByDevice = trace.tasksByDevice
        let copiesByLink = Dictionary(grouping: trace.copies) { [$0.source, $0.destination] }
        var rows: [Row] = []
        for device in trace.devices {
            if let tasks = tasksByDevice[device] {
                let bars = tasks.map { task in
                    Bar(
                        start: task.start,
                        end: task.end,
                        colour: palette.colour(of: task.space),
                        label: task.name,
                        tooltip:
                            "\(task.name) (task \(task.number)\(task.space.isEmpty ? "" : ", space \(task.space)")) on \(device): \(millisecondsNumber(task.start))–\(millisecondsNumber(task.end)) ms, \(milliseconds(task.duration))"
                    )
                }
                rows.append(Row(kind: .compute(device: device), label: device, bars: bars))
            }
            for source in trace.devices {
                guard let copies = copiesByLink[[source, device]] else { continue }
                let kind = CopyKind(source: source, destination: device)
                let bars = copies.map { copy in
                    Bar(
                        start: copy.start,
                        end: copy.end,
                        colour: kind.colour,
                        label: byteCount(copy.bytes),
                        tooltip:
                            "copy \(source) → \(device), \(byteCount(copy.bytes)): \(millisecondsNumber(copy.start))–\(millisecondsNumber(copy.end)) ms, \(milliseconds(copy.duration))"
                    )
                }
                rows.append(
                    Row(kind: .copies(source: source, destination: device), label: "\(source) → \(device)", bars: bars)
                )
            }
        }
        self.rows = rows
        let spaces = Set(trace.tasks.map(\.space)).sorted()
        var legend = spaces.filter { !$0.isEmpty }.map { (label: $0, colour: palette.colour(of: $0)) }
        if spaces.contains("") { legend.append((label: "(unnamed tasks)", colour: SpacePalette.unnamed)) }
        let kinds = Set(trace.copies.map { CopyKind(source: $0.source, destination: $0.destination) })
        legend += CopyKind.allCases.filter(kinds.contains).map { (label: $0.rawValue, colour: $0.colour) }
        self.legend = legend
    }

    /// The axis's ticks, in milliseconds: a step of 1, 2 or 5 × 10ⁿ ms, about one tick per
    /// `spacing` pixels of `plotWidth`, from 0 to the horizon; and the decimals their labels need.
    func ticks(plotWidth: Double, spacing: Double = 100) -> (values: [Double], decimals: Int) {
        let span = horizon / 1000
        let wanted = span / Swift.max(plotWidth / spacing, 1)
        var step = 1.0
        while step > wanted { step /= 10 }
        while step * 10 <= wanted { step *= 10 }
        for factor in [1.0, 2, 5, 10] where step * factor >= wanted {
            step *= factor
            break
        }
        var decimals = 0
        var scaled = step
        while scaled < 1 - 1e-9 && decimals < 9 {
            scaled *= 10
            decimals += 1
        }
        let count = Int((span / step + 1e-9).rounded(.down))
        return ((0...count).map { Double($0) * step }, decimals)
    }
}

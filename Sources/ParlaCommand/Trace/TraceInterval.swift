/// A span of a run's time, in microseconds from its start.
struct TraceInterval: Equatable {
    /// Where it starts.
    var start: Double
    /// Where it ends (not before `start`).
    var end: Double

    /// How long it is.
    var length: Double { end - start }

    /// The union of `intervals`: disjoint intervals, by start, that cover the same time.
    static func union(_ intervals: [TraceInterval]) -> [TraceInterval] {
        var merged: [TraceInterval] = []
        for interval in intervals.sorted(by: { $0.start < $1.start }) {
            if let last = merged.last, interval.start <= last.end {
                merged[merged.count - 1].end = Swift.max(last.end, interval.end)
            } else {
                merged.append(interval)
            }
        }
        return merged
    }

    /// The parts of `span` that disjoint, sorted `covered` intervals leave uncovered, by start;
    /// empty gaps are left out.
    static func gaps(in span: TraceInterval, between covered: [TraceInterval]) -> [TraceInterval] {
        var gaps: [TraceInterval] = []
        var cursor = span.start
        for interval in covered {
            if interval.start > cursor {
                gaps.append(TraceInterval(start: cursor, end: Swift.min(interval.start, span.end)))
            }
            cursor = Swift.max(cursor, interval.end)
            if cursor >= span.end { break }
        }
        if cursor < span.end { gaps.append(TraceInterval(start: cursor, end: span.end)) }
        return gaps.filter { $0.length > 0 }
    }
}

extension GanttChart {
    /// The chart's geometry, in pixels.
    private enum Layout {
        /// The height of a compute row's bars.
        static let computeHeight = 22.0
        /// The height of a copy row's bars.
        static let copyHeight = 14.0
        /// The height of a lane of a compute row with several.
        static let computeLaneHeight = 14.0
        /// The height of a lane of a copy row with several.
        static let copyLaneHeight = 10.0
        /// The space between rows.
        static let rowGap = 6.0
        /// Where the first row starts.
        static let rowsTop = 64.0
        /// The baseline of the tick labels.
        static let tickLabelY = 50.0
        /// The space right of the plot.
        static let rightMargin = 24.0
        /// About how wide a character of the 10-11 px sans-serif text is.
        static let characterWidth = 6.4
    }

    /// The chart as an SVG document: title, time axis in ms with ticks and grid lines, row labels on the
    /// left, bars (`class="task"` and `class="copy"`, each with a `<title>` tooltip; named where wide
    /// enough), and a legend of task spaces and copy kinds.
    func svg() -> String {
        let labelCharacters = rows.map(\.label.count).max() ?? 6
        let x0 = Swift.min(Swift.max(Double(labelCharacters) * Layout.characterWidth + 24, 90), 300)
        let plotWidth = Swift.max(Double(width) - x0 - Layout.rightMargin, 50)
        /// The x of a time in microseconds.
        func x(_ time: Double) -> Double { x0 + time / horizon * plotWidth }

        var rowTops: [Double] = []
        var y = Layout.rowsTop
        for row in rows {
            rowTops.append(y)
            y += height(of: row) + Layout.rowGap
        }
        let rowsEnd = y
        let legendTop = rowsEnd + 22
        let legendPlaces = legendPositions(from: 12, to: Double(width) - Layout.rightMargin, top: legendTop)
        let totalHeight = Int(((legendPlaces.last?.y ?? legendTop) + 20).rounded(.up))

        var out: [String] = [
            ##"<?xml version="1.0" encoding="UTF-8"?>"##,
            ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(width)" height="\##(totalHeight)" viewBox="0 0 \##(width) \##(totalHeight)" font-family="Helvetica, Arial, sans-serif" font-size="11">"##,
            ##"<rect x="0" y="0" width="\##(width)" height="\##(totalHeight)" fill="#ffffff"/>"##,
            ##"<text x="12" y="22" font-size="14" font-weight="bold">\##(xmlEscaped(title))</text>"##,
        ]

        // The time axis: grid lines through the rows, labels above them.
        let (ticks, decimals) = ticks(plotWidth: plotWidth)
        out.append(##"<g class="axis" fill="#444444">"##)
        for tick in ticks {
            let tx = number(x(tick * 1000))
            out.append(
                ##"<line x1="\##(tx)" y1="\##(number(Layout.tickLabelY + 4))" x2="\##(tx)" y2="\##(number(rowsEnd))" stroke="#dddddd" stroke-width="1"/>"##
            )
            out.append(
                ##"<text x="\##(tx)" y="\##(number(Layout.tickLabelY))" text-anchor="middle">\##(fixed(tick, decimals: decimals))</text>"##
            )
        }
        out.append(
            ##"<text x="\##(number(x0 - 16))" y="\##(number(Layout.tickLabelY))" text-anchor="end" font-style="italic">ms</text>"##
        )
        out.append("</g>")

        // The rows: label, band, bars.
        for (row, top) in zip(rows, rowTops) {
            let rowHeight = height(of: row)
            let isCopies = row.isCopies
            out.append(##"<g class="row">"##)
            out.append(
                ##"<rect x="\##(number(x0))" y="\##(number(top))" width="\##(number(plotWidth))" height="\##(number(rowHeight))" fill="#f4f4f4"/>"##
            )
            let style = isCopies ? ##" font-size="10" fill="#555555""## : ##" font-weight="bold""##
            out.append(
                ##"<text x="\##(number(x0 - 8))" y="\##(number(top + rowHeight / 2 + 4))" text-anchor="end"\##(style)>\##(xmlEscaped(row.label))</text>"##
            )
            let laneHeight =
                row.lanes == 1 ? rowHeight : (row.isCopies ? Layout.copyLaneHeight : Layout.computeLaneHeight)
            for bar in row.bars {
                let left = x(bar.start)
                let barTop = top + Double(bar.lane) * laneHeight
                let barHeight = row.lanes == 1 ? laneHeight : laneHeight - 1
                let barWidth = Swift.max(x(bar.end) - left, 0.5)
                let stroke = barWidth >= 3 ? ##" stroke="#ffffff" stroke-width="0.5""## : ""
                out.append(
                    ##"<rect class="\##(isCopies ? "copy" : "task")" x="\##(number(left))" y="\##(number(barTop))" width="\##(number(barWidth))" height="\##(number(barHeight))" fill="\##(bar.colour)"\##(stroke)><title>\##(xmlEscaped(bar.tooltip))</title></rect>"##
                )
                if barHeight >= 12, let text = fitted(bar.label, width: barWidth - 6) {
                    let colour = isCopies ? "#ffffff" : "#111111"
                    out.append(
                        ##"<text x="\##(number(left + 3))" y="\##(number(barTop + barHeight / 2 + 3.5))" font-size="10" fill="\##(colour)" pointer-events="none">\##(xmlEscaped(text))</text>"##
                    )
                }
            }
            out.append("</g>")
        }

        // The legend.
        out.append(##"<g class="legend">"##)
        for (entry, place) in zip(legend, legendPlaces) {
            out.append(
                ##"<rect x="\##(number(place.x))" y="\##(number(place.y - 10))" width="12" height="12" fill="\##(entry.colour)"/>"##
            )
            out.append(
                ##"<text x="\##(number(place.x + 17))" y="\##(number(place.y))">\##(xmlEscaped(entry.label))</text>"##
            )
        }
        out.append("</g>")
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// The height of a row: one bar's, or its lanes'.
    private func height(of row: Row) -> Double {
        if row.lanes > 1 {
            return Double(row.lanes) * (row.isCopies ? Layout.copyLaneHeight : Layout.computeLaneHeight)
        }
        return row.isCopies ? Layout.copyHeight : Layout.computeHeight
    }

    /// Where each legend entry goes (its swatch's left, its text's baseline), wrapping between `left`
    /// and `right`, the first line's baseline at `top`.
    private func legendPositions(from left: Double, to right: Double, top: Double) -> [(x: Double, y: Double)] {
        var places: [(x: Double, y: Double)] = []
        var x = left
        var y = top
        for entry in legend {
            let entryWidth = 17 + Double(entry.label.count) * Layout.characterWidth + 18
            if x > left && x + entryWidth > right {
                x = left
                y += 18
            }
            places.append((x, y))
            x += entryWidth
        }
        return places
    }

    /// `text`, or its beginning and `…`, if at least 3 characters of it fit in `width` pixels; else `nil`.
    private func fitted(_ text: String, width: Double) -> String? {
        let fits = Int(width / Layout.characterWidth)
        if fits >= text.count { return text }
        return fits >= 4 ? String(text.prefix(fits - 1)) + "…" : nil
    }

    /// A coordinate with at most two decimals.
    private func number(_ value: Double) -> String {
        let text = fixed(value, decimals: 2)
        guard text.contains(".") else { return text }
        let trimmed = text.reversed().drop { $0 == "0" }.drop { $0 == "." }
        return String(trimmed.reversed())
    }
}

/// `text` with XML's special characters as entities, for element text and attribute values.
func xmlEscaped(_ text: String) -> String {
    var escaped = ""
    escaped.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        case "'": escaped += "&apos;"
        case _ where character.unicodeScalars.contains(where: { $0.value < 0x20 }): escaped += " "
        default: escaped.append(character)
        }
    }
    return escaped
}

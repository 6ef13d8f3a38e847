/// Rows of text in aligned columns, for the tool's reports.
struct TextTable {
    /// How a column's cells line up.
    enum Alignment {
        /// Against the column's left edge (text).
        case left
        /// Against the column's right edge (numbers).
        case right
    }

    /// Each column's alignment; columns beyond it are left-aligned.
    var alignments: [Alignment]
    /// The rows, the header first if there is one.
    var rows: [[String]] = []

    /// A table whose columns line up as `alignments` say.
    init(_ alignments: [Alignment]) {
        self.alignments = alignments
    }

    /// Adds a row.
    mutating func append(_ row: [String]) {
        rows.append(row)
    }

    /// The rows, each indented by `indent` spaces, columns two spaces apart, no trailing spaces.
    func lines(indent: Int = 2) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in
            rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0
        }
        return rows.map { row in
            let cells = row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                let alignment = column < alignments.count ? alignments[column] : .left
                return alignment == .right ? padding + cell : cell + padding
            }
            let line = String(repeating: " ", count: indent) + cells.joined(separator: "  ")
            return String(line.reversed().drop { $0 == " " }.reversed())
        }
    }
}

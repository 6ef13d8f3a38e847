import ParlaArrays
import Testing

// Shared fixtures for the NDArray unit tests: element-type selection, conversions that do not go
// through the library, naive reference implementations and the view layouts the tests run over.

/// The element types NDArray supports, as a test argument.
enum ElementKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case float, double, int32, int, uint8

    var type: any NDElement.Type {
        switch self {
        case .float: return Float.self
        case .double: return Double.self
        case .int32: return Int32.self
        case .int: return Int.self
        case .uint8: return UInt8.self
        }
    }

    var isInteger: Bool { self != .float && self != .double }

    var testDescription: String { self.rawValue }
}

/// Converts a small integral or floating value to `E` without going through NDArray's conversions.
func fx<E: NDElement>(_ value: Double, as type: E.Type = E.self) -> E {
    switch type {
    case is Float.Type: return Float(value) as! E
    case is Double.Type: return value as! E
    case is Int32.Type: return Int32(exactly: value)! as! E
    case is Int.Type: return Int(exactly: value)! as! E
    case is UInt8.Type: return UInt8(exactly: value)! as! E
    default: fatalError("unsupported element type \(type)")
    }
}

/// Row-major flattening of nested Swift arrays.
func flat<T>(_ rows: [[T]]) -> [T] { rows.flatMap { $0 } }

/// Row-major flattening of a 3-level nested Swift array.
func flat<T>(_ planes: [[[T]]]) -> [T] { planes.flatMap { $0.flatMap { $0 } } }

/// The transpose of a rectangular nested array.
func naiveTranspose<T>(_ rows: [[T]]) -> [[T]] {
    guard let columns = rows.first?.count else { return [] }
    return (0..<columns).map { j in rows.map { $0[j] } }
}

/// `rows x columns` values `f(i, j)`.
func grid<T>(_ rows: Int, _ columns: Int, _ f: (Int, Int) -> T) -> [[T]] {
    (0..<rows).map { i in (0..<columns).map { j in f(i, j) } }
}

/// The matrix product of two nested `Double` arrays, accumulated in `Double` with a triple loop.
func naiveMatmul(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
    let (m, k, n) = (a.count, b.count, b.first?.count ?? 0)
    var c = [[Double]](repeating: [Double](repeating: 0, count: n), count: m)
    for i in 0..<m {
        for j in 0..<n {
            var total = 0.0
            for l in 0..<k { total += a[i][l] * b[l][j] }
            c[i][j] = total
        }
    }
    return c
}

/// Expects `actual` and `expected` to have the same length and to agree within `tolerance` (absolute,
/// scaled by `max(1, |expected|)`); NaNs must line up.
func expectClose(
    _ actual: [Double],
    _ expected: [Double],
    tolerance: Double,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, sourceLocation: sourceLocation)
    var mismatches: [String] = []
    for (index, (x, y)) in zip(actual, expected).enumerated() {
        if x.isNaN || y.isNaN {
            if x.isNaN != y.isNaN { mismatches.append("[\(index)]: \(x) vs \(y)") }
        } else if x != y && Swift.abs(x - y) > tolerance * Swift.max(1, Swift.abs(y)) {
            mismatches.append("[\(index)]: \(x) vs \(y)")
        }
    }
    #expect(
        mismatches.isEmpty,
        "\(mismatches.prefix(5)) (\(mismatches.count) mismatches)",
        sourceLocation: sourceLocation
    )
}

/// How a logical 2-D operand is laid out in memory.
///
/// Every layout builds an array with the same logical shape and values; the broadcast layouts can only
/// hold values that repeat along one axis, which ``values(_:_:_:)`` guarantees.
enum ViewLayout: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// Row-major, gap-free.
    case contiguous
    /// The transpose of a contiguous array (column-major).
    case transposed
    /// Every second row and every third column of a larger array, starting at row 1.
    case stepped
    /// Both axes reversed (negative strides).
    case reversed
    /// An inner block of a larger array (an offset and a row stride wider than the row).
    case block
    /// A row vector broadcast down the rows (row stride 0).
    case broadcastRow
    /// A column vector broadcast across the columns (column stride 0).
    case broadcastColumn

    var testDescription: String { self.rawValue }

    /// The layouts that can hold arbitrary values (not broadcast).
    static var general: [ViewLayout] { [.contiguous, .transposed, .stepped, .reversed, .block] }

    var isContiguous: Bool { self == .contiguous }

    /// `rows x columns` logical values `f(i, j)`, constrained to what the layout can represent.
    func values<T>(_ rows: Int, _ columns: Int, _ f: (Int, Int) -> T) -> [[T]] {
        switch self {
        case .broadcastRow: return grid(rows, columns) { _, j in f(0, j) }
        case .broadcastColumn: return grid(rows, columns) { i, _ in f(i, 0) }
        default: return grid(rows, columns, f)
        }
    }

    /// An array with logical values `values`, laid out as this layout says.
    func make<E: NDElement>(_ values: [[E]]) -> NDArray<E> {
        let rows = values.count
        let columns = values.first?.count ?? 0
        let array: NDArray<E>
        switch self {
        case .contiguous:
            array = NDArray(flat(values), shape: [rows, columns])
        case .transposed:
            array = NDArray(flat(naiveTranspose(values)), shape: [columns, rows]).transposed
        case .stepped:
            let filler: E = fx(7)
            let big = grid(2 * rows + 1, 3 * columns) { i, j in
                i % 2 == 1 && j % 3 == 0 ? values[i / 2][j / 3] : filler
            }
            let storage = NDArray(flat(big), shape: [2 * rows + 1, 3 * columns])
            array = storage[NDSlice(lowerBound: 1, step: 2), .stride(by: 3)]
        case .reversed:
            let backwards = values.reversed().map { Array($0.reversed()) }
            array = NDArray(flat(backwards), shape: [rows, columns])[.stride(by: -1), .stride(by: -1)]
        case .block:
            let filler: E = fx(9)
            let big = grid(rows + 2, columns + 3) { i, j in
                (1...rows).contains(i) && (2...(columns + 1)).contains(j) ? values[i - 1][j - 2] : filler
            }
            array = NDArray(flat(big), shape: [rows + 2, columns + 3])[1..<(rows + 1), 2...(columns + 1)]
        case .broadcastRow:
            array = NDArray(values[0]).broadcast(to: [rows, columns])
        case .broadcastColumn:
            array = NDArray(values.map { $0[0] }, shape: [rows, 1]).broadcast(to: [rows, columns])
        }
        precondition(array.shape == [rows, columns], "layout \(self) built shape \(array.shape)")
        return array
    }
}

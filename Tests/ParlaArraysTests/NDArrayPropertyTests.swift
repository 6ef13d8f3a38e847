// Property tests for NDArray: every result is compared with a naive reference written here, on plain
// Swift arrays in row-major order with explicit index arithmetic, independent of the library's loops.
//
// The random cases are built by hand from PropertyBased's seeded generator (one `Generator` per kind
// of case), so a failure prints the whole case and the `.fixedSeed` that reproduces it.

import ParlaArrays
import PropertyBased
import Testing

// MARK: - Random source

/// A small deterministic generator seeded from PropertyBased's, so that each case is reproducible.
private struct CaseRNG: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        // SplitMix64.
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &self) < probability }

    mutating func pick<T>(_ options: [T]) -> T { options[self.int(0...(options.count - 1))] }

    mutating func permutation(of count: Int) -> [Int] { Array(0..<count).shuffled(using: &self) }
}

/// A PropertyBased generator of cases built by `make` (no shrinking: the cases are structured).
private func caseGenerator<Case: Sendable>(
    _ make: @escaping @Sendable (inout CaseRNG) -> Case
) -> Generator<Case, Shrink.None<Case>> {
    Generator { rng in
        var generator = CaseRNG(seed: rng.next())
        return make(&generator)
    }
}

// MARK: - Naive reference

/// Row-major strides of `shape`, computed naively.
private func referenceStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for axis in (0..<shape.count).reversed() {
        strides[axis] = running
        running *= shape[axis]
    }
    return strides
}

/// Every multi-index of `shape`, in row-major order.
private func rowMajorIndices(_ shape: [Int]) -> [[Int]] {
    if shape.contains(0) { return [] }
    var result: [[Int]] = [[]]
    for extent in shape {
        var next: [[Int]] = []
        for prefix in result {
            for i in 0..<extent { next.append(prefix + [i]) }
        }
        result = next
    }
    return result
}

/// The row-major position of `index` in an array of `shape`.
private func flatPosition(_ index: [Int], _ shape: [Int]) -> Int {
    zip(index, referenceStrides(shape)).reduce(0) { $0 + $1.0 * $1.1 }
}

/// The number of elements of `shape`.
private func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

/// NumPy's broadcast shape of two shapes, or nil when they are incompatible.
private func referenceBroadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    let pa = [Int](repeating: 1, count: rank - a.count) + a
    let pb = [Int](repeating: 1, count: rank - b.count) + b
    var result: [Int] = []
    for axis in 0..<rank {
        if pa[axis] == pb[axis] || pb[axis] == 1 {
            result.append(pa[axis])
        } else if pa[axis] == 1 {
            result.append(pb[axis])
        } else {
            return nil
        }
    }
    return result
}

/// The index of an operand of shape `source` that broadcasting maps the output index `index` to.
private func broadcastSourceIndex(_ index: [Int], from source: [Int]) -> [Int] {
    let lead = index.count - source.count
    return source.indices.map { axis in source[axis] == 1 ? 0 : index[lead + axis] }
}

/// `data` (row-major, shape `source`) broadcast to `target`, row-major.
private func referenceBroadcast<T>(_ data: [T], from source: [Int], to target: [Int]) -> [T] {
    rowMajorIndices(target).map { data[flatPosition(broadcastSourceIndex($0, from: source), source)] }
}

/// Equality that treats two NaNs as equal.
private func sameOrBothNaN<T: NDElement>(_ a: T, _ b: T) -> Bool { a == b || (a != a && b != b) }

private func sameElements<T: NDElement>(_ a: [T], _ b: [T]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { sameOrBothNaN($0, $1) }
}

private func closeEnough(_ a: Double, _ b: Double) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    return Swift.abs(a - b) <= 1e-9 * Swift.max(1, Swift.abs(b))
}

// MARK: - Calling the variadic subscripts with a runtime number of indices

/// `a[c0, c1, ...]` as a view.
private func subscriptView<T>(_ a: NDArray<T>, _ c: [any NDIndex]) -> NDArray<T> {
    switch c.count {
    case 0: return a
    case 1: return a[c[0]]
    case 2: return a[c[0], c[1]]
    case 3: return a[c[0], c[1], c[2]]
    case 4: return a[c[0], c[1], c[2], c[3]]
    case 5: return a[c[0], c[1], c[2], c[3], c[4]]
    default: fatalError("subscriptView: too many indices in the test")
    }
}

/// One element read through the public element subscript (`item()` for a 0-d array).
private func readElement<T>(_ a: NDArray<T>, _ i: [Int]) -> T {
    switch i.count {
    case 0: return a.item()
    case 1: return a[i[0]]
    case 2: return a[i[0], i[1]]
    case 3: return a[i[0], i[1], i[2]]
    case 4: return a[i[0], i[1], i[2], i[3]]
    case 5: return a[i[0], i[1], i[2], i[3], i[4]]
    default: fatalError("readElement: too many indices in the test")
    }
}

/// `a.elements`.
private func elementsOf<T>(_ a: NDArray<T>) -> [T] { a.elements }

/// Checks shape and elements (both through `elements` and one by one through the subscript).
private func expectArray<T>(
    _ actual: NDArray<T>,
    shape: [Int],
    elements expected: [T],
    _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.shape == shape, "\(what()): shape", sourceLocation: sourceLocation)
    guard actual.shape == shape else { return }
    #expect(actual.count == expected.count, "\(what()): count", sourceLocation: sourceLocation)
    let elements = actual.elements
    #expect(elements.count == expected.count, "\(what()): elements count", sourceLocation: sourceLocation)
    #expect(
        sameElements(elements, expected),
        "\(what()): elements \(elements), expected \(expected)",
        sourceLocation: sourceLocation
    )
    let readOneByOne = rowMajorIndices(shape).map { readElement(actual, $0) }
    #expect(
        sameElements(readOneByOne, expected),
        "\(what()): elements read one by one \(readOneByOne), expected \(expected)",
        sourceLocation: sourceLocation
    )
}

// MARK: - Operands with random layouts

/// How an operand's elements are laid out in memory.
private enum OperandLayout: Sendable, CustomStringConvertible {
    /// `NDArray(values, shape:)`.
    case contiguous
    /// `NDArray(stored, shape: storedShape).transposed(axes)` (`.transposed` when `reversed`).
    case transposed(axes: [Int], reversed: Bool)
    /// A view `big[NDSlice.stride(by: ±2), ...]` of a larger contiguous array.
    case stepped(bigShape: [Int], negative: [Bool])
    /// `NDArray(sourceValues, shape: sourceShape).broadcast(to: shape)`.
    case broadcast(sourceShape: [Int])

    var description: String {
        switch self {
        case .contiguous: return "contiguous"
        case .transposed(let axes, let reversed): return reversed ? ".transposed" : "transposed(\(axes))"
        case .stepped(let big, let negative):
            return "stepped view of \(big) by \(negative.map { $0 ? -2 : 2 })"
        case .broadcast(let source): return "broadcast of \(source)"
        }
    }
}

/// An array of a given logical shape and values, with a random layout; `values` is the reference.
private struct Operand<T: NDElement>: Sendable, CustomStringConvertible {
    var shape: [Int]
    /// The logical elements in row-major order.
    var values: [T]
    var layout: OperandLayout
    /// Broadcast: the source's row-major values. Stepped: the big array's values.
    var backing: [T]

    var description: String { "\(self.layout) of shape \(self.shape) values \(self.values)" }

    /// A random operand of `shape`.
    static func random(
        shape: [Int],
        allowBroadcast: Bool = true,
        rng: inout CaseRNG,
        value: (inout CaseRNG) -> T
    ) -> Operand {
        var kinds = [0, 1, 2]
        if allowBroadcast { kinds.append(3) }
        switch rng.pick(kinds) {
        case 1:
            let axes = rng.permutation(of: shape.count)
            let reversed = rng.chance(0.3)
            let order = reversed ? Array((0..<shape.count).reversed()) : axes
            let values = (0..<elementCount(shape)).map { _ in value(&rng) }
            return Operand(
                shape: shape,
                values: values,
                layout: .transposed(axes: order, reversed: reversed),
                backing: []
            )
        case 2:
            let bigShape = shape.map { $0 == 0 ? 0 : 2 * $0 - rng.int(0...1) }
            let negative = shape.map { _ in rng.chance(0.3) }
            let backing = (0..<elementCount(bigShape)).map { _ in value(&rng) }
            var op = Operand(
                shape: shape,
                values: [],
                layout: .stepped(bigShape: bigShape, negative: negative),
                backing: backing
            )
            op.values = rowMajorIndices(shape).map { index in
                let bigIndex = index.indices.map { axis in
                    negative[axis] ? bigShape[axis] - 1 - 2 * index[axis] : 2 * index[axis]
                }
                return backing[flatPosition(bigIndex, bigShape)]
            }
            return op
        case 3:
            let dropped = rng.int(0...shape.count)
            let sourceShape = shape.dropFirst(dropped).map { rng.chance(0.4) ? 1 : $0 }
            let backing = (0..<elementCount(sourceShape)).map { _ in value(&rng) }
            return Operand(
                shape: shape,
                values: referenceBroadcast(backing, from: sourceShape, to: shape),
                layout: .broadcast(sourceShape: sourceShape),
                backing: backing
            )
        default:
            let values = (0..<elementCount(shape)).map { _ in value(&rng) }
            return Operand(shape: shape, values: values, layout: .contiguous, backing: [])
        }
    }

    /// The library array with this layout.
    func make() -> NDArray<T> {
        switch self.layout {
        case .contiguous:
            return NDArray(self.values, shape: self.shape)
        case .transposed(let axes, let reversed):
            // The stored array has shape s with s[axes[i]] = shape[i]; its element at storedIndex is the
            // logical element at index with index[i] = storedIndex[axes[i]].
            var storedShape = [Int](repeating: 0, count: self.shape.count)
            for i in axes.indices { storedShape[axes[i]] = self.shape[i] }
            let stored = rowMajorIndices(storedShape).map { storedIndex in
                self.values[flatPosition(axes.map { storedIndex[$0] }, self.shape)]
            }
            let base = NDArray(stored, shape: storedShape)
            return reversed ? base.transposed : base.transposed(axes)
        case .stepped(let bigShape, let negative):
            let big = NDArray(self.backing, shape: bigShape)
            return subscriptView(big, negative.map { NDSlice.stride(by: $0 ? -2 : 2) })
        case .broadcast(let sourceShape):
            return NDArray(self.backing, shape: sourceShape).broadcast(to: self.shape)
        }
    }
}

/// A random shape of rank `rank` with extents in `extents`.
private func randomShape(rank: ClosedRange<Int>, extents: ClosedRange<Int>, rng: inout CaseRNG) -> [Int] {
    (0..<rng.int(rank)).map { _ in rng.int(extents) }
}

/// Small integers, so that sums are exact.
private func smallInt(_ rng: inout CaseRNG) -> Int { rng.int(-9...9) }

/// Small integral doubles, sometimes NaN.
private func smallDoubleOrNaN(_ rng: inout CaseRNG) -> Double {
    rng.chance(0.05) ? .nan : Double(rng.int(-5...5))
}

/// Doubles with a fractional part (no NaN).
private func fractionalDouble(_ rng: inout CaseRNG) -> Double { Double(rng.int(-1000...1000)) / 64 }

// MARK: - Broadcasting

private struct BinaryCase<T: NDElement>: Sendable, CustomStringConvertible {
    var lhs: Operand<T>
    var rhs: Operand<T>

    var description: String { "lhs: \(self.lhs); rhs: \(self.rhs)" }

    static func random(rng: inout CaseRNG, value: (inout CaseRNG) -> T) -> BinaryCase {
        let output = randomShape(rank: 0...4, extents: 0...4, rng: &rng)
        func operandShape(_ rng: inout CaseRNG) -> [Int] {
            output.dropFirst(rng.int(0...output.count)).map { rng.chance(0.35) ? 1 : $0 }
        }
        let lhsShape = operandShape(&rng)
        let rhsShape = operandShape(&rng)
        return BinaryCase(
            lhs: .random(shape: lhsShape, rng: &rng, value: value),
            rhs: .random(shape: rhsShape, rng: &rng, value: value)
        )
    }
}

/// Checks `+ - * /` and `maximum` of a random broadcast-compatible pair against the reference.
private func checkBinaryOperations<T: NDElement>(
    _ c: BinaryCase<T>,
    add: (T, T) -> T,
    subtract: (T, T) -> T,
    multiply: (T, T) -> T,
    divide: (T, T) -> T,
    maximum referenceMaximum: (T, T) -> T
) {
    guard let shape = referenceBroadcastShape(c.lhs.shape, c.rhs.shape) else {
        Issue.record("test bug: incompatible shapes generated")
        return
    }
    let a = c.lhs.make()
    let b = c.rhs.make()
    // The operands themselves read back as their reference.
    expectArray(a, shape: c.lhs.shape, elements: c.lhs.values, "lhs operand")
    expectArray(b, shape: c.rhs.shape, elements: c.rhs.values, "rhs operand")
    func reference(_ op: (T, T) -> T) -> [T] {
        rowMajorIndices(shape).map { index in
            let x = c.lhs.values[flatPosition(broadcastSourceIndex(index, from: c.lhs.shape), c.lhs.shape)]
            let y = c.rhs.values[flatPosition(broadcastSourceIndex(index, from: c.rhs.shape), c.rhs.shape)]
            return op(x, y)
        }
    }
    expectArray(a + b, shape: shape, elements: reference(add), "a + b")
    expectArray(a - b, shape: shape, elements: reference(subtract), "a - b")
    expectArray(a * b, shape: shape, elements: reference(multiply), "a * b")
    expectArray(a / b, shape: shape, elements: reference(divide), "a / b")
    expectArray(a.maximum(b), shape: shape, elements: reference(referenceMaximum), "a.maximum(b)")
    expectArray(maximum(a, b), shape: shape, elements: reference(referenceMaximum), "maximum(a, b)")
    // Operands are unchanged by the operations (they are values).
    #expect(sameElements(elementsOf(a), c.lhs.values))
    #expect(sameElements(elementsOf(b), c.rhs.values))
}

@Suite struct NDArrayPropertyBroadcastTests {
    @Test func broadcastingArithmeticOnDoublesMatchesReference() async {
        await propertyCheck(
            count: 1500,
            input: caseGenerator { rng in BinaryCase<Double>.random(rng: &rng, value: smallDoubleOrNaN) }
        ) { (c: BinaryCase<Double>) in
            checkBinaryOperations(
                c,
                add: { (x: Double, y: Double) in x + y },
                subtract: { (x: Double, y: Double) in x - y },
                multiply: { (x: Double, y: Double) in x * y },
                divide: { (x: Double, y: Double) in x / y },
                maximum: { (x: Double, y: Double) in x.isNaN || y.isNaN ? Double.nan : Swift.max(x, y) }
            )
        }
    }

    @Test func broadcastingArithmeticOnIntsMatchesReference() async {
        await propertyCheck(
            count: 1000,
            input: caseGenerator { rng in BinaryCase<Int>.random(rng: &rng, value: smallInt) }
        ) { (c: BinaryCase<Int>) in
            checkBinaryOperations(
                c,
                add: { (x: Int, y: Int) in x + y },
                subtract: { (x: Int, y: Int) in x - y },
                multiply: { (x: Int, y: Int) in x * y },
                // Documented: integer division truncates toward zero, and dividing by zero gives 0.
                divide: { (x: Int, y: Int) in y == 0 ? 0 : x / y },
                maximum: { (x: Int, y: Int) in Swift.max(x, y) }
            )
        }
    }

    @Test func broadcastShapeIsSymmetricAndMatchesReference() async {
        await propertyCheck(
            count: 1000,
            input: caseGenerator { rng in BinaryCase<Int>.random(rng: &rng, value: smallInt) }
        ) { c in
            let a = NDArray<Int>.zeros(c.lhs.shape)
            let b = NDArray<Int>.zeros(c.rhs.shape)
            let expected = referenceBroadcastShape(c.lhs.shape, c.rhs.shape)
            #expect((a + b).shape == expected)
            #expect((b + a).shape == expected)
            // Broadcasting each operand to the result shape gives the reference broadcast.
            if let expected {
                let x = c.lhs.make()
                expectArray(
                    x.broadcast(to: expected),
                    shape: expected,
                    elements: referenceBroadcast(c.lhs.values, from: c.lhs.shape, to: expected),
                    "broadcast(to:)"
                )
            }
        }
    }
}

// MARK: - Views

/// One random subscript component, kept as data so that failures print it.
private enum IndexSpec: Sendable, CustomStringConvertible {
    case int(Int)
    case range(Int, Int)
    case closedRange(Int, Int)
    case from(Int)
    case upTo(Int)
    case through(Int)
    case slice(Int?, Int?, Int)
    case sliceOfRange(Int, Int, Int)
    case all
    case strideBy(Int)
    case strideTo(Int, Int, Int)
    /// `...` (UnboundedRange); only where the library has an overload for it.
    case unbounded

    var description: String {
        func bound(_ b: Int?) -> String { b.map(String.init) ?? "nil" }
        switch self {
        case .int(let i): return "\(i)"
        case .range(let a, let b): return "\(a)..<\(b)"
        case .closedRange(let a, let b): return "\(a)...\(b)"
        case .from(let a): return "\(a)..."
        case .upTo(let b): return "..<\(b)"
        case .through(let b): return "...\(b)"
        case .slice(let a, let b, let s): return "NDSlice(lowerBound: \(bound(a)), upperBound: \(bound(b)), step: \(s))"
        case .sliceOfRange(let a, let b, let s): return "NDSlice(\(a)..<\(b), step: \(s))"
        case .all: return ".all"
        case .strideBy(let s): return ".stride(by: \(s))"
        case .strideTo(let a, let b, let s): return ".stride(from: \(a), to: \(b), by: \(s))"
        case .unbounded: return "..."
        }
    }

    var index: any NDIndex {
        switch self {
        case .int(let i): return i
        case .range(let a, let b): return a..<b
        case .closedRange(let a, let b): return a...b
        case .from(let a): return a...
        case .upTo(let b): return ..<b
        case .through(let b): return ...b
        case .slice(let a, let b, let s): return NDSlice(lowerBound: a, upperBound: b, step: s)
        case .sliceOfRange(let a, let b, let s): return NDSlice(a..<b, step: s)
        case .all: return NDSlice.all
        case .strideBy(let s): return NDSlice.stride(by: s)
        case .strideTo(let a, let b, let s): return NDSlice.stride(from: a, to: b, by: s)
        case .unbounded: return NDSlice.all
        }
    }

    /// The positions selected along an axis of `extent`, NumPy-style; nil for an integer (axis dropped).
    func positions(extent n: Int) -> [Int]? {
        switch self {
        case .int: return nil
        case .range(let a, let b): return pythonSlice(a, b, 1, extent: n)
        // `a...b` is `a:b+1`, except that `...-1` runs through the last position.
        case .closedRange(let a, let b): return pythonSlice(a, b == -1 ? nil : b + 1, 1, extent: n)
        case .from(let a): return pythonSlice(a, nil, 1, extent: n)
        case .upTo(let b): return pythonSlice(nil, b, 1, extent: n)
        case .through(let b): return pythonSlice(nil, b == -1 ? nil : b + 1, 1, extent: n)
        case .slice(let a, let b, let s): return rangeSlice(a, b, s, extent: n)
        case .sliceOfRange(let a, let b, let s): return rangeSlice(a, b, s, extent: n)
        case .all, .unbounded: return Array(0..<n)
        case .strideBy(let s): return rangeSlice(nil, nil, s, extent: n)
        // Documented: `.stride(from: a, to: b, by: s)` selects what NumPy's `a:b:s` does.
        case .strideTo(let a, let b, let s): return pythonSlice(a, b, s, extent: n)
        }
    }
}

/// Python's `range(*slice(start, stop, step).indices(n))`, computed naively.
private func pythonSlice(_ start: Int?, _ stop: Int?, _ step: Int, extent n: Int) -> [Int] {
    func adjust(_ bound: Int?, default value: Int, low: Int, high: Int) -> Int {
        guard var bound else { return value }
        if bound < 0 { bound += n }
        return Swift.min(Swift.max(bound, low), high)
    }
    var result: [Int] = []
    if step > 0 {
        var i = adjust(start, default: 0, low: 0, high: n)
        let end = adjust(stop, default: n, low: 0, high: n)
        while i < end {
            result.append(i)
            i += step
        }
    } else {
        var i = adjust(start, default: n - 1, low: -1, high: n - 1)
        let end = adjust(stop, default: -1, low: -1, high: n - 1)
        while i > end {
            result.append(i)
            i += step
        }
    }
    return result
}

/// An `NDSlice` with range bounds: the positions of the clamped range `a..<b`, every `step`, walked
/// from the top of the range when `step` is negative (as documented on `NDSlice`).
private func rangeSlice(_ a: Int?, _ b: Int?, _ step: Int, extent n: Int) -> [Int] {
    let range = pythonSlice(a, b, 1, extent: n)
    let ordered = step > 0 ? range : range.reversed()
    return ordered.enumerated().filter { $0.offset % Swift.abs(step) == 0 }.map(\.element)
}

/// A subscript: its components, NumPy-resolved against a shape.
private struct SubscriptSpec: Sendable, CustomStringConvertible {
    var components: [IndexSpec]

    var description: String { "[\(self.components.map(\.description).joined(separator: ", "))]" }

    /// A random subscript for `shape`: between 0 and `shape.count` components.
    ///
    /// Unless `anyStrideTo`, `.stride(from:to:by:)` components have non-negative bounds, and with a
    /// negative step they start inside the axis and land exactly on `to`.
    static func random(
        for shape: [Int],
        rng: inout CaseRNG,
        allowUnbounded: Bool = true,
        anyStrideTo: Bool = false
    ) -> SubscriptSpec {
        let count = rng.int(0...shape.count)
        var components: [IndexSpec] = []
        func bound(_ rng: inout CaseRNG) -> Int { rng.int(-7...7) }
        func step(_ rng: inout CaseRNG) -> Int { rng.pick([1, 2, 3, -1, -2, -3]) }
        for axis in 0..<count {
            let extent = shape[axis]
            let kind = rng.int(extent > 0 ? 0...11 : 1...11)
            switch kind {
            case 0: components.append(.int(rng.int(-extent...(extent - 1))))
            case 1:
                let (a, b) = (bound(&rng), bound(&rng))
                components.append(.range(Swift.min(a, b), Swift.max(a, b)))
            case 2:
                let (a, b) = (bound(&rng), bound(&rng))
                components.append(.closedRange(Swift.min(a, b), Swift.max(a, b)))
            case 3: components.append(.from(bound(&rng)))
            case 4: components.append(.upTo(bound(&rng)))
            case 5: components.append(.through(bound(&rng)))
            case 6:
                let a: Int? = rng.chance(0.25) ? nil : bound(&rng)
                let b: Int? = rng.chance(0.25) ? nil : bound(&rng)
                components.append(.slice(a, b, step(&rng)))
            case 7:
                let (a, b) = (bound(&rng), bound(&rng))
                components.append(.sliceOfRange(Swift.min(a, b), Swift.max(a, b), step(&rng)))
            case 8: components.append(.all)
            case 9: components.append(.strideBy(step(&rng)))
            case 10:
                let s = step(&rng)
                if anyStrideTo {
                    var (a, b) = (bound(&rng), bound(&rng))
                    // `to: -1` with a negative step deliberately means "down to position 0" (Swift's
                    // meaning, not NumPy's empty slice); leave it out.
                    if s < 0 && b == -1 { b = rng.pick([-2, 0]) }
                    if rng.chance(0.5) { a = rng.int(-extent...Swift.max(extent - 1, -extent)) }
                    components.append(.strideTo(a, b, s))
                } else if s > 0 {
                    components.append(.strideTo(rng.int(0...7), rng.int(0...7), s))
                } else if extent > 0 {
                    let a = rng.int(0...(extent - 1))
                    let b = a + s * rng.int(0...(a / -s))
                    components.append(.strideTo(a, b, s))
                } else {
                    components.append(.strideTo(0, 0, s))
                }
            default: components.append(.int(extent > 0 ? rng.int(-extent...(extent - 1)) : 0))
            }
            if case .int = components[axis], extent == 0 { components[axis] = .all }
        }
        // `...` is accepted as the first, second or third component, or the first two.
        if allowUnbounded && count > 0 && rng.chance(0.3) {
            switch rng.int(0...3) {
            case 0: components[0] = .unbounded
            case 1 where count > 1: components[1] = .unbounded
            case 2 where count > 2: components[2] = .unbounded
            case 3 where count > 1:
                components[0] = .unbounded
                components[1] = .unbounded
            default: break
            }
        }
        return SubscriptSpec(components: components)
    }

    /// The reference selection: the view's shape and, per view axis, the source axis and positions;
    /// plus the fixed positions of integer-indexed axes.
    func resolve(_ shape: [Int]) -> (shape: [Int], select: [(axis: Int, positions: [Int])], fixed: [Int: Int]) {
        var viewShape: [Int] = []
        var select: [(axis: Int, positions: [Int])] = []
        var fixed: [Int: Int] = [:]
        for axis in shape.indices {
            guard axis < self.components.count else {
                viewShape.append(shape[axis])
                select.append((axis, Array(0..<shape[axis])))
                continue
            }
            let component = self.components[axis]
            if case .int(let i) = component {
                fixed[axis] = i < 0 ? i + shape[axis] : i
            } else {
                let positions = component.positions(extent: shape[axis]) ?? []
                viewShape.append(positions.count)
                select.append((axis, positions))
            }
        }
        return (viewShape, select, fixed)
    }

    /// The reference: the flat (row-major) source positions of the view's elements, in the view's order.
    func sourcePositions(_ shape: [Int]) -> (shape: [Int], positions: [Int]) {
        let (viewShape, select, fixed) = self.resolve(shape)
        let positions = rowMajorIndices(viewShape).map { viewIndex -> Int in
            var sourceIndex = [Int](repeating: 0, count: shape.count)
            for (axis, position) in fixed { sourceIndex[axis] = position }
            for (k, s) in select.enumerated() { sourceIndex[s.axis] = s.positions[viewIndex[k]] }
            return flatPosition(sourceIndex, shape)
        }
        return (viewShape, positions)
    }

    /// The view `a[components]` through the library's subscripts, `...` included.
    func apply<T>(_ a: NDArray<T>) -> NDArray<T> {
        let c = self.components
        let idx = c.map(\.index)
        let unbounded = c.indices.filter { if case .unbounded = c[$0] { return true } else { return false } }
        switch unbounded {
        case []:
            return subscriptView(a, idx)
        case [0, 1]:
            let rest = Array(idx.dropFirst(2))
            switch rest.count {
            case 0: return a[..., ...]
            case 1: return a[..., ..., rest[0]]
            case 2: return a[..., ..., rest[0], rest[1]]
            default: return a[..., ..., rest[0], rest[1], rest[2]]
            }
        case [0]:
            let rest = Array(idx.dropFirst())
            switch rest.count {
            case 0: return a[...]
            case 1: return a[..., rest[0]]
            case 2: return a[..., rest[0], rest[1]]
            default: return a[..., rest[0], rest[1], rest[2]]
            }
        case [1]:
            let rest = Array(idx.dropFirst(2))
            switch rest.count {
            case 0: return a[idx[0], ...]
            case 1: return a[idx[0], ..., rest[0]]
            default: return a[idx[0], ..., rest[0], rest[1]]
            }
        case [2]:
            let rest = Array(idx.dropFirst(3))
            switch rest.count {
            case 0: return a[idx[0], idx[1], ...]
            default: return a[idx[0], idx[1], ..., rest[0]]
            }
        default:
            fatalError("test bug: unsupported placement of ...")
        }
    }

    /// `a[components] = value` through the library's subscripts (no `...`).
    func assign<T>(_ value: NDArray<T>, into a: inout NDArray<T>) {
        let c = self.components.map(\.index)
        switch c.count {
        case 0: a[] = value
        case 1: a[c[0]] = value
        case 2: a[c[0], c[1]] = value
        case 3: a[c[0], c[1], c[2]] = value
        default: a[c[0], c[1], c[2], c[3]] = value
        }
    }

    /// `a[components] = scalar` through the library's subscripts (no `...`).
    func fill<T>(_ scalar: T, into a: inout NDArray<T>) {
        let c = self.components.map(\.index)
        switch c.count {
        case 0: a[] = scalar
        case 1: a[c[0]] = scalar
        case 2: a[c[0], c[1]] = scalar
        case 3: a[c[0], c[1], c[2]] = scalar
        default: a[c[0], c[1], c[2], c[3]] = scalar
        }
    }
}

private struct ViewCase: Sendable, CustomStringConvertible {
    var source: Operand<Int>
    var subscripts: SubscriptSpec

    var description: String { "a = \(self.source); a\(self.subscripts)" }

    static func random(rng: inout CaseRNG) -> ViewCase { random(rng: &rng, anyStrideTo: true) }

    static func random(rng: inout CaseRNG, anyStrideTo: Bool) -> ViewCase {
        let shape = randomShape(rank: 1...4, extents: 0...5, rng: &rng)
        var counter = 0
        // Distinct values (except where broadcast), so that every selected position is identifiable.
        let source = Operand<Int>.random(shape: shape, rng: &rng) { _ in
            counter += 1
            return counter
        }
        return ViewCase(source: source, subscripts: .random(for: shape, rng: &rng, anyStrideTo: anyStrideTo))
    }
}

private struct AssignmentCase: Sendable, CustomStringConvertible {
    var target: Operand<Int>
    var subscripts: SubscriptSpec
    /// The value written: broadcastable to the region (nil: write the scalar `scalar`).
    var value: Operand<Int>?
    var scalar: Int
    /// Whether a copy and a view of the target share its storage when it is written (forces the
    /// copy-on-write copy).
    var shared: Bool
    /// The view of the target taken before the write (when `shared`).
    var earlierView: SubscriptSpec

    var description: String {
        let written = self.value.map(\.description) ?? "scalar \(self.scalar)"
        return "a = \(self.target); a\(self.subscripts) = \(written); shared: \(self.shared); "
            + "view taken before: a\(self.earlierView)"
    }

    static func random(rng: inout CaseRNG, sharedNonContiguous: Bool) -> AssignmentCase {
        let shape = randomShape(rank: 1...4, extents: 0...4, rng: &rng)
        var counter = 0
        var target = Operand<Int>.random(shape: shape, allowBroadcast: false, rng: &rng) { _ in
            counter += 1
            return counter
        }
        let subscripts = SubscriptSpec.random(for: shape, rng: &rng, allowUnbounded: false)
        let region = subscripts.resolve(shape).shape
        var value: Operand<Int>? = nil
        if rng.chance(0.75) {
            let valueShape = region.dropFirst(rng.int(0...region.count)).map { rng.chance(0.3) ? 1 : $0 }
            value = .random(shape: valueShape, rng: &rng) { rng in -rng.int(1...99) }
        }
        let shared = sharedNonContiguous || rng.chance(0.5)
        if shared && !sharedNonContiguous && rng.chance(0.5) {
            // Half of the shared targets are contiguous, the rest keep their random layout.
            target = Operand(shape: shape, values: target.values, layout: .contiguous, backing: [])
        }
        return AssignmentCase(
            target: target,
            subscripts: subscripts,
            value: value,
            scalar: -rng.int(100...200),
            shared: shared,
            earlierView: .random(for: shape, rng: &rng, allowUnbounded: false)
        )
    }
}

/// Checks an assignment through a random subscript against the reference, and that arrays sharing the
/// storage before the write keep their old values.
private func checkAssignment(_ c: AssignmentCase) {
    let shape = c.target.shape
    var a = c.target.make()
    let (region, positions) = c.subscripts.sourcePositions(shape)
    var expected = c.target.values
    let written: [Int]
    if let value = c.value {
        written = referenceBroadcast(value.values, from: value.shape, to: region)
    } else {
        written = [Int](repeating: c.scalar, count: positions.count)
    }
    for (k, position) in positions.enumerated() { expected[position] = written[k] }

    let snapshot: NDArray<Int>? = c.shared ? a : nil
    let earlier: NDArray<Int>? = c.shared ? c.earlierView.apply(a) : nil
    let (earlierShape, earlierPositions) = c.earlierView.sourcePositions(shape)

    if let value = c.value {
        c.subscripts.assign(value.make(), into: &a)
    } else {
        c.subscripts.fill(c.scalar, into: &a)
    }
    expectArray(a, shape: shape, elements: expected, "after a\(c.subscripts) = ...")
    expectArray(c.subscripts.apply(a), shape: region, elements: written, "the region read back")
    if let snapshot {
        expectArray(snapshot, shape: shape, elements: c.target.values, "a copy taken before the write")
    }
    if let earlier {
        expectArray(
            earlier,
            shape: earlierShape,
            elements: earlierPositions.map { c.target.values[$0] },
            "a view taken before the write"
        )
    }
}

/// Checks a view against the NumPy selection.
private func checkView(_ c: ViewCase) {
    let a = c.source.make()
    let (shape, positions) = c.subscripts.sourcePositions(c.source.shape)
    let v = c.subscripts.apply(a)
    expectArray(v, shape: shape, elements: positions.map { c.source.values[$0] }, "a\(c.subscripts)")
    #expect(v.ndim == shape.count)
    // A view of a view: selecting everything again changes nothing.
    if v.ndim > 0 {
        expectArray(v[...], shape: shape, elements: positions.map { c.source.values[$0] }, "v[...]")
    }
}

@Suite struct NDArrayPropertyViewTests {
    @Test func viewsSelectWhatNumPySelects() async {
        await propertyCheck(count: 3000, input: caseGenerator(ViewCase.random)) { c in
            checkView(c)
        }
    }

    @Test func assignmentThroughSubscriptsMatchesReference() async {
        await propertyCheck(
            count: 2000,
            input: caseGenerator { rng in AssignmentCase.random(rng: &rng, sharedNonContiguous: false) }
        ) { c in
            checkAssignment(c)
        }
    }

    @Test func writingIntoAViewLeavesTheSourceUnchanged() async {
        await propertyCheck(count: 1500, input: caseGenerator(ViewCase.random)) { c in
            let a = c.source.make()
            let (shape, positions) = c.subscripts.sourcePositions(c.source.shape)
            let selected = positions.map { c.source.values[$0] }
            var v = c.subscripts.apply(a)
            v.withUnsafeMutableBufferPointer { buffer in
                for i in buffer.indices { buffer[i] = -buffer[i] }
            }
            expectArray(v, shape: shape, elements: selected.map { -$0 }, "the view after negating it in place")
            expectArray(a, shape: c.source.shape, elements: c.source.values, "the source after writing the view")
            if v.ndim > 0 {
                var w = c.subscripts.apply(a)
                w[...] = 0
                expectArray(w, shape: shape, elements: selected.map { _ in 0 }, "the view after w[...] = 0")
                expectArray(a, shape: c.source.shape, elements: c.source.values, "the source after w[...] = 0")
            }
        }
    }
}

// MARK: - Reductions

private struct ReductionCase<T: NDElement>: Sendable, CustomStringConvertible {
    var operand: Operand<T>
    var axis: Int?

    var description: String { "a = \(self.operand); axis: \(self.axis.map(String.init) ?? "nil")" }

    static func random(rng: inout CaseRNG, value: (inout CaseRNG) -> T) -> ReductionCase {
        let shape = randomShape(rank: 0...4, extents: 0...4, rng: &rng)
        let operand = Operand<T>.random(shape: shape, rng: &rng, value: value)
        let axis: Int? = shape.isEmpty || rng.chance(0.3) ? nil : rng.int(-shape.count...(shape.count - 1))
        return ReductionCase(operand: operand, axis: axis)
    }

    /// The reference lines: the output shape and, per output element, the elements folded into it
    /// (in order along the axis; all elements in row-major order without an axis).
    var lines: (shape: [Int], lines: [[T]]) {
        let shape = self.operand.shape
        guard var axis = self.axis else { return ([], [self.operand.values]) }
        if axis < 0 { axis += shape.count }
        var outShape = shape
        outShape.remove(at: axis)
        let lines = rowMajorIndices(outShape).map { outIndex in
            (0..<shape[axis]).map { k in
                var index = outIndex
                index.insert(k, at: axis)
                return self.operand.values[flatPosition(index, shape)]
            }
        }
        return (outShape, lines)
    }

    /// Whether a reduction without identity has nothing to reduce (the library stops there).
    var hasEmptyLines: Bool {
        guard var axis = self.axis else { return self.operand.values.isEmpty }
        if axis < 0 { axis += self.operand.shape.count }
        return self.operand.shape[axis] == 0
    }
}

/// The first position of the best element (a NaN counts as best), as NumPy's argmax/argmin.
private func referenceArgBest<T: NDElement>(_ line: [T], _ isBetter: (T, T) -> Bool) -> Int {
    if let nan = line.firstIndex(where: { $0 != $0 }) { return nan }
    var best = 0
    for i in line.indices where isBetter(line[i], line[best]) { best = i }
    return best
}

private func referenceMax<T: NDElement>(_ line: [T]) -> T {
    line.first(where: { $0 != $0 }) ?? line.max()!
}

private func referenceMin<T: NDElement>(_ line: [T]) -> T {
    line.first(where: { $0 != $0 }) ?? line.min()!
}

@Suite struct NDArrayPropertyReductionTests {
    @Test func integerReductionsMatchReference() async {
        await propertyCheck(
            count: 1500,
            input: caseGenerator { rng in ReductionCase<Int>.random(rng: &rng, value: smallInt) }
        ) { c in
            let a = c.operand.make()
            let (shape, lines) = c.lines
            expectArray(a.sum(axis: c.axis), shape: shape, elements: lines.map { $0.reduce(0, +) }, "sum")
            // mean of integers is a Double array.
            let means = lines.map { Double($0.reduce(0, +)) / Double($0.count) }
            let mean = a.mean(axis: c.axis)
            #expect(mean.shape == shape)
            let meanElements = elementsOf(mean)
            #expect(meanElements.count == means.count && zip(meanElements, means).allSatisfy { closeEnough($0, $1) })
            guard !c.hasEmptyLines else { return }
            expectArray(a.max(axis: c.axis), shape: shape, elements: lines.map(referenceMax), "max")
            expectArray(a.min(axis: c.axis), shape: shape, elements: lines.map(referenceMin), "min")
            expectArray(
                a.argmax(axis: c.axis),
                shape: shape,
                elements: lines.map { referenceArgBest($0, >) },
                "argmax"
            )
            expectArray(
                a.argmin(axis: c.axis),
                shape: shape,
                elements: lines.map { referenceArgBest($0, <) },
                "argmin"
            )
        }
    }

    @Test func sumsOfNarrowIntegersAreExactInts() async {
        // NumPy sums int32 and uint8 in 64 bits; the lines here overflow UInt8 and Int32 often.
        await propertyCheck(
            count: 500,
            input: caseGenerator { rng in
                ReductionCase<UInt8>.random(rng: &rng) { UInt8(truncatingIfNeeded: $0.int(0...255)) }
            }
        ) { c in
            let a = c.operand.make()
            let (shape, lines) = c.lines
            let sums = lines.map { $0.reduce(0) { $0 + Int($1) } }
            expectArray(a.sum(axis: c.axis), shape: shape, elements: sums, "sum of UInt8s")
            let means = elementsOf(a.mean(axis: c.axis))
            let expected = zip(sums, lines).map { Double($0) / Double($1.count) }
            #expect(means.count == expected.count && zip(means, expected).allSatisfy { closeEnough($0, $1) })
        }
        await propertyCheck(
            count: 500,
            input: caseGenerator { rng in
                ReductionCase<Int32>.random(rng: &rng) { rng in
                    let small = Int32(rng.int(-1000...1000))
                    return rng.pick([Int32.max, Int32.min, Int32.max - 1, -1, 0, 1, small])
                }
            }
        ) { c in
            let a = c.operand.make()
            let (shape, lines) = c.lines
            let sums = lines.map { $0.reduce(0) { $0 + Int($1) } }
            expectArray(a.sum(axis: c.axis), shape: shape, elements: sums, "sum of Int32s")
        }
    }

    @Test func floatingReductionsWithNaNsAndTiesMatchReference() async {
        await propertyCheck(
            count: 1500,
            input: caseGenerator { rng in ReductionCase<Double>.random(rng: &rng, value: smallDoubleOrNaN) }
        ) { c in
            let a = c.operand.make()
            let (shape, lines) = c.lines
            expectArray(a.sum(axis: c.axis), shape: shape, elements: lines.map { $0.reduce(0, +) }, "sum")
            guard !c.hasEmptyLines else { return }
            expectArray(a.max(axis: c.axis), shape: shape, elements: lines.map(referenceMax), "max")
            expectArray(a.min(axis: c.axis), shape: shape, elements: lines.map(referenceMin), "min")
            expectArray(
                a.argmax(axis: c.axis),
                shape: shape,
                elements: lines.map { referenceArgBest($0, >) },
                "argmax"
            )
            expectArray(
                a.argmin(axis: c.axis),
                shape: shape,
                elements: lines.map { referenceArgBest($0, <) },
                "argmin"
            )
        }
    }

    @Test func meanMatchesReferenceWithinTolerance() async {
        await propertyCheck(
            count: 1000,
            input: caseGenerator { rng in ReductionCase<Double>.random(rng: &rng, value: fractionalDouble) }
        ) { c in
            let a = c.operand.make()
            let (shape, lines) = c.lines
            let expected = lines.map { line in line.reduce(0, +) / Double(line.count) }
            let mean = a.mean(axis: c.axis)
            #expect(mean.shape == shape)
            let actual = elementsOf(mean)
            #expect(
                actual.count == expected.count && zip(actual, expected).allSatisfy { closeEnough($0, $1) },
                "mean \(actual), expected \(expected)"
            )
            let sums = elementsOf(a.sum(axis: c.axis))
            let expectedSums = lines.map { $0.reduce(0, +) }
            #expect(sums.count == expectedSums.count && zip(sums, expectedSums).allSatisfy { closeEnough($0, $1) })
        }
    }
}

// MARK: - Transpose, reshape, contiguous

private struct RoundTripCase: Sendable, CustomStringConvertible {
    var operand: Operand<Int>
    var axes: [Int]
    var newShape: [Int]

    var description: String { "a = \(self.operand); axes: \(self.axes); reshaped to \(self.newShape)" }

    static func random(rng: inout CaseRNG) -> RoundTripCase {
        let shape = randomShape(rank: 0...4, extents: 0...4, rng: &rng)
        var counter = 0
        let operand = Operand<Int>.random(shape: shape, rng: &rng) { _ in
            counter += 1
            return counter
        }
        return RoundTripCase(
            operand: operand,
            axes: rng.permutation(of: shape.count),
            newShape: randomShape(ofCount: elementCount(shape), rng: &rng)
        )
    }
}

/// A random shape of rank 0-4 with `count` elements; one extent is sometimes `-1` (inferred).
private func randomShape(ofCount count: Int, rng: inout CaseRNG) -> [Int] {
    var shape: [Int] = []
    if count == 0 {
        shape = randomShape(rank: 1...4, extents: 0...3, rng: &rng)
        shape[rng.int(0...(shape.count - 1))] = 0
        return shape
    }
    var remaining = count
    let rank = rng.int(1...4)
    for _ in 0..<(rank - 1) {
        let divisors = (1...remaining).filter { remaining % $0 == 0 }
        let d = rng.pick(divisors)
        shape.append(d)
        remaining /= d
    }
    shape.append(remaining)
    shape.shuffle(using: &rng)
    if count == 1 && rng.chance(0.2) { return [] }
    if rng.chance(0.4) { shape[rng.int(0...(shape.count - 1))] = -1 }
    return shape
}

/// NumPy's `a.transpose(axes)` on row-major `values`: t[i] == a[j] with j[axes[k]] = i[k].
private func referenceTransposed<T>(_ values: [T], shape: [Int], axes: [Int]) -> [T] {
    rowMajorIndices(axes.map { shape[$0] }).map { i in
        var j = [Int](repeating: 0, count: shape.count)
        for k in axes.indices { j[axes[k]] = i[k] }
        return values[flatPosition(j, shape)]
    }
}

@Suite struct NDArrayPropertyLayoutTests {
    @Test func transposedPermutesAxesAndRoundTrips() async {
        await propertyCheck(count: 1000, input: caseGenerator(RoundTripCase.random)) { c in
            let a = c.operand.make()
            let shape = c.operand.shape
            let t = a.transposed(c.axes)
            let tValues = referenceTransposed(c.operand.values, shape: shape, axes: c.axes)
            expectArray(t, shape: c.axes.map { shape[$0] }, elements: tValues, "transposed(\(c.axes))")
            var inverse = [Int](repeating: 0, count: c.axes.count)
            for (k, axis) in c.axes.enumerated() { inverse[axis] = k }
            expectArray(t.transposed(inverse), shape: shape, elements: c.operand.values, "transposed back")
            let reversed = Array((0..<shape.count).reversed())
            expectArray(
                a.transposed,
                shape: shape.reversed(),
                elements: referenceTransposed(c.operand.values, shape: shape, axes: reversed),
                ".transposed"
            )
            expectArray(a.transposed.transposed, shape: shape, elements: c.operand.values, ".transposed.transposed")
        }
    }

    @Test func reshapedKeepsRowMajorOrderAndRoundTrips() async {
        await propertyCheck(count: 1000, input: caseGenerator(RoundTripCase.random)) { c in
            let a = c.operand.make()
            let shape = c.operand.shape
            var resolved = c.newShape
            if let inferred = resolved.firstIndex(of: -1) {
                resolved[inferred] = elementCount(shape) / elementCount(resolved.filter { $0 != -1 })
            }
            let r = a.reshaped(c.newShape)
            expectArray(r, shape: resolved, elements: c.operand.values, "reshaped(\(c.newShape))")
            expectArray(r.reshaped(shape), shape: shape, elements: c.operand.values, "reshaped back")
            expectArray(a.flattened(), shape: [elementCount(shape)], elements: c.operand.values, "flattened()")
            // Reshaping a transposed view reads it in its own row-major order.
            let t = a.transposed(c.axes)
            expectArray(
                t.reshaped([-1]),
                shape: [elementCount(shape)],
                elements: referenceTransposed(c.operand.values, shape: shape, axes: c.axes),
                "transposed(\(c.axes)).reshaped([-1])"
            )
        }
    }

    @Test func contiguousCopiesKeepElementsAndAreIndependent() async {
        await propertyCheck(count: 1000, input: caseGenerator(RoundTripCase.random)) { c in
            let a = c.operand.make()
            let shape = c.operand.shape
            var copy = a.contiguous()
            #expect(copy.isContiguous)
            if case .contiguous = c.operand.layout {
                #expect(a.isContiguous)
            }
            expectArray(copy, shape: shape, elements: c.operand.values, "contiguous()")
            if case .broadcast(let source) = c.operand.layout, elementCount(shape) > 0 {
                // A broadcast axis of extent > 1 has stride 0.
                let padded = [Int](repeating: 1, count: shape.count - source.count) + source
                if shape.indices.contains(where: { padded[$0] == 1 && shape[$0] > 1 }) {
                    #expect(!a.isContiguous)
                }
            }
            // Writing into the copy never shows in the source.
            copy.withUnsafeMutableBufferPointer { buffer in
                for i in buffer.indices { buffer[i] = -buffer[i] }
            }
            expectArray(copy, shape: shape, elements: c.operand.values.map { -$0 }, "negated copy")
            expectArray(a, shape: shape, elements: c.operand.values, "source after writing the copy")
            // withUnsafeBufferPointer sees the row-major elements whatever the layout.
            if !c.operand.values.isEmpty {
                let seen = a.withUnsafeBufferPointer { Array($0) }
                #expect(seen == c.operand.values)
            }
        }
    }
}

// MARK: - Regression tests for bugs found by these properties

@Suite struct NDArrayPropertyRegressionTests {
    @Test
    func assignmentIntoSharedNonContiguousArraysMatchesReference() async {
        await propertyCheck(
            count: 400,
            input: caseGenerator { rng in AssignmentCase.random(rng: &rng, sharedNonContiguous: true) }
        ) { c in
            checkAssignment(c)
        }
    }

    @Test
    func viewsWithAnyStrideToSelectWhatNumPySelects() async {
        await propertyCheck(
            count: 500,
            input: caseGenerator { rng in ViewCase.random(rng: &rng, anyStrideTo: true) }
        ) { c in
            checkView(c)
        }
    }

    @Test
    func strideToSelectsLikeNumPy() {
        let a = NDArray<Int>(Array(0..<6))
        // NumPy: np.arange(6)[1:-1] == [1, 2, 3, 4].
        #expect((a[.stride(from: 1, to: -1, by: 1)] as NDArray<Int>).elements == [1, 2, 3, 4])
        // NumPy: np.arange(6)[-4:-1:2] == [2, 4].
        #expect((a[.stride(from: -4, to: -1, by: 2)] as NDArray<Int>).elements == [2, 4])
        // NumPy: np.arange(6)[4:0:-3] == [4, 1].
        #expect((a[.stride(from: 4, to: 0, by: -3)] as NDArray<Int>).elements == [4, 1])
        // NumPy: np.arange(6)[-1:-3:-2] == [5].
        #expect((a[.stride(from: -1, to: -3, by: -2)] as NDArray<Int>).elements == [5])
        // NumPy: np.arange(3)[4:1:-3] == [2].
        #expect((NDArray<Int>([0, 1, 2])[.stride(from: 4, to: 1, by: -3)] as NDArray<Int>).elements == [2])
    }

    @Test
    func assignmentIntoSharedTransposedAndSteppedViews() {
        let base = NDArray<Int>(Array(0..<6), shape: [2, 3])
        var t = base.transposed  // [[0, 3], [1, 4], [2, 5]], shares base's storage
        t[0, 1] = 100
        // NumPy (on a copy): t[0, 1] = 100 gives [[0, 100], [1, 4], [2, 5]]
        #expect(t.elements == [0, 100, 1, 4, 2, 5])
        #expect(base.elements == [0, 1, 2, 3, 4, 5])

        let a = NDArray<Int>(Array(0..<6))
        var v = a[NDSlice.stride(by: 2)]  // [0, 2, 4], shares a's storage
        v[1] = 100
        #expect(v.elements == [0, 100, 4])
        #expect(a.elements == [0, 1, 2, 3, 4, 5])
    }

    @Test
    func emptyArraysAreContiguousAndHaveNoElements() {
        let z = NDArray<Int>.zeros([2, 0])
        // NumPy: np.zeros((2, 0)).flags['C_CONTIGUOUS'] is True.
        #expect(z.isContiguous)
        #expect(z.elements == [])
        #expect(NDArray<Double>.zeros([3, 0, 2])[1].elements == [])
    }
}

import Testing

@testable import ParlaArrays
@testable import ParlaDevices

/// NDArray's BLAS and LAPACK operations on the CPU, a virtual GPU and a simulated CUDA GPU (cuBLAS and
/// cuSOLVER simulated), against plain row-major loops, with operands of every layout the
/// transposition identities treat differently.
@Suite("linear algebra")
struct LinearAlgebraTests {
    /// Where the operations run.
    enum Place: String, CaseIterable, CustomTestStringConvertible {
        case cpu, virtualGPU, simulatedCUDA
        var testDescription: String { self.rawValue }

        func run(_ body: (Device) throws -> Void) throws {
            switch self {
            case .cpu: try body(.cpu)
            case .virtualGPU:
                try DeviceRegistry.withCurrent(try DeviceRegistry.make(.virtual(gpus: 1))) { try body(gpu(0)) }
            case .simulatedCUDA:
                try DeviceRegistry.withCurrent(try DeviceRegistry.make(.cudaSimulated(gpus: 1))) { try body(gpu(0)) }
            }
        }
    }

    /// How an operand is laid out in memory.
    enum Layout: String, CaseIterable, CustomTestStringConvertible {
        /// Row-major (the array of a transposed column-major matrix).
        case rowMajor
        /// A transposed view: column-major.
        case columnMajor
        /// Every other column of a wider array: no stride of 1 (copied for the libraries).
        case strided
        var testDescription: String { self.rawValue }
    }

    /// A rows×columns matrix with elements `value(i, j)`, laid out as `layout`, on `device`.
    static func matrix(
        _ rows: Int,
        _ columns: Int,
        _ layout: Layout,
        on device: Device,
        _ value: (Int, Int) -> Double
    ) -> NDArray<Double> {
        switch layout {
        case .rowMajor:
            return NDArray((0..<rows).map { i in (0..<columns).map { j in value(i, j) } }).to(device)
        case .columnMajor:
            return NDArray((0..<columns).map { j in (0..<rows).map { i in value(i, j) } }).to(device).transposed
        case .strided:
            let wide = NDArray(
                (0..<rows).map { i in (0..<(2 * columns)).map { j in j % 2 == 0 ? value(i, j / 2) : -7 } }
            )
            return wide.to(device)[0..<rows, NDSlice.stride(by: 2)]
        }
    }

    static func element(_ seed: Int) -> (Int, Int) -> Double {
        { i, j in Double((i * 7 + j * 3 + seed) % 11) / 4 - 1 }
    }

    /// Row-major rows of an array (on any device).
    static func rows(_ array: NDArray<Double>) -> [[Double]] {
        let host = array.to(.cpu).contiguous()
        let flat = host.elements
        return (0..<host.shape[0]).map { i in Array(flat[(i * host.shape[1])..<((i + 1) * host.shape[1])]) }
    }

    static func expectClose(_ actual: [[Double]], _ expected: [[Double]], _ what: String) {
        #expect(actual.count == expected.count, "\(what)")
        for (row, (a, e)) in zip(actual, expected).enumerated() {
            for (column, (x, y)) in zip(a, e).enumerated() where Swift.abs(x - y) > 1e-9 * Swift.max(1, Swift.abs(y)) {
                Issue.record("\(what): element (\(row), \(column)) is \(x), expected \(y)")
                return
            }
        }
    }

    static func transpose(_ x: [[Double]]) -> [[Double]] {
        guard let first = x.first else { return [] }
        return (0..<first.count).map { j in x.map { $0[j] } }
    }

    static func product(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        a.map { row in (0..<(b.first?.count ?? 0)).map { j in zip(row, b).reduce(0) { $0 + $1.0 * $1.1[j] } } }
    }

    @Test("multiplyAdd is alpha·op(A)·op(B) + beta·C", arguments: Place.allCases, Layout.allCases)
    func multiplyAdd(place: Place, layout: Layout) throws {
        try place.run { device in
            let (m, n, k) = (5, 4, 3)
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    let a = Self.matrix(transposeA ? k : m, transposeA ? m : k, layout, on: device, Self.element(1))
                    let b = Self.matrix(transposeB ? n : k, transposeB ? k : n, .rowMajor, on: device, Self.element(2))
                    var c = Self.matrix(m, n, layout, on: device, Self.element(3))
                    let before = Self.rows(c)
                    c.multiplyAdd(a, b, alpha: 0.5, beta: -1.5, transposeA: transposeA, transposeB: transposeB)
                    let opA = transposeA ? Self.transpose(Self.rows(a)) : Self.rows(a)
                    let opB = transposeB ? Self.transpose(Self.rows(b)) : Self.rows(b)
                    let expected = zip(Self.product(opA, opB), before).map { zip($0, $1).map { 0.5 * $0 - 1.5 * $1 } }
                    #expect(c.device == device)
                    Self.expectClose(
                        Self.rows(c),
                        expected,
                        "GEMM on \(device), \(layout), op(A) \(transposeA), op(B) \(transposeB)"
                    )
                }
            }
        }
    }

    @Test(
        "rankKUpdate updates one triangle with alpha·op(A)·op(A)ᵀ + beta·C",
        arguments: Place.allCases,
        Layout.allCases
    )
    func rankKUpdate(place: Place, layout: Layout) throws {
        try place.run { device in
            let (n, k) = (5, 3)
            for triangle in MatrixTriangle.allCases {
                for transpose in [false, true] {
                    let a = Self.matrix(transpose ? k : n, transpose ? n : k, .rowMajor, on: device, Self.element(4))
                    var c = Self.matrix(n, n, layout, on: device, Self.element(5))
                    let before = Self.rows(c)
                    c.rankKUpdate(a, alpha: 2, beta: 0.5, transpose: transpose, triangle: triangle)
                    let opA = transpose ? Self.transpose(Self.rows(a)) : Self.rows(a)
                    let full = Self.product(opA, Self.transpose(opA))
                    var expected = before
                    for i in 0..<n {
                        for j in 0..<n where triangle == .lower ? i >= j : i <= j {
                            expected[i][j] = 2 * full[i][j] + 0.5 * before[i][j]
                        }
                    }
                    Self.expectClose(
                        Self.rows(c),
                        expected,
                        "SYRK on \(device), \(layout), \(triangle), transpose \(transpose)"
                    )
                }
            }
        }
    }

    @Test("solveTriangular solves op(A)·X = alpha·B or X·op(A) = alpha·B", arguments: Place.allCases, Layout.allCases)
    func solveTriangular(place: Place, layout: Layout) throws {
        try place.run { device in
            let (m, n) = (4, 3)
            for side in MatrixSide.allCases {
                for triangle in MatrixTriangle.allCases {
                    for (transposeA, unitDiagonal) in [(false, false), (true, false), (false, true)] {
                        let order = side == .left ? m : n
                        // Well conditioned; the other triangle holds junk the solve must not read.
                        let a = Self.matrix(order, order, layout, on: device) { i, j in
                            if i == j { return 4 + Double(i) }
                            return (triangle == .lower ? i > j : i < j) ? Double((i + 2 * j) % 3) - 1 : 99
                        }
                        var x = Self.matrix(m, n, layout, on: device, Self.element(6))
                        let b = Self.rows(x)
                        x.solveTriangular(
                            a,
                            side: side,
                            triangle: triangle,
                            transposeA: transposeA,
                            unitDiagonal: unitDiagonal,
                            alpha: 2
                        )
                        // The triangular matrix as the solve sees it.
                        var t = Self.rows(a)
                        for i in 0..<order {
                            for j in 0..<order where triangle == .lower ? i < j : i > j { t[i][j] = 0 }
                            if unitDiagonal { t[i][i] = 1 }
                        }
                        let opA = transposeA ? Self.transpose(t) : t
                        let solution = Self.rows(x)
                        let recomposed = side == .left ? Self.product(opA, solution) : Self.product(solution, opA)
                        Self.expectClose(
                            recomposed,
                            b.map { $0.map { 2 * $0 } },
                            "TRSM on \(device), \(layout), \(side), \(triangle), transpose \(transposeA), unit \(unitDiagonal)"
                        )
                    }
                }
            }
        }
    }

    @Test(
        "choleskyFactorize writes L with A = L·Lᵀ (or U with A = Uᵀ·U) and leaves the other triangle",
        arguments: Place.allCases,
        Layout.allCases
    )
    func cholesky(place: Place, layout: Layout) throws {
        try place.run { device in
            let n = 6
            let m = (0..<n).map { i in (0..<n).map { j in Self.element(7)(i, j) } }
            let spd = Self.product(m, Self.transpose(m)).enumerated().map { i, row in
                row.enumerated().map { j, x in x + (i == j ? Double(n) : 0) }
            }
            for triangle in MatrixTriangle.allCases {
                var a = Self.matrix(n, n, layout, on: device) { i, j in spd[i][j] }
                try a.choleskyFactorize(triangle: triangle)
                let result = Self.rows(a)
                let factor = (0..<n).map { i in
                    (0..<n).map { j in (triangle == .lower ? i >= j : i <= j) ? result[i][j] : 0 }
                }
                let recomposed =
                    triangle == .lower
                    ? Self.product(factor, Self.transpose(factor)) : Self.product(Self.transpose(factor), factor)
                Self.expectClose(recomposed, spd, "POTRF on \(device), \(layout), \(triangle)")
                for i in 0..<n {
                    for j in 0..<n where triangle == .lower ? i < j : i > j {
                        #expect(result[i][j] == spd[i][j], "the other triangle is untouched")
                    }
                }
            }
        }
    }

    @Test("a matrix that is not positive definite says which leading minor is not", arguments: Place.allCases)
    func notPositiveDefinite(place: Place) throws {
        try place.run { device in
            var a = NDArray<Double>([[4, 2, 0], [2, 1, 0], [0, 0, 1]]).to(device)
            #expect(throws: LinearAlgebraError.notPositiveDefinite(order: 3, minor: 2, device: device)) {
                try a.choleskyFactorize()
            }
        }
    }

    @Test("Float operands work too, through the single-precision routines", arguments: Place.allCases)
    func singlePrecision(place: Place) throws {
        try place.run { device in
            var c = NDArray<Float>.zeros([2, 2]).to(device)
            c.multiplyAdd(
                NDArray<Float>([[1, 2], [3, 4]]).to(device),
                NDArray<Float>([[1, 0], [0, 1]]).to(device)
            )
            #expect(c.to(cpu).elements == [1, 2, 3, 4])
            var a = NDArray<Float>([[4, 2], [2, 5]]).to(device)
            try a.choleskyFactorize()
            #expect(a.to(cpu).elements == [2, 2, 1, 2])
            var x = NDArray<Float>([[2], [5]]).to(device)
            x.solveTriangular(a)
            #expect(x.to(cpu).elements == [1, 2])
            var s = NDArray<Float>.zeros([2, 2]).to(device)
            s.rankKUpdate(NDArray<Float>([[1, 2], [3, 4]]).to(device), beta: 0)
            #expect(s.to(cpu).elements == [5, 0, 11, 25])
        }
    }

    @Test("an in-place operation on an array whose storage is shared leaves the other array as it was")
    func copyOnWrite() {
        let original = NDArray<Double>([[1, 0], [0, 1]])
        var updated = original
        updated.multiplyAdd(NDArray([[1, 1], [1, 1]]), NDArray([[1, 0], [0, 1]]))
        #expect(original.elements == [1, 0, 0, 1])
        #expect(updated.elements == [2, 1, 1, 2])
    }
}

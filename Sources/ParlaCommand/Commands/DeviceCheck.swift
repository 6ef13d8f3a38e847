import ArgumentParser
import Parla
import Synchronization

/// `parla device-check`: every NDArray operation, for every element type, on every device, against the
/// host; that a task on each GPU completes only after its kernels; that a failing device call fails its
/// task and nothing else; then every copy path between the devices, checked and timed, and kernel
/// launch latency.
struct DeviceCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device-check",
        abstract: "Run every NDArray operation on every device, compare with the host, and measure bandwidth.",
        discussion: "Exits with a non-zero status when any result differs from the host's."
    )

    @OptionGroup var options: DeviceOptions

    @Option(help: "Bytes per copy in the bandwidth measurements.")
    var copyBytes = 256 << 20

    @Flag(help: "Skip the copies and the bandwidth and latency measurements.")
    var skipBandwidth = false

    @Flag(help: "Only the copies: every copy path between the devices, checked and timed.")
    var copiesOnly = false

    @Flag(help: "Only the tasks: completion after the device work, a failing device call, per-task costs.")
    var tasksOnly = false

    func run() async throws {
        let registry = try options.installRegistry()
        print("devices (\(registry.selection)):")
        for device in registry.devices { print("  \(describe(try registry.backend(for: device)))") }
        var failures = 0
        for device in registry.devices where device != .cpu && !copiesOnly && !tasksOnly {
            print("\n== operations on \(device), compared with the host")
            let clock = ContinuousClock()
            var results: [DType: [CheckResult]] = [:]
            let elapsed = clock.measure {
                results[.float32] = checkAll(Float.self, on: device)
                results[.float64] = checkAll(Double.self, on: device)
                results[.int32] = checkAll(Int32.self, on: device)
                results[.int64] = checkAll(Int.self, on: device)
                results[.uint8] = checkAll(UInt8.self, on: device)
            }
            failures += printTable(results)
            print("(\(format(seconds(elapsed))) s, including kernel compilation)")
        }
        if !copiesOnly {
            failures += try await checkTaskCompletion(registry)
            failures += try await checkDeviceFailure(registry)
            failures += try await checkUserLibraryCall(registry)
            failures += try await checkMultiDeviceTasks(registry)
            failures += try await checkSharedGPU(registry)
        }
        if !skipBandwidth && !tasksOnly {
            failures += try checkCopies(registry)
        }
        if failures > 0 {
            print("\n\(failures) check(s) failed")
            throw ExitCode.failure
        }
        print("\nall checks passed")
    }

    /// On each GPU: a task that queues a second of kernels must find its device idle when it has
    /// completed; a task that queues nothing completes without waiting for the device. Returns the
    /// number of failures.
    private func checkTaskCompletion(_ registry: DeviceRegistry) async throws -> Int {
        let gpus = registry.devices.filter { $0 != .cpu }
        guard !gpus.isEmpty else { return 0 }
        print("\n== tasks on GPUs complete after the work they queued")
        var failures = 0
        for device in gpus {
            let backend = try registry.backend(for: device)
            // Kernels of virtual and simulated GPUs run on the host; a small load shows the same there.
            let size = backend.diagnostics.runsOnHost ? 64 : 2048
            let idle = Mutex(false)
            let clock = ContinuousClock()
            var busy = Duration.zero
            var empty = Duration.zero
            try await Parla.run(devices: registry.selection) {
                // The kernels are compiled and the libraries loaded before anything is timed.
                try await spawn(placement: device) {
                    let x = NDArray<Float>.full([64, 64], value: 1e-3).to(Device.current)
                    withExtendedLifetime(matmul(x, x) + 1) {}
                }.wait()
                let start = clock.now
                let task = spawn(placement: device) {
                    // Many dependent kernels, nothing copied back: only the task's completion waits.
                    let x = NDArray<Float>.full([size, size], value: 1e-3).to(Device.current)
                    var y = x
                    for _ in 0..<40 { y = matmul(y, x) }
                    withExtendedLifetime(y) {}
                }
                try await task.wait()
                busy = start.duration(to: clock.now)
                let isIdle = try backend.diagnostics.isIdle()
                idle.withLock { $0 = isIdle }
            }
            let emptyStart = clock.now
            try await Parla.run(devices: registry.selection) {
                for _ in 0..<1000 { spawn(placement: device) {} }
            }
            empty = emptyStart.duration(to: clock.now)
            let idleOK = idle.withLock { $0 }
            if !idleOK { failures += 1 }
            print(
                "\(device): a task of 40 matmuls (\(size)²) completed after \(format(seconds(busy) * 1e3)) ms, device idle then: \(idleOK ? "yes" : "NO"); 1,000 empty tasks: \(format(seconds(empty) / 1000 * 1e6)) µs each"
            )
            // Chains of dependent tasks: with runahead, each is released when its predecessor's work is
            // queued, not when the host has seen it finish. The best of three, each way.
            let gemmOrder = backend.diagnostics.runsOnHost ? 64 : 1024
            for kind in [ChainKind.smallKernel, .gemm(gemmOrder)] {
                var best: [Bool: Double] = [:]
                for _ in 0..<3 {
                    for runahead in [true, false] {
                        let (perTask, correct) = try await Parla.withRunahead(runahead) {
                            try await timeChain(of: kind, on: device, registry)
                        }
                        if !correct { failures += 1 }
                        best[runahead] = Swift.min(best[runahead] ?? .infinity, perTask)
                    }
                }
                let (on, off) = (best[true]!, best[false]!)
                print(
                    "\(device): a chain of 1,000 tasks of \(kind): \(format(on * 1e6)) µs each running ahead, \(format(off * 1e6)) µs with the worker waiting (\(format(off / on))× as long)"
                )
            }
        }
        return failures
    }

    /// What each task of a timed chain queues.
    enum ChainKind: CustomStringConvertible {
        /// One small element-wise kernel (and the assignment's copy).
        case smallKernel
        /// One GEMM of `order`² matrices, in place.
        case gemm(Int)

        var description: String {
            switch self {
            case .smallKernel: return "one small kernel each"
            case .gemm(let order): return "one \(order)² GEMM each"
            }
        }
    }

    /// Seconds per task of a chain of 1,000 dependent tasks of `kind` on `device` (after one untimed
    /// step, which compiles or loads what the steps use), and whether they computed what they should.
    private func timeChain(
        of kind: ChainKind,
        on device: Device,
        _ registry: DeviceRegistry
    ) async throws -> (Double, Bool) {
        let clock = ContinuousClock()
        let steps = 1000
        var elapsed = Duration.zero
        switch kind {
        case .smallKernel:
            let counter = PArray(NDArray<Float>.zeros([256]))
            try await Parla.run(devices: registry.selection) {
                try await spawn(placement: device, inOut: [counter]) { counter[0..<256] = counter.array + 1 }.wait()
                let start = clock.now
                let space = TaskSpace("chain")
                for step in 0..<steps {
                    spawn(space[step], placement: device, inOut: [counter]) { counter[0..<256] = counter.array + 1 }
                }
                try await space.wait()
                elapsed = start.duration(to: clock.now)
            }
            return (seconds(elapsed) / Double(steps), counter.array.elements.allSatisfy { $0 == Float(steps + 1) })
        case .gemm(let order):
            // c ← 0.5·a·b + 0.5·c, a the identity and b and c all ones: c stays all ones.
            let identity = NDArray<Float>((0..<order).map { i in (0..<order).map { j in i == j ? 1 : 0 } })
            let a = PArray(identity)
            let b = PArray(NDArray<Float>.ones([order, order]))
            let c = PArray(NDArray<Float>.ones([order, order]))
            try await Parla.run(devices: registry.selection) {
                let step: @Sendable () -> Void = { c.multiplyAdd(a.array, b.array, alpha: 0.5, beta: 0.5) }
                try await spawn(placement: device, input: [a, b], inOut: [c]) { step() }.wait()
                let start = clock.now
                let space = TaskSpace("chain")
                for index in 0..<steps { spawn(space[index], placement: device, input: [a, b], inOut: [c]) { step() } }
                try await space.wait()
                elapsed = start.duration(to: clock.now)
            }
            return (seconds(elapsed) / Double(steps), c.array.elements.allSatisfy { $0 == 1 })
        }
    }

    private func printTable(_ results: [DType: [CheckResult]]) -> Int {
        let types: [DType] = [.float32, .float64, .int32, .int64, .uint8]
        var names: [String] = []
        for type in types {
            for result in results[type] ?? [] where !names.contains(result.name) { names.append(result.name) }
        }
        let width = (names.map(\.count).max() ?? 10) + 2
        print("operation".padding(width) + types.map { $0.rawValue.padding(9) }.joined())
        var failures = 0
        var details: [String] = []
        for name in names {
            var line = name.padding(width)
            for type in types {
                guard let result = results[type]?.first(where: { $0.name == name }) else {
                    line += "-".padding(9)
                    continue
                }
                line += (result.passed ? "ok" : "FAIL").padding(9)
                if !result.passed {
                    failures += 1
                    details.append("  \(name) [\(type)]: \(result.detail)")
                }
            }
            print(line)
        }
        for detail in details { print(detail) }
        return failures
    }

}

/// The outcome of one operation on one device for one element type.
struct CheckResult {
    var name: String
    var passed: Bool
    var detail: String
}

/// A result reduced to what is compared: shape and values as `Double`s.
struct ComparableResult {
    var shape: [Int]
    var values: [Double]

    init<E: NDElement>(_ array: NDArray<E>) {
        let host = array.to(.cpu)
        self.shape = host.shape
        self.values = host.astype(Double.self).elements
    }
}

/// Runs `operation` on the host and on `device` and compares the two results.
func compare(
    _ name: String,
    tolerance: Double,
    on device: Device,
    _ operation: (Device) -> ComparableResult
) -> CheckResult {
    let expected = operation(.cpu)
    let actual = operation(device)
    guard expected.shape == actual.shape else {
        return CheckResult(name: name, passed: false, detail: "shape \(actual.shape), host \(expected.shape)")
    }
    for (i, (e, a)) in zip(expected.values, actual.values).enumerated() {
        let same = (e.isNaN && a.isNaN) || e == a || abs(e - a) <= tolerance * max(abs(e), 1)
        if !same {
            return CheckResult(name: name, passed: false, detail: "element \(i): \(a), host \(e)")
        }
    }
    return CheckResult(name: name, passed: true, detail: "")
}

/// Every operation for element type `E` on `device`.
func checkAll<E: NDElement>(_ type: E.Type, on device: Device) -> [CheckResult] {
    let isFloat = E.dtype.isFloatingPoint
    // Small integers keep sums and products exact in every type (UInt8 wraps identically everywhere).
    let a = NDArray<Double>.random([37, 53], seed: 11).astype(Double.self) * 9
    let b = NDArray<Double>.random([37, 53], seed: 12) * 9 + 1
    let x = (isFloat ? a - 4 : a).astype(E.self)
    let y = b.astype(E.self)
    let row = (NDArray<Double>.random([53], seed: 13) * 5 + 1).astype(E.self)
    let cube = (NDArray<Double>.random([3, 5, 7], seed: 14) * 4).astype(E.self)
    let cubeB = (NDArray<Double>.random([7, 4], seed: 15) * 4).astype(E.self)
    let exact = 0.0
    let rounding = E.self == Float.self ? 1e-4 : 1e-10
    let two: E = 2
    var results: [CheckResult] = []
    func check(
        _ name: String,
        tolerance: Double = exact,
        _ op: (NDArray<E>, NDArray<E>, NDArray<E>) -> ComparableResult
    ) {
        results.append(compare(name, tolerance: tolerance, on: device) { d in op(x.to(d), y.to(d), row.to(d)) })
    }
    check("a + b") { a, b, r in ComparableResult(a + b) }
    check("a - b") { a, b, r in ComparableResult(a - b) }
    check("a * b") { a, b, r in ComparableResult(a * b) }
    check("a / b", tolerance: isFloat ? rounding : exact) { a, b, r in ComparableResult(a / b) }
    check("a + row (broadcast)") { a, b, r in ComparableResult(a + r) }
    check("a.T * row.reshaped([53, 1])") { a, b, r in ComparableResult(a.transposed * r.reshaped([53, 1])) }
    check("a + 2") { a, _, _ in ComparableResult(a + two) }
    check("2 - a") { a, _, _ in ComparableResult(two - a) }
    check("a * 2") { a, _, _ in ComparableResult(a * two) }
    check("a / 2", tolerance: isFloat ? rounding : exact) { a, _, _ in ComparableResult(a / two) }
    check("2 / b", tolerance: isFloat ? rounding : exact) { _, b, _ in ComparableResult(two / b) }
    check("-a") { a, _, _ in ComparableResult(-a) }
    check("abs(a)") { a, _, _ in ComparableResult(abs(a)) }
    check("maximum(a, b)") { a, b, r in ComparableResult(maximum(a, b)) }
    check("minimum(a, b)") { a, b, r in ComparableResult(minimum(a, b)) }
    check("a.maximum(2)") { a, _, _ in ComparableResult(a.maximum(two)) }
    check("a.T + b.T (transposed)") { a, b, r in ComparableResult(a.transposed + b.transposed) }
    check("a[::2, 1::3] * 2 (stepped)") { a, _, _ in
        ComparableResult(a[.stride(by: 2), NDSlice(lowerBound: 1, step: 3)] * two)
    }
    check("a.T.contiguous()") { a, _, _ in ComparableResult(a.transposed.contiguous()) }
    check("a.T.reshaped([-1])") { a, _, _ in ComparableResult(a.transposed.reshaped([-1])) }
    check("a[1..<5] = b[0..<4]") { a, b, _ in
        var c = a
        c[1..<5] = b[0..<4]
        return ComparableResult(c)
    }
    check("a[..., 2] = 7") { a, _, _ in
        var c = a
        c[..., 2] = 7
        return ComparableResult(c)
    }
    check("a[3] = row") { a, _, r in
        var c = a
        c[3] = r
        return ComparableResult(c)
    }
    check("item of a[2, 3]") { a, _, _ in ComparableResult(NDArray(a[2, 3].item())) }
    check("sum()", tolerance: isFloat ? rounding : exact) { a, _, _ in ComparableResult(a.sum()) }
    check("sum(axis: 0)", tolerance: isFloat ? rounding : exact) { a, _, _ in ComparableResult(a.sum(axis: 0)) }
    check("sum(axis: 1) of a.T", tolerance: isFloat ? rounding : exact) { a, _, _ in
        ComparableResult(a.transposed.sum(axis: 1))
    }
    check("sum() of 100k", tolerance: isFloat ? rounding : exact) { _, _, _ in
        ComparableResult(NDArray<E>.ones([100_003]).to(device).sum())
    }
    check("min()") { a, _, _ in ComparableResult(a.min()) }
    check("max(axis: -1)") { a, _, _ in ComparableResult(a.max(axis: -1)) }
    check("min(axis: 0)") { a, _, _ in ComparableResult(a.min(axis: 0)) }
    check("argmax()") { a, _, _ in ComparableResult(a.argmax()) }
    check("argmin() of a.T") { a, _, _ in ComparableResult(a.transposed.argmin()) }
    check("argmax(axis: 0)") { a, _, _ in ComparableResult(a.argmax(axis: 0)) }
    check("argmin(axis: 1)") { a, _, _ in ComparableResult(a.argmin(axis: 1)) }
    check("astype(Double).mean()", tolerance: 1e-12) { a, _, _ in ComparableResult(a.astype(Double.self).mean()) }
    check("astype(Double).mean(axis: 1)", tolerance: 1e-12) { a, _, _ in
        ComparableResult(a.astype(Double.self).mean(axis: 1))
    }
    check("matmul(a, b.T)", tolerance: isFloat ? rounding : exact) { a, b, r in
        ComparableResult(matmul(a, b.transposed))
    }
    check("matmul(a.T, a)", tolerance: isFloat ? rounding : exact) { a, _, _ in
        ComparableResult(matmul(a.transposed, a))
    }
    check("matmul(row, b.T) (1-D)", tolerance: isFloat ? rounding : exact) { _, b, r in
        ComparableResult(matmul(r, b.transposed))
    }
    check("matmul batched [3,5,7]x[7,4]", tolerance: isFloat ? rounding : exact) { _, _, _ in
        ComparableResult(matmul(cube.to(device), cubeB.to(device)))
    }
    check("astype(Float)", tolerance: 0) { a, _, _ in ComparableResult(a.astype(Float.self)) }
    check("astype(Double)") { a, _, _ in ComparableResult(a.astype(Double.self)) }
    check("astype(Int32)") { a, _, _ in ComparableResult(a.astype(Int32.self)) }
    check("astype(Int)") { a, _, _ in ComparableResult(a.astype(Int.self)) }
    check("astype(UInt8)") { a, _, _ in ComparableResult(a.astype(UInt8.self)) }
    check("description") { a, _, _ in
        ComparableResult(NDArray<Int>([a[0..<2, 0..<3].description.utf8.reduce(0) { $0 &* 31 &+ Int($1) }]))
    }
    if let floating = checkFloating(E.self, x: x, y: y, device: device) { results += floating }
    return results
}

/// The real-valued functions, for `Float` and `Double`.
func checkFloating<E: NDElement>(_ type: E.Type, x: NDArray<E>, y: NDArray<E>, device: Device) -> [CheckResult]? {
    if let x = x as? NDArray<Float>, let y = y as? NDArray<Float> {
        return checkReal(x, y, device: device, tolerance: 1e-5)
    }
    if let x = x as? NDArray<Double>, let y = y as? NDArray<Double> {
        return checkReal(x, y, device: device, tolerance: 1e-12)
    }
    return nil
}

func checkReal<E: NDFloatingElement>(
    _ x: NDArray<E>,
    _ y: NDArray<E>,
    device: Device,
    tolerance: Double
) -> [CheckResult] {
    var results: [CheckResult] = []
    func check(_ name: String, _ op: (NDArray<E>, NDArray<E>) -> NDArray<E>) {
        results.append(compare(name, tolerance: tolerance, on: device) { d in ComparableResult(op(x.to(d), y.to(d))) })
    }
    check("sqrt(b)") { sqrt($1) }
    check("exp(a)") { a, _ in exp(a) }
    check("log(b)") { log($1) }
    check("sin(a)") { a, _ in sin(a) }
    check("cos(a)") { a, _ in cos(a) }
    check("tanh(a)") { a, _ in tanh(a) }
    check("pow(b, 1.5)") { pow($1, 1.5) }
    check("pow(b, a / 4)") { a, b in pow(b, a / 4) }
    check("sqrt(a) (NaN for negatives)") { a, _ in sqrt(a) }
    check("mean()") { a, _ in a.mean() }
    check("mean(axis: 0)") { a, _ in a.mean(axis: 0) }
    results += checkLinearAlgebra(x, y, device: device, tolerance: E.self == Float.self ? 2e-4 : 1e-11)
    return results
}

/// The BLAS and LAPACK operations (cuBLAS and cuSOLVER on CUDA GPUs), on operands laid out as
/// row-major arrays, transposed views and regions of larger arrays.
func checkLinearAlgebra<E: NDFloatingElement>(
    _ x: NDArray<E>,
    _ y: NDArray<E>,
    device: Device,
    tolerance: Double
) -> [CheckResult] {
    let n = x.shape[0]  // 37; x and y are n×53
    // A well-conditioned lower triangular matrix (junk above the diagonal, which must not be read) and
    // a symmetric positive definite one.
    func element(_ i: Int, _ j: Int) -> E {
        if i == j { return E(40 + i) }
        return i > j ? E((i * 3 + j) % 7 - 3) : 1000
    }
    let triangular = NDArray<E>((0..<n).map { i in (0..<n).map { j in element(i, j) } })
    let diagonal: [[E]] = (0..<n).map { i in (0..<n).map { j in i == j ? 60 : 0 } }
    let spd = matmul(x, x.transposed) + NDArray<E>(diagonal)
    var results: [CheckResult] = []
    func check(_ name: String, _ op: (NDArray<E>, NDArray<E>, NDArray<E>, NDArray<E>) -> NDArray<E>) {
        results.append(
            compare(name, tolerance: tolerance, on: device) { d in
                ComparableResult(op(x.to(d), y.to(d), triangular.to(d), spd.to(d)))
            }
        )
    }
    check("multiplyAdd (GEMM) a·bᵀ·0.5 − c") { a, b, _, s in
        var c = s
        c.multiplyAdd(a, b, alpha: 0.5, beta: -1, transposeB: true)
        return c
    }
    check("multiplyAdd (GEMM) aᵀ·b into cᵀ") { a, b, _, _ in
        var c = NDArray<E>.zeros([53, 53]).to(a.device).transposed
        c.multiplyAdd(a, b, beta: 0, transposeA: true)
        return c
    }
    check("multiplyAdd (GEMM) into a region") { a, b, _, s in
        var c = s
        c[2..<10, 3..<20].multiplyAdd(a[2..<10], b[3..<20], alpha: -1, transposeB: true)
        return c
    }
    check("rankKUpdate (SYRK) lower, −a·aᵀ + c") { a, _, _, s in
        var c = s
        c.rankKUpdate(a, alpha: -1, beta: 1)
        return c
    }
    check("rankKUpdate (SYRK) upper, aᵀ·a") { a, _, _, _ in
        var c = NDArray<E>.zeros([53, 53]).to(a.device)
        c.rankKUpdate(a, beta: 0, transpose: true, triangle: .upper)
        return c
    }
    check("solveTriangular (TRSM) L·X = b") { _, b, l, _ in
        var c = b
        c.solveTriangular(l)
        return c
    }
    check("solveTriangular (TRSM) X·Lᵀ = bᵀ") { _, b, l, _ in
        var c = b.transposed.contiguous()
        c.solveTriangular(l, side: .right, transposeA: true, alpha: 2)
        return c
    }
    check("solveTriangular (TRSM) unit upper, Lᵀ view") { _, b, l, _ in
        var c = b
        c.solveTriangular(l.transposed, triangle: .upper, unitDiagonal: true)
        return c
    }
    check("choleskyFactorize (POTRF) lower") { _, _, _, s in
        var c = s
        do { try c.choleskyFactorize() } catch { return NDArray<E>.full([1], value: .nan) }
        return c
    }
    check("choleskyFactorize (POTRF) upper, column-major") { _, _, _, s in
        var c = s.transposed
        do { try c.choleskyFactorize(triangle: .upper) } catch { return NDArray<E>.full([1], value: .nan) }
        return c
    }
    return results
}

/// Seconds in a duration.
func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

extension String {
    /// The string padded with spaces to `width` characters.
    func padding(_ width: Int) -> String {
        self.count >= width ? self + " " : self + String(repeating: " ", count: width - self.count)
    }
}

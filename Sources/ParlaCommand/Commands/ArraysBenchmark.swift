import ArgumentParser
import Parla

/// `parla bench arrays`: NDArray's host kernels beside plain Swift loops over the same memory.
struct ArraysBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arrays",
        abstract: "NDArray's host kernels beside plain loops over UnsafeBufferPointers, from the same run."
    )

    @Option(help: "Elements in the element-wise and reduction benchmarks.")
    var count = 16 * 1024 * 1024

    @Option(help: "Order of the square matrices in the matmul benchmark.")
    var matrixOrder = 1024

    @Option(help: "Timed repetitions of each measurement; the fastest is reported.")
    var repetitions = 7

    func run() throws {
        print(
            "NDArray host kernels (\(repetitions) repetitions each, fastest shown); matmul backend: \(HostGEMM.backend.rawValue)"
        )
        print()
        try benchmarkAdd()
        try benchmarkSum()
        try benchmarkAstype()
        try benchmarkMatmul()
        try benchmarkIntegerMatmul()
    }

    private func benchmarkAdd() throws {
        let a = NDArray<Float>.random([count], seed: 1)
        let b = NDArray<Float>.random([count], seed: 2)
        var checksum: Float = 0
        let ours = bestTime(repetitions) {
            let c = a + b
            checksum += c[count / 2] as Float
        }
        let reference = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                bestTime(repetitions) {
                    // The plain loop also produces a new array, as `a + b` does.
                    let pc = UnsafeMutableBufferPointer<Float>.allocate(capacity: pa.count)
                    for i in 0..<pa.count { pc[i] = pa[i] + pb[i] }
                    checksum += pc[count / 2]
                    pc.deallocate()
                }
            }
        }
        let reused = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                let pc = UnsafeMutableBufferPointer<Float>.allocate(capacity: pa.count)
                defer { pc.deallocate() }
                return bestTime(repetitions) {
                    for i in 0..<pa.count { pc[i] = pa[i] + pb[i] }
                    checksum += pc[count / 2]
                }
            }
        }
        report(
            "a + b, \(count) Float",
            ours: ours,
            reference: reference,
            referenceName: "plain loop",
            checksum: Double(checksum)
        )
        print("  (the plain loop into an output buffer reused across runs, no page faults: \(format(reused * 1e3)) ms)")
    }

    private func benchmarkSum() throws {
        let a = NDArray<Double>.random([count], seed: 3)
        var ourSum = 0.0
        var referenceSum = 0.0
        let ours = bestTime(repetitions) { ourSum = a.sum().item() }
        let reference = a.withUnsafeBufferPointer { pa in
            bestTime(repetitions) {
                var s = 0.0
                for x in pa { s += x }
                referenceSum = s
            }
        }
        let agreement = abs(ourSum - referenceSum) / abs(referenceSum)
        report(
            "sum, \(count) Double",
            ours: ours,
            reference: reference,
            referenceName: "plain loop",
            checksum: agreement
        )
    }

    private func benchmarkAstype() throws {
        let a = NDArray<Float>.random([count], seed: 6) * 1000
        var checksum: Int32 = 0
        let ours = bestTime(repetitions) {
            let c = a.astype(Int32.self)
            checksum &+= c[count / 2] as Int32
        }
        let reference = a.withUnsafeBufferPointer { pa in
            bestTime(repetitions) {
                // (The values are in Int32's range: the plain conversion traps on nothing.)
                let pc = UnsafeMutableBufferPointer<Int32>.allocate(capacity: pa.count)
                for i in 0..<pa.count { pc[i] = Int32(pa[i]) }
                checksum &+= pc[count / 2]
                pc.deallocate()
            }
        }
        report(
            "astype(Int32), \(count) Float",
            ours: ours,
            reference: reference,
            referenceName: "plain loop",
            checksum: Double(checksum)
        )
    }

    private func benchmarkIntegerMatmul() throws {
        let n = max(1, matrixOrder / 4)
        let a = NDArray<Int32>((0..<(n * n)).map { Int32($0 % 7) }, shape: [n, n])
        let b = NDArray<Int32>((0..<(n * n)).map { Int32($0 % 5) }, shape: [n, n])
        var c = matmul(a, b)
        let ours = bestTime(repetitions) { c = matmul(a, b) }
        var worst: Int32 = 0
        let reference = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                bestTime(repetitions) {
                    // The same i-k-j loop, wrapping, into a new matrix.
                    let pc = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n * n)
                    pc.initialize(repeating: 0)
                    for i in 0..<n {
                        for l in 0..<n {
                            let x = pa[i * n + l]
                            for j in 0..<n { pc[i * n + j] = pc[i * n + j] &+ x &* pb[l * n + j] }
                        }
                    }
                    worst = max(worst, abs(pc[n * n / 2] - (c[n / 2, (n * n / 2) % n] as Int32)))
                    pc.deallocate()
                }
            }
        }
        report(
            "matmul \(n)x\(n) Int32",
            ours: ours,
            reference: reference,
            referenceName: "plain i-k-j loop (one thread)",
            checksum: Double(worst)
        )
    }

    private func benchmarkMatmul() throws {
        let n = matrixOrder
        let a = NDArray<Float>.random([n, n], seed: 4)
        let b = NDArray<Float>.random([n, n], seed: 5)
        var c = matmul(a, b)
        let seconds = bestTime(repetitions) { c = matmul(a, b) }
        let gflops = 2 * Double(n) * Double(n) * Double(n) / seconds / 1e9
        // Spot-check a few entries against a direct dot product in Double.
        var worst = 0.0
        for (i, j) in [(0, 0), (n / 2, n / 3), (n - 1, n - 1)] {
            var exact = 0.0
            for l in 0..<n { exact += Double(a[i, l] as Float) * Double(b[l, j] as Float) }
            worst = max(worst, abs(Double(c[i, j] as Float) - exact) / max(abs(exact), 1))
        }
        print(
            "matmul \(n)x\(n) Float: \(format(seconds * 1e3)) ms = \(format(gflops)) GFLOP/s (target >= 10 GFLOP/s); relative error \(worst)"
        )
    }

    private func report(_ name: String, ours: Double, reference: Double, referenceName: String, checksum: Double) {
        print(
            "\(name): NDArray \(format(ours * 1e3)) ms, \(referenceName) \(format(reference * 1e3)) ms, ratio \(format(ours / reference)) (target <= 1.5)  [check \(checksum)]"
        )
    }
}

/// The fastest of `repetitions` runs of `body`, in seconds, after one warm-up run.
func bestTime(_ repetitions: Int, _ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    let clock = ContinuousClock()
    for _ in 0..<max(repetitions, 1) {
        let elapsed = clock.measure(body)
        best = min(best, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }
    return best
}

/// A number with two decimals.
func format(_ value: Double) -> String {
    let scaled = (value * 100).rounded() / 100
    return String(scaled)
}

/// A number with two decimals and its sign (`+0.12`, `-0.03`).
func signed(_ value: Double) -> String { (value >= 0 ? "+" : "") + format(value) }

import Synchronization
import Testing

@testable import Parla

/// Element-wise operators on PArrays inside tasks: they read the current device's copies of the
/// declared regions, and the compound assignments write the left operand's region there, which moves
/// back like any other write.
@Suite("PArray element-wise operators")
struct PArrayArithmeticTests {
    @Test(
        "operators give NDArrays on the task's device; compound assignments write the region",
        arguments: [DeviceSelection.virtual(gpus: 2), .cudaSimulated(gpus: 2)]
    )
    func operators(devices: DeviceSelection) async throws {
        let a = PArray(NDArray<Double>([1, 2, 3, 4]))
        let b = PArray(NDArray<Double>([10, 20, 30, 40]))
        let seen = Mutex<[String: [Double]]>([:])
        try await Parla.run(devices: devices) {
            let T = TaskSpace("T")
            spawn(T[0], placement: gpu(1), input: [a, b]) {
                let sum = a + b
                let device = sum.device
                seen.withLock {
                    $0["sum"] = sum.to(cpu).elements
                    $0["difference"] = (b - a).to(cpu).elements
                    $0["product"] = (a * b).to(cpu).elements
                    $0["quotient"] = (b / a).to(cpu).elements
                    $0["scalars"] = (a * 2 + 1).to(cpu).elements
                    $0["negated"] = (-a).to(cpu).elements
                    $0["on the task's device"] = [device == gpu(1) ? 1 : 0]
                }
            }
            spawn(T[1], dependencies: [T[0]], placement: gpu(0), input: [b], inOut: [a]) {
                a += b  // 11 22 33 44
                a *= 2  // 22 44 66 88
                a -= NDArray<Double>([2, 4, 6, 8])  // 20 40 60 80
                a /= 10  // 2 4 6 8
            }
            spawn(T[2], dependencies: [T[1]], placement: gpu(1), inOut: [a[0..<2]]) {
                // (As a `PArray`: `a[0..<2] += 100` would read the one-element subscript.)
                let head: PArray<Double> = a[0..<2]
                head += 100  // 102 104 6 8
            }
            spawn(T[3], dependencies: [T[2]], placement: cpu, input: [a]) {
                seen.withLock { $0["final"] = a.array.elements }
            }
        }
        let values = seen.withLock { $0 }
        #expect(values["sum"] == [11, 22, 33, 44])
        #expect(values["difference"] == [9, 18, 27, 36])
        #expect(values["product"] == [10, 40, 90, 160])
        #expect(values["quotient"] == [10, 10, 10, 10])
        #expect(values["scalars"] == [3, 5, 7, 9])
        #expect(values["negated"] == [-1, -2, -3, -4])
        #expect(values["on the task's device"] == [1])
        #expect(values["final"] == [102, 104, 6, 8])
    }

    @Test("a compound assignment to a region declared only as output stops: it reads the region too")
    func compoundNeedsInOut() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let A = PArray(NDArray<Double>([1, 2]))
            try await Parla.run(devices: .virtual(gpus: 1)) {
                spawn(placement: gpu(0), output: [A]) { A += 1 }
            }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(
            text.contains("region [0..<2] in place (+=), which reads and writes it: declare it in inOut"),
            "\(text.prefix(600))"
        )
    }
}

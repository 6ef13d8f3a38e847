import Testing

@testable import Parla
@testable import ParlaCommand

/// `parla device-check`'s table of operations, on a virtual GPU: the tool's checks themselves pass.
@Suite(.serialized)
struct DeviceCheckTests {
    @Test(
        "every NDArray operation on a virtual GPU equals the host's result",
        arguments: [DType.float32, .float64, .int32, .int64, .uint8]
    )
    func operationsMatchHost(dtype: DType) throws {
        let registry = try DeviceRegistry.make(.virtual(gpus: 2))
        let results: [CheckResult] = DeviceRegistry.withCurrent(registry) {
            switch dtype {
            case .float32: return checkAll(Float.self, on: gpu(1))
            case .float64: return checkAll(Double.self, on: gpu(1))
            case .int32: return checkAll(Int32.self, on: gpu(1))
            case .int64: return checkAll(Int.self, on: gpu(1))
            case .uint8: return checkAll(UInt8.self, on: gpu(1))
            }
        }
        #expect(results.count >= 45)
        for result in results {
            #expect(result.passed, "\(result.name) [\(dtype)]: \(result.detail)")
        }
    }
}

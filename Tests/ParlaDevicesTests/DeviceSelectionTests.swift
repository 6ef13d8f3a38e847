import ParlaArrays
import Testing

@testable import ParlaDevices

#if canImport(Glibc)
import Glibc
#endif

struct DeviceSelectionTests {
    @Test(
        "PARLA_DEVICES values parse",
        arguments: [
            ("auto", DeviceSelection.auto),
            ("cuda", .cuda),
            ("virtual:3", .virtual(gpus: 3)),
            ("virtual:2:1048576", .virtual(gpus: 2, memory: 1_048_576)),
            ("VIRTUAL:1", .virtual(gpus: 1)),
            ("cuda-simulated:4", .cudaSimulated(gpus: 4)),
            ("cuda-simulated:2:1048576", .cudaSimulated(gpus: 2, memory: 1_048_576)),
        ]
    )
    func parses(text: String, expected: DeviceSelection) throws {
        #expect(try DeviceSelection(parsing: text) == expected)
        #expect(try DeviceSelection(parsing: expected.description) == expected)
    }

    @Test(
        "bad PARLA_DEVICES values are rejected with the accepted forms",
        arguments: [
            "gpu", "virtual", "virtual:x", "virtual:-1", "cuda:2", "virtual:2:lots", "cuda-simulated",
            "cuda-simulated:0", "cuda-simulated:2:lots",
        ]
    )
    func rejects(text: String) {
        #expect(throws: DeviceError.self) { try DeviceSelection(parsing: text) }
        do {
            _ = try DeviceSelection(parsing: text)
        } catch {
            #expect(error.description.contains(text))
        }
    }

    @Test("devices: gpus in order, then the cpu; Device prints and indexes as Parla's")
    func deviceModel() throws {
        let registry = try DeviceRegistry.make(.virtual(gpus: 3))
        #expect(registry.devices == [gpu(0), gpu(1), gpu(2), cpu])
        #expect(registry.devices.map(\.description) == ["gpu(0)", "gpu(1)", "gpu(2)", "cpu"])
        #expect(registry.devices.map(\.index) == [0, 1, 2, -1])
        #expect(gpu[1] == gpu(1))
        #expect(cpu == Device.cpu)
        #expect(registry.gpus.allSatisfy { $0.isHostAddressable && $0.kernels == nil })
    }

    @Test("without a CUDA driver, .auto chooses 4 virtual GPUs and says why; .cuda throws")
    func autoFallsBack() throws {
        guard case .failure = CUDASystem.real else { return }  // a machine with a GPU takes the CUDA path
        let registry = try DeviceRegistry.make(.auto)
        #expect(!registry.usesCUDA)
        #expect(registry.gpus.count == 4)
        #expect(registry.fallbackReason?.contains("libcuda.so.1") == true)
        #expect(throws: DeviceError.self) { try DeviceRegistry.make(.cuda) }
    }

    @Test("PARLA_DEVICES chooses the default devices")
    func environmentOverride() async {
        await #expect(processExitsWith: .success) {
            setenv("PARLA_DEVICES", "virtual:2", 1)
            let devices = DeviceRegistry.current.devices
            if devices != [gpu(0), gpu(1), cpu] { exit(1) }
        }
    }

    @Test("a bad PARLA_DEVICES stops with a message naming the value")
    func environmentError() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            setenv("PARLA_DEVICES", "virtual:many", 1)
            _ = DeviceRegistry.current
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("virtual:many"))
    }

    @Test("operands on two devices stop with a message naming both")
    func mixedDevices() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            setenv("PARLA_DEVICES", "virtual:2", 1)
            let a = NDArray<Float>.ones([3]).to(gpu(0))
            let b = NDArray<Float>.ones([3]).to(gpu(1))
            _ = a + b
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("gpu(0)") && text.contains("gpu(1)"))
    }

    @Test("moving past a virtual GPU's capacity with to(_:) stops naming the device and sizes")
    func toCapacityMessage() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            setenv("PARLA_DEVICES", "virtual:1:100", 1)
            _ = NDArray<Double>.zeros([50]).to(gpu(0))
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("out of memory on gpu(0): asked for 400 bytes, 100 bytes free"))
    }
}

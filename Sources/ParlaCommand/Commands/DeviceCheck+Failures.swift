import Parla
import Synchronization

extension DeviceCheckCommand {
    /// On each GPU with a known capacity: a task that asks for more memory than the GPU has (a driver
    /// allocation that fails) must fail with a ``ParlaError/deviceFailed(task:device:operation:error:)``
    /// naming the task, the device and the operation; the run rethrows it, the array the tasks used keeps
    /// its last completed write, and the GPU goes on working. Returns the number of failures.
    func checkDeviceFailure(_ registry: DeviceRegistry) async throws -> Int {
        let gpus = registry.devices.filter { $0 != .cpu }
        guard !gpus.isEmpty else { return 0 }
        print("\n== a failing device call fails its task, and nothing else")
        var failures = 0
        for device in gpus {
            guard let capacity = try registry.backend(for: device).memoryCapacity else {
                print("\(device): no capacity to exceed (a virtual GPU without a memory size); skipped")
                continue
            }
            let elements = capacity / MemoryLayout<Float>.stride + (1 << 28)  // 1 GiB more than the GPU has
            let A = PArray(NDArray<Double>.arange(1000))
            var reported: ParlaError? = nil
            do {
                try await Parla.run(devices: registry.selection) {
                    let T = TaskSpace("T")
                    spawn(T[0], placement: device, inOut: [A]) { A[0] = 1000 }
                    spawn(T[1], dependencies: [T[0]], placement: device, input: [A]) {
                        let huge = NDArray<Float>.ones([1]).to(Device.current).broadcast(to: [elements]).contiguous()
                        _ = huge.sum()
                    }
                }
            } catch let error as ParlaError {
                reported = error
            }
            var right = false
            if case .deviceFailed(let task, let on, _, let error)? = reported, case .outOfMemory = error {
                right = task == "T_1" && on == device
            }
            let kept: Double = A.array.sum().item()
            let intact = kept == 1000 + 999 * 1000 / 2
            let works: Float = (NDArray<Float>.ones([1000]).to(device) * 2).sum().item()
            let ok = right && intact && works == 2000
            if !ok { failures += 1 }
            print(
                "\(device): \(reported.map(\.description) ?? "NO ERROR"); the array keeps its last write: \(intact ? "yes" : "NO"); the GPU goes on working: \(works == 2000 ? "yes" : "NO")"
            )
        }
        return failures
    }
}

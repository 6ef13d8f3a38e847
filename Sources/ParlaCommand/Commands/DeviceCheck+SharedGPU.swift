import Dispatch
import Parla
import Synchronization

extension DeviceCheckCommand {
    /// Four tasks on each GPU, each running the same chain of kernels on an array of its own: first
    /// one at a time (`vcus: 1`), then all four at once (`vcus: 0.25`, each on a stream of its own
    /// on CUDA GPUs); checks every result and prints the two wall times. Returns the number of
    /// failures.
    func checkSharedGPU(_ registry: DeviceRegistry) async throws -> Int {
        let gpus = registry.devices.filter { $0 != .cpu }
        guard !gpus.isEmpty else { return 0 }
        print("\n== tasks sharing a GPU (vcus), each on a stream of its own")
        let count = 1 << 16
        // (Fewer steps where kernels run on the host: virtual and simulated GPUs.)
        let onRealGPUs: Bool
        if case .cudaSimulated = registry.selection { onRealGPUs = false } else { onRealGPUs = registry.usesCUDA }
        let steps = onRealGPUs ? 200 : 5
        var failures = 0
        for device in gpus {
            var seconds: [Double] = []
            for vcus in [1.0, 0.25] {
                let arrays = (0..<4).map { _ in PArray(NDArray<Double>.full([count], value: 4)) }
                let start = DispatchTime.now().uptimeNanoseconds
                try await Parla.run(devices: registry.selection) {
                    for A in arrays {
                        spawn(placement: device, inOut: [A], vcus: vcus) {
                            for _ in 0..<steps { A[0..<count] = sqrt(A.array) * 2 }  // 4 → 4 each step
                        }
                    }
                }
                seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
                let wrong = arrays.reduce(0) { $0 + $1.array.elements.filter { $0 != 4 }.count }
                if wrong != 0 {
                    failures += 1
                    print("\(device), vcus \(vcus): \(wrong) elements WRONG")
                }
            }
            print(
                "\(device): 4 tasks × \(steps) steps: one at a time \(format(seconds[0] * 1e3)) ms, sharing the GPU \(format(seconds[1] * 1e3)) ms (\(format(seconds[0] / seconds[1]))×)"
            )
        }
        return failures
    }
}

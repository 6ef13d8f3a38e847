import Dispatch
import Parla
import Synchronization

extension DeviceCheckCommand {
    /// Four tasks on each GPU, each running the same chain of kernels on an array of its own: one at a
    /// time (`vcus: 1`), all four at once on the GPU's compute stream (`vcus: 0.25`,
    /// `PARLA_TASK_STREAMS=0`), and all four at once each on a stream of its own (`vcus: 0.25`; the same
    /// stream on virtual GPUs). After a warm-up run (kernels compiled), checks every result and prints
    /// the wall times. Returns the number of failures.
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
            for (vcus, ownStreams) in [(1.0, true), (1.0, true), (0.25, false), (0.25, true)] {
                let arrays = (0..<4).map { _ in PArray(NDArray<Double>.full([count], value: 4)) }
                let start = DispatchTime.now().uptimeNanoseconds
                try await Parla.withTaskStreams(ownStreams) {
                    try await Parla.run(devices: registry.selection) {
                        for A in arrays {
                            spawn(placement: device, inOut: [A], vcus: vcus) {
                                for _ in 0..<steps { A[0..<count] = sqrt(A.array) * 2 }  // 4 → 4 each step
                            }
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
            let (alone, shared, own) = (seconds[1], seconds[2], seconds[3])  // (the first run warms up)
            print(
                "\(device): 4 tasks × \(steps) steps: one at a time \(format(alone * 1e3)) ms; sharing the GPU \(format(shared * 1e3)) ms on its compute stream, \(format(own * 1e3)) ms each on a stream of its own (\(format(alone / own))× and \(format(shared / own))× faster)"
            )
        }
        return failures
    }
}

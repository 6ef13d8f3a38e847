import Parla

extension DeviceSelection {
    /// These devices with a random ``DeviceFaults`` plan: each device call fails with chance `rate`,
    /// drawn from a generator seeded with `seed` (allocations and copies on virtual GPUs; every kind of
    /// call, kernel launches included, on simulated CUDA GPUs). `nil` for real devices, which cannot
    /// inject faults.
    public func withRandomFaults(seed: UInt64, rate: Double) -> DeviceSelection? {
        switch self {
        case .virtual(let gpus, let memory), .virtualWithFaults(let gpus, let memory, _):
            let plan = DeviceFaults.random(
                probability: rate,
                seed: seed,
                operations: [.allocation, .copyToDevice, .copyToHost, .copyBetweenDevices]
            )
            return .virtualWithFaults(gpus: gpus, memory: memory, faults: plan)
        case .cudaSimulated(let gpus, let memory, _):
            return .cudaSimulated(gpus: gpus, memory: memory, faults: .random(probability: rate, seed: seed))
        case .auto, .cuda:
            return nil
        }
    }
}

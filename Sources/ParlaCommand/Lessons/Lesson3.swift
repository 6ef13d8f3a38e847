import Parla
import Synchronization

extension Lessons {
    /// Lesson 3: placing tasks on the CPU, on any GPU, on a given GPU, on either kind (choosing the
    /// implementation at run time), and a task that spawns and awaits another.
    static func lesson3(devices: DeviceSelection, emit: @escaping Emit) async throws {
        try await Parla.run(devices: devices) {
            let gpuCount = Parla.devices.count - 1

            // On the CPU.
            let onCPU = spawn(placement: cpu) { () -> NDArray<Double> in
                let x = NDArray<Double>.arange(4)
                return x * x
            }
            emit("on \(cpu): x * x = \(try await onCPU.value)")

            // On any GPU: the data goes to the task's device, the kernel runs there.
            if gpuCount > 0 {
                let onGPU = spawn(placement: gpu) { () -> (Device, NDArray<Double>) in
                    let x = NDArray<Double>.arange(4).to(Device.current)
                    return (Device.current, (x * x).to(cpu))
                }
                let (device, result) = try await onGPU.value
                emit("on a GPU (\(device.kind == .gpu ? "a gpu" : "not a gpu")): x * x = \(result)")

                // One task per GPU, each adding its slice; the results are copied back.
                let n = 4
                let a = NDArray<Double>.arange(n * gpuCount)
                let b = NDArray<Double>.ones([n * gpuCount])
                let sums = Mutex(NDArray<Double>.zeros([n * gpuCount]))
                let S = TaskSpace("S")
                for i in 0..<gpuCount {
                    spawn(S[i], placement: gpu(i)) {
                        let part = a[(i * n)..<((i + 1) * n)].to(Device.current)
                        let other = b[(i * n)..<((i + 1) * n)].to(Device.current)
                        let sum = (part + other).to(cpu)
                        sums.withLock { $0[(i * n)..<((i + 1) * n)] = sum }
                    }
                }
                try await S.wait()
                emit("per-GPU slices added on \(gpuCount) GPUs: \(sums.withLock { $0 })")
            }

            // On the CPU or a GPU: the implementation is chosen by where the task runs (a variant).
            let either = spawn(placement: [cpu, gpu]) { () -> String in
                let x = NDArray<Double>([1, 2, 3]).to(Device.current)
                let variant = scaled.hasVariant(for: Device.current.kind) ? "GPU variant" : "default (CPU)"
                return "\(scaled(x).to(cpu)) by the \(variant)"
            }
            emit("on the CPU or a GPU: \(try await either.value)")

            // A task that spawns another and awaits it.
            let outer = spawn(placement: cpu) { () async throws -> Int in
                let inner = spawn(placement: cpu) { 21 }
                return try await inner.value * 2
            }
            emit("nested task returned \(try await outer.value)")
        }
    }

    /// `x * 10`, written differently for the CPU (the default: a host loop) and for GPUs (a variant: an
    /// array operation, a kernel there). Parla: `@specialized def scaled(x)` and
    /// `@scaled.variant(gpu) def scaled_gpu(x)`.
    static let scaled = Specialized { (x: NDArray<Double>) in
        NDArray(x.elements.map { $0 * 10 }, shape: x.shape)
    }
    .variant(gpu) { x in x * 10 }
}

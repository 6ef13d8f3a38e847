import Parla

extension Lessons {
    /// Lesson 6: automatic data movement. PArrays declared in a task's `input`, `output` or `inOut` are
    /// valid on its device when it starts; after each task the copies of A and B are printed, and at the
    /// end the bytes moved per link.
    static func lesson6(devices: DeviceSelection, emit: @escaping Emit) async throws {
        var selection = devices
        if let registry = try? DeviceRegistry.make(devices), registry.gpus.count < 2 {
            emit("(lesson 6 needs two GPUs; this machine has \(registry.gpus.count), so it runs on 4 virtual GPUs)")
            selection = .virtual(gpus: 4)
        }
        try await Parla.run(devices: selection) {
            let A = PArray([[1.0, 2.0], [3.0, 4.0]])  // parray.array(...): copies the data
            let B = PArray(NDArray<Double>.random([2, 2], seed: 6))  // parray.asarray(...): wraps it
            let ts = TaskSpace("ts")

            // Read only: A is copied to gpu(0) before the task starts.
            spawn(ts[0], placement: gpu(0), input: [A]) {
                emit("ts[0] on \(Device.current), input: [A]\n  A = \(A)")
            }
            // Write only: nothing is copied in; B's other copies become invalid.
            spawn(ts[1], placement: gpu(1), output: [B]) {
                B.update(sqrt(NDArray<Double>.random([2, 2], seed: 7)))
                emit("ts[1] on \(Device.current), output: [B]\n  B = \(B)")
            }
            // Read A, read and write B, on the CPU: B comes back from gpu(1).
            spawn(ts[2], dependencies: [ts[0..<2]], placement: cpu, input: [A], inOut: [B]) {
                B[0, 1] = (B.array + A.array).sum()
                emit("ts[2] on \(Device.current), input: [A], inOut: [B]\n  A = \(A)\n  B = \(B)")
            }
            // Fine-grained: only row 0 of A moves to gpu(1).
            spawn(ts[3], dependencies: [ts[2]], placement: gpu(1), inOut: [A[0]]) {
                A[0] = sqrt(A[0].array)
                emit("ts[3] on \(Device.current), inOut: [A[0]]\n  A = \(A)")
            }
            try await ts.wait()
            emit("after the tasks, read on the cpu: A = \(A.array), B = \(B.array)")
            emit("bytes moved per link:")
            for (link, bytes) in DataMovementLog.currentRun {
                emit("  \(link): \(bytes) bytes")
            }
        }
    }
}

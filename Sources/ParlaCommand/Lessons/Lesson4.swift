import Parla
import Synchronization

extension Lessons {
    /// Lesson 4: partitioning an array over devices, and automatic movement as tasks read the parts.
    /// A partitioner splits `A` in two: the first half on the CPU, the second on `gpu(0)`. A task on
    /// `gpu(0)` adds the halves: each is copied to the task's device as it reads it, and the sum is an
    /// array there. A task on the CPU, after it, does the same and gets an array on the CPU.
    ///
    /// Parla (Python): `LDeviceSequenceBlocked(2, placement=[cpu, gpu])`, `partition_tensor(A)`, and
    /// `partitioned_view[0] + partitioned_view[1]` in tasks on `gpu[0]` and `cpu[0]`.
    static func lesson4(devices: DeviceSelection, emit: @escaping Emit) async throws {
        try await Parla.run(devices: devices) {
            let A = NDArray<Double>.arange(4) + 1
            let hasGPU = Parla.devices.contains(gpu(0))
            let mapper = DeviceSequenceBlocked(2, placement: hasGPU ? [cpu, gpu(0)] : [cpu])
            let view = mapper.partition(A)
            emit("A = \(A)")
            for index in 0..<view.count {
                emit("part \(index) lives on \(view.device(ofBlock: index)): \(view[index])")
            }
            let T = TaskSpace("T")
            let first = hasGPU ? gpu(0) : cpu
            spawn(T[0], placement: first) {
                let sum = view[0] + view[1]  // each part copied to this task's device as it is read
                emit("on \(Device.current): part 0 + part 1 = \(sum.to(cpu)), an array on \(sum.device)")
            }
            spawn(T[1], dependencies: [T[0]], placement: cpu) {
                let sum = view[0] + view[1]
                emit("on \(Device.current): part 0 + part 1 = \(sum), an array on \(sum.device)")
            }
        }
    }
}

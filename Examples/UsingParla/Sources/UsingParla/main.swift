import Parla

// A PArray made on the host, scaled by a task on a GPU, then read back by a task on the CPU: Parla
// moves the data both ways. (On a machine without a CUDA GPU, the GPUs are virtual.)
let values = PArray(NDArray<Double>([1, 2, 3, 4]))
let steps = TaskSpace("step")

try await Parla.run {
    spawn(steps[0], placement: gpu, inOut: [values]) {
        values *= 2
    }
    spawn(steps[1], placement: cpu, input: [values]) {  // after steps[0]: it reads what that writes
        print("doubled: \(values.array.elements)")
    }
}

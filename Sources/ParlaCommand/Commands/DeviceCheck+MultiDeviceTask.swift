import Parla
import Synchronization

extension DeviceCheckCommand {
    /// A multi-device task on the CPU and a GPU, then on every pair of GPUs: each device of the task
    /// writes its half of an array (`forDevice`), reading an input moved to all of them, in one loop
    /// over the task's devices; a task on the CPU then checks every element. Returns the number of
    /// failures.
    func checkMultiDeviceTasks(_ registry: DeviceRegistry) async throws -> Int {
        let gpus = registry.devices.filter { $0 != .cpu }
        guard !gpus.isEmpty else { return 0 }
        print("\n== multi-device tasks: each device of one task writes its half")
        var groups = [DeviceGroup(cpu, gpu)]
        for first in gpus.indices {
            for second in gpus.indices where second > first { groups.append(DeviceGroup(gpus[first], gpus[second])) }
        }
        let count = 1 << 20
        let half = count / 2
        var failures = 0
        for group in groups {
            let seen = Mutex<(devices: String, wrong: Int)>(("", -1))
            try await Parla.run(devices: registry.selection) {
                let A = PArray(NDArray<Double>.arange(count))
                let B = PArray(NDArray<Double>.zeros([count]))
                spawn(placement: group, input: [A], output: [B[0..<half].forDevice(0), B[half..<count].forDevice(1)]) {
                    let task = CurrentTask.current!
                    seen.withLock { $0.devices = task.devices.map(\.description).joined(separator: " and ") }
                    try task.forEachDevice { index, _ in
                        let part = index * half..<(index + 1) * half
                        B[part] = A[part].array * 2 + Double(index)
                    }
                }
                spawn(placement: cpu, input: [B]) {
                    let values = B.array.elements
                    let wrong = values.indices.filter { values[$0] != Double(2 * $0 + ($0 < half ? 0 : 1)) }.count
                    seen.withLock { $0.wrong = wrong }
                }
            }
            let (devices, wrong) = seen.withLock { $0 }
            if wrong != 0 { failures += 1 }
            print(
                "\(group) ran on \(devices): \(wrong == 0 ? "all \(count) elements right" : "\(wrong) elements WRONG")"
            )
        }
        return failures
    }
}

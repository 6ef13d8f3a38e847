import Parla
import Synchronization

extension Lessons {
    /// Lesson 2: what a task captures, writing shared results, and returning values.
    static func lesson2(devices: DeviceSelection, emit: @escaping Emit) async throws {
        // Part 1: a task captures the values its closure names when it is spawned: each prints its own.
        try await Parla.run(devices: devices) {
            let T = TaskSpace("T")
            for i in 0..<3 {
                spawn(T[i], dependencies: i == 0 ? [] : [T[i - 1]], placement: cpu) {
                    emit("captured \(i + 4)")
                }
            }
        }

        // Part 2: tasks write their part of a shared array (behind a lock: tasks run in parallel).
        let shared = Mutex(NDArray<Int>.zeros([3]))
        try await Parla.run(devices: devices) {
            for i in 0..<3 {
                spawn(placement: cpu) { shared.withLock { $0[i] = i } }
            }
        }
        emit("shared array: \(shared.withLock { $0 })")

        // Part 3: tasks fill a shared dictionary.
        let dictionary = Mutex<[Int: String]>([:])
        try await Parla.run(devices: devices) {
            for i in 0..<3 {
                spawn(placement: cpu) { dictionary.withLock { $0[i] = "task \(i)" } }
            }
        }
        emit(
            "shared dictionary: \(dictionary.withLock { $0 }.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))"
        )

        // Part 4: a task's value is what its body returns; awaiting it waits for the task.
        try await Parla.run(devices: devices) {
            let T = TaskSpace("T")
            let tasks = (0..<3).map { k in
                spawn(T[k], placement: cpu) { NDArray<Double>.zeros([3]) + Double(k) }
            }
            for (k, task) in tasks.enumerated() {
                emit("T[\(k)] returned \(try await task.value)")
            }
        }
    }
}

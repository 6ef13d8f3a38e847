import Synchronization
import Testing

@testable import Parla

/// The running task's context: its id, name, devices, and on CUDA GPUs the stream to queue work on.
@Suite("the current task")
struct CurrentTaskTests {
    @Test("a body sees its id, name and device; outside bodies there is none")
    func idAndDevices() async throws {
        let seen = Mutex<[String: String]>([:])
        try await Parla.run(devices: .virtual(gpus: 2)) {
            let T = TaskSpace("T")
            spawn(T[0], placement: gpu(1)) {
                let task = CurrentTask.current
                seen.withLock {
                    $0["named"] = task.map { "\($0.id == T[0]) \($0.name) \($0.devices) \($0.streams.count)" }
                }
            }
            spawn(placement: cpu) { () async in
                let task = CurrentTask.current
                seen.withLock { $0["unnamed"] = task.map { "\($0.id == nil) \($0.device) \($0.name)" } }
            }
        }
        let values = seen.withLock { $0 }
        #expect(values["named"] == "true T_0 [gpu(1)] 0")
        #expect(values["unnamed"]?.hasPrefix("true cpu (unnamed task spawned at ") == true)
        #expect(CurrentTask.current == nil)
    }

    @Test("on a CUDA GPU the task has its device's stream, with library handles bound to it")
    func cudaStream() async throws {
        let seen = Mutex<String>("")
        try await Parla.run(devices: .cudaSimulated(gpus: 2)) {
            spawn(placement: gpu(1)) {
                guard let task = CurrentTask.current, let stream = task.streams.first else { return }
                let handle = try stream.cublasHandle()
                seen.withLock {
                    $0 = "\(task.streams.count) \(stream.device) \(stream.ordinal >= 0) \(Int(bitPattern: handle) != 0)"
                }
            }
        }
        #expect(seen.withLock { $0 } == "1 gpu(1) true true")
    }

    @Test("a task's streams read outside its body stop with a message")
    func streamsOutsideTheBody() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let kept = Mutex<CurrentTask?>(nil)
            try await Parla.run(devices: .virtual(gpus: 1)) {
                spawn(TaskSpace("T")[0], placement: gpu(0)) { kept.withLock { $0 = CurrentTask.current } }
            }
            _ = kept.withLock { $0 }?.streams
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("the streams of task T_0 are read outside its body"), "\(text.prefix(600))")
    }
}

import Parla
import Synchronization

extension Lessons {
    /// Lesson 5: task constraints. Four tasks on `gpu(0)` each take the square root of an array of
    /// their own, three times over: with `vcus: 1` each takes the whole GPU (one at a time); with
    /// `vcus: 0.5` two share it; with `memory` each reserves part of the GPU's memory, and as many run
    /// as fit. Tasks that share a CUDA GPU this way run on streams of their own, so their kernels
    /// overlap. (Without any constraint, tasks are not limited: the runtime spreads them by load.)
    ///
    /// Parla (Python): `@spawn(placement=gpu(0), memory=2**32)` and `vcus=0.5` on tasks running
    /// `gpu_sqrt`; there, constraints are hints, here they are kept.
    static func lesson5(devices: DeviceSelection, emit: @escaping Emit) async throws {
        let count = 1 << 16
        try await Parla.run(devices: devices) {
            guard Parla.devices.contains(gpu(0)) else {
                emit("this lesson needs a GPU (try --devices virtual:1)")
                return
            }
            let capacity = try DeviceRegistry.current.backend(for: gpu(0)).memoryCapacity
            emit("four tasks on gpu(0), each taking the square root of its own array of \(count) doubles")
            let limits: [(label: String, vcus: Double?, memory: Int?, bound: Int)] =
                [
                    ("vcus: 1 (each task takes the whole GPU)", 1, nil, 1),
                    ("vcus: 0.5 (two tasks share the GPU)", 0.5, nil, 2),
                ] + (capacity.map { [("memory: 40% of gpu(0)'s memory each", nil, $0 * 2 / 5, 2)] } ?? [])
            if capacity == nil {
                emit(
                    "(gpu(0) has no memory size here, so the memory constraint is left out: try --devices virtual:1:64000000)"
                )
            }
            for limit in limits {
                let arrays = (0..<4).map { index in PArray(NDArray<Double>.full([count], value: Double(index + 1) * 4))
                }
                let running = Mutex<(now: Int, most: Int, ownStreams: Bool)>((0, 0, true))
                let streams = Mutex<[(handle: UInt, main: Bool)]>([])
                let T = TaskSpace("T")
                for (index, A) in arrays.enumerated() {
                    spawn(T[index], placement: gpu(0), inOut: [A], memory: limit.memory, vcus: limit.vcus) {
                        running.withLock {
                            $0.now += 1
                            $0.most = max($0.most, $0.now)
                        }
                        defer { running.withLock { $0.now -= 1 } }
                        if let stream = CurrentTask.current!.streams.first {
                            streams.withLock { $0.append((UInt(bitPattern: stream.handle), false)) }
                        }
                        for _ in 0..<3 { A[0..<count] = sqrt(A.array) * sqrt(A.array) }
                        A[0..<count] = sqrt(A.array)
                    }
                }
                try await T.wait()
                try await spawn(placement: gpu(0)) {  // a task without constraints: the compute stream
                    if let stream = CurrentTask.current!.streams.first {
                        streams.withLock { $0.append((UInt(bitPattern: stream.handle), true)) }
                    }
                }.wait()
                let right = arrays.enumerated().allSatisfy { index, A in
                    A.array.elements.allSatisfy { abs($0 - 2 * Double(index + 1).squareRoot()) < 1e-9 }
                }
                let most = running.withLock { $0.most }
                emit(
                    "\(limit.label): never more than \(limit.bound) at once on gpu(0): \(most <= limit.bound ? "yes" : "NO"); results \(right ? "right" : "WRONG")"
                )
                let seen = streams.withLock { $0 }
                if let main = seen.first(where: \.main) {
                    let own = seen.filter { !$0.main }.allSatisfy { $0.handle != main.handle }
                    emit("  each task ran on a stream of its own, not the GPU's compute stream: \(own ? "yes" : "NO")")
                }
            }
        }
    }
}

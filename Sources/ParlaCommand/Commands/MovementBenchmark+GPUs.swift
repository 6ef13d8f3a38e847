import Dispatch
import Parla
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension MovementBenchmark {
    /// gpu(0) → gpu(1) by tasks (a task on gpu(1) reads an array only gpu(0) holds) beside driver copies
    /// of the same bytes between the same GPUs (`cuMemcpyPeerAsync` on CUDA GPUs, `memcpy` between
    /// virtual ones), in the same run: one move awaited from the run's body, and a chain of moves (each
    /// read on gpu(1) followed by a write on gpu(0) that makes gpu(0) the only holder again, which moves
    /// nothing), as a program's tasks follow one another.
    func measureGPUToGPU(_ registry: DeviceRegistry, data: NDArray<Float>) async throws {
        let bytes = data.count * 4
        let moves = 8
        let first = registry.gpus[0]
        let second = registry.gpus[1]
        let from = try first.allocate(byteCount: bytes)
        let to = try second.allocate(byteCount: bytes)
        try DeviceCopies.copy(from: try data.hostBlock(registry), to: from, byteCount: bytes).wait()
        let diagnostics = second.diagnostics
        func rawCopy() throws -> Double {
            seconds(try diagnostics.timeDriverCopy(from: from, to: to, byteCount: bytes))
        }
        var raw = Double.infinity
        var rawChain = Double.infinity
        for _ in 0...repetitions {
            raw = min(raw, try rawCopy())
            var chain = 0.0
            for _ in 0..<moves { chain += try rawCopy() }
            rawChain = min(rawChain, chain)
        }
        let single = Mutex<[Double]>([])
        let chained = Mutex<[Double]>([])
        let repetitions = self.repetitions
        let right = Mutex(true)
        try await Parla.run(devices: registry.selection) {
            let A = PArray(data.astype(Float.self))
            var expected = 0
            for _ in 0...repetitions {
                // gpu(0) holds the only valid copy; then gpu(1) reads it.
                try await spawn(placement: gpu(0), inOut: [A]) {}.wait()
                let clock = ContinuousClock()
                var start = clock.now
                try await spawn(placement: gpu(1), input: [A]) {}.wait()
                single.withLock { $0.append(seconds(start.duration(to: clock.now))) }
                try await spawn(placement: gpu(0), inOut: [A]) {}.wait()
                let T = TaskSpace("chain")
                start = clock.now
                for index in 0..<moves {
                    spawn(T[2 * index], placement: gpu(1), input: [A]) {}
                    if index + 1 < moves { spawn(T[2 * index + 1], placement: gpu(0), inOut: [A]) {} }
                }
                try await T.wait()
                chained.withLock { $0.append(seconds(start.duration(to: clock.now))) }
                expected += (1 + moves) * bytes
                let moved = DataMovementLog.currentRun.first {
                    $0.link.source == gpu(0) && $0.link.destination == gpu(1)
                }
                right.withLock { $0 = $0 && moved?.bytes == expected }
            }
        }
        let byTask = single.withLock { $0.dropFirst().min() ?? .infinity }
        let byChain = chained.withLock { $0.dropFirst().min() ?? .infinity }
        let reference = diagnostics.driverCopyName(from: first.device, to: second.device)
        func rate(_ seconds: Double, _ count: Int = 1) -> String {
            "\(format(Double(bytes * count) / seconds / 1e9)) GB/s"
        }
        print(
            "gpu(0) -> gpu(1), \(formatBytes(bytes)): raw \(reference) \(rate(raw)); \(moves) moves by a chain of tasks \(rate(byChain, moves)) beside \(moves) raw copies \(rate(rawChain, moves)): ratio \(format(rawChain / byChain)) (target >= 0.9); one move awaited from the run's body \(format(byTask * 1e3)) ms = \(rate(byTask)), ratio \(format(raw / byTask))\(right.withLock { $0 } ? "" : " [moved from the wrong place]")"
        )
        withExtendedLifetime((from, to)) {}
    }

    /// An array just written on the host, then read by one task on every GPU at once, beside one driver
    /// copy host → GPU per GPU, all at once (from pinned memory), in the same run.
    func measureReadOnEveryGPU(_ registry: DeviceRegistry, bytes: Int) async throws {
        let gpus = registry.gpus
        let count = bytes / 4
        let data = NDArray<Float>.full([count], value: 0.5)
        let host = try data.hostBlock(registry)
        let blocks = try gpus.map { try $0.allocate(byteCount: count * 4) }
        var raw = Double.infinity
        for _ in 0...repetitions {
            let clock = ContinuousClock()
            let start = clock.now
            let failure = Mutex<(any Error)?>(nil)
            DispatchQueue.concurrentPerform(iterations: gpus.count) { index in
                do {
                    _ = try gpus[index].diagnostics.timeDriverCopy(from: host, to: blocks[index], byteCount: count * 4)
                } catch {
                    failure.withLock { $0 = error }
                }
            }
            if let error = failure.withLock({ $0 }) { throw error }
            raw = min(raw, seconds(start.duration(to: clock.now)))
        }
        let times = Mutex<[Double]>([])
        let routes = Mutex<[String]>([])
        let shared = Mutex(0)
        let repetitions = self.repetitions
        try await Parla.run(devices: registry.selection) {
            let A = PArray(data)
            for _ in 0...repetitions {
                let before = DataMovementLog.currentRun
                let T = TaskSpace("read")
                let clock = ContinuousClock()
                let start = clock.now
                // A task on the host writes the array (the GPUs' copies become invalid; their buffers
                // stay), then a task on every GPU reads it: they start together when the writer ends. (The
                // writer waits for a task spawned last, as a writer that computes would still be running
                // when the readers are spawned.)
                let go = TaskSpace("go")
                spawn(dependencies: [go[0]], placement: cpu, inOut: [A]) {}
                for index in gpus.indices { spawn(T[index], placement: gpu(index), input: [A]) {} }
                spawn(go[0], placement: cpu) {}
                try await T.wait()
                times.withLock { $0.append(seconds(start.duration(to: clock.now))) }
                let after = DataMovementLog.currentRun.map { entry in
                    let earlier = before.first { $0.link == entry.link }?.bytes ?? 0
                    return (entry.link, entry.bytes - earlier)
                }
                routes.withLock { $0 = after.filter { $0.1 > 0 }.map { "\($0.0) \(formatBytes($0.1))" } }
                if after.contains(where: { $0.0.source.kind == .gpu && $0.1 > 0 }) { shared.withLock { $0 += 1 } }
            }
        }
        let byTasks = times.withLock { $0.dropFirst().min() ?? .infinity }
        print(
            "\(formatBytes(count * 4)) read on all \(gpus.count) GPUs from the host: by tasks \(format(byTasks * 1e3)) ms; \(gpus.count) raw host -> GPU copies at once \(format(raw * 1e3)) ms; ratio \(format(raw / byTasks)) (above 1: faster than the raw copies)"
        )
        print(
            "  shared out over the peer links in \(shared.withLock { $0 }) of \(repetitions + 1) rounds; the last moved: \(routes.withLock { $0 }.joined(separator: ", "))"
        )
        withExtendedLifetime((host, blocks)) {}
    }
}

extension NDArray where Element == Float {
    /// A host block (pinned when CUDA is in use) holding this array's elements.
    func hostBlock(_ registry: DeviceRegistry) throws -> DeviceAllocation {
        let block = try registry.host.allocate(byteCount: self.count * 4)
        _ = self.withUnsafeBufferPointer { memcpy(block.hostPointer!, $0.baseAddress!, self.count * 4) }
        return block
    }
}

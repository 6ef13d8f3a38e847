import Parla

extension Lessons {
    /// Lesson 1: task spaces and ids, dependencies (also across spaces and on ranges of ids), and
    /// barriers that free the worker while they wait.
    static func lesson1(devices: DeviceSelection, emit: @escaping Emit) async throws {
        // Part 1: ids in a task space. Any number of indices, of any Hashable type (Parla's
        // `task_space[(0, "a")]` is `taskSpace[0, "a"]`); an id names the task it was spawned under.
        try await Parla.run(devices: devices) {
            let taskSpace = TaskSpace("TaskSpace")
            let ids = [taskSpace[0], taskSpace[1], taskSpace[1, 0, 0, 0, 1], taskSpace[0, "a"], taskSpace[0, "b"]]
            for id in ids {
                spawn(id, placement: cpu) { emit("task \(id.name) ran") }
            }
            try await taskSpace.wait()
            emit("\(taskSpace)")
        }

        // Part 2: dependencies. A[1] runs after A[0]; B[0] after A[0] and A[1] (a range of ids, in
        // another space); A[3] after B[0].
        try await Parla.run(devices: devices) {
            let A = TaskSpace("A")
            let B = TaskSpace("B")
            spawn(A[0], placement: cpu) { emit("A[0]") }
            spawn(A[1], dependencies: [A[0]], placement: cpu) { emit("A[1] after A[0]") }
            spawn(B[0], dependencies: [A[0..<2]], placement: cpu) { emit("B[0] after A[0] and A[1]") }
            spawn(A[3], dependencies: [B[0]], placement: cpu) { emit("A[3] after B[0]") }
        }

        // Part 3: barriers. An outer task spawns a wave, awaits it, spawns another, awaits one task of
        // it, then the last handle. Awaiting suspends the outer task without holding a worker.
        try await Parla.run(devices: devices) {
            let A = TaskSpace("A")
            let B = TaskSpace("B")
            spawn(placement: cpu) { () async throws in
                for i in 0..<4 {
                    spawn(A[i], placement: cpu) { emit("wave A: task \(i)") }
                }
                try await A.wait()
                emit("barrier: all of A finished")
                var last: ParlaTask<Void>? = nil
                for i in 0..<4 {
                    last = spawn(B[i], placement: cpu) { emit("wave B: task \(i)") }
                }
                try await B[0].wait()
                emit("barrier: B[0] finished")
                try await last?.wait()
                emit("barrier: the last task of B (B[3]) finished")
            }
        }
    }
}

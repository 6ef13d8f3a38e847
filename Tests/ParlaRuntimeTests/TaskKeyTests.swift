import Synchronization
import Testing

@testable import Parla

/// Task ids keyed by any `Hashable` value, as Parla's `T["left"]` and `T[(0, "a")]`.
@Suite("task ids with keys of any Hashable type")
struct TaskKeyTests {
    enum Side: Hashable, Sendable { case left, right }

    @Test("string, mixed and enum keys name readable ids; the same keys are the same id")
    func names() {
        let T = TaskSpace("T")
        #expect(T["left"].name == "T_left")
        #expect(T[0, "a"].name == "T_0_a")
        #expect(T[Side.right].name == "T_right")
        #expect(T["left"] == T["left"])
        #expect(T[0, "a"] == T[0, "a"])
        #expect(T["left"] != T[Side.left])  // (different types: different keys)
        #expect(T[0, "a"].keys.map { "\($0)" } == ["0", "a"])
        #expect(T[0, "a"].index == [0])
        // Integers and ranges keep their subscripts: T[1] is T[1], T[0..<2] a set of two ids.
        #expect(T[1].name == "T_1" && T[1, 2].index == [1, 2])
        let set: TaskSet = T[0..<2]
        #expect(set.ids.map(\.name) == ["T_0", "T_1"])
        // Integers of any type are the same indices.
        #expect(T[Int32(1)] == T[1] && T[UInt8(1), 2] == T[1, 2] && T[Int16(0), "a"] == T[0, "a"])
    }

    @Test("a range where one id is expected, or an optional key, stops with a message")
    func notKeys() async {
        let range = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let T = TaskSpace("T")
            let id: TaskID = T[0..<2]
            _ = id
        }
        let rangeText = String(decoding: range?.standardErrorContent ?? [], as: UTF8.self)
        #expect(rangeText.contains("T[0..<2] selects several ids: it is a TaskSet (T[0..<4]), not one task id"))
        let optional = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let key: String? = "left"
            _ = TaskSpace("T")[key]
        }
        let optionalText = String(decoding: optional?.standardErrorContent ?? [], as: UTF8.self)
        #expect(optionalText.contains("is not a task id key of TaskSpace T: unwrap it first"))
    }

    @Test("keyed ids are spawned, depended on and awaited like integer ones")
    func keyedTasks() async throws {
        let order = Mutex<[String]>([])
        try await Parla.run(devices: .virtual(gpus: 1)) {
            let T = TaskSpace("T")
            spawn(T["second"], dependencies: [T["first"]], placement: cpu) { order.withLock { $0.append("second") } }
            spawn(T["first"], placement: gpu(0)) { order.withLock { $0.append("first") } }
            spawn(T[2, "third"], dependencies: [T["second"]], placement: cpu) { order.withLock { $0.append("third") } }
            try await T[2, "third"].wait()
        }
        #expect(order.withLock { $0 } == ["first", "second", "third"])
    }
}

import Synchronization
import Testing

@testable import Parla

/// Parla's own PArray tests (`test_parray.py`, `test_fine_grained_parray.py`), with the states this
/// protocol gives (`output` copies nothing in, so its tasks do not read before writing).
@Suite("Parla's PArray test scenarios")
struct ParlaScenarioTests {
    @Test("test_parray_creation: elements and whole-array equality outside tasks")
    func creation() async throws {
        try await Parla.run(devices: .virtual(gpus: 2)) {
            let A = PArray(NDArray([[1, 2], [3, 4]]))
            #expect(A[0, 1] as Int == 2)
            #expect(A[1, 0] as Int == 3)
            #expect(A[1, 1] as Int == 4)
            #expect(A.array.elements == [1, 2, 3, 4])
        }
    }

    @Test("test_parray_task: states after output, sliced output, whole output, update, evict")
    func parrayTask() async throws {
        let checks = Mutex<[String]>([])
        @Sendable func check(_ condition: Bool, _ what: String) {
            if !condition { checks.withLock { $0.append(what) } }
        }
        let a = PArray(NDArray<Int>.arange(20).reshaped([4, 5]))
        let b = PArray(NDArray<Int>.arange(20).reshaped([4, 5]))
        #expect(a.state(on: cpu) == .modified)
        #expect(a.state(on: gpu(1)) == .invalid)
        try await Parla.run(devices: .virtual(gpus: 2)) {
            let ts = TaskSpace("ts")
            spawn(ts[1], placement: gpu(1), output: [b]) {
                b.update(NDArray<Int>.ones([4, 5]))
                b[1, 1] = 0
                check((b[1, 1] as Int) == 0 && (b[0, 0] as Int) == 1, "ts1 reads its writes")
                check(b.state(on: gpu(1)) == .modified && b.state(on: cpu) == .invalid, "ts1 states")
            }
            spawn(ts[2], dependencies: [ts[1]], placement: gpu(0), output: [a[0..<2], a[2]]) {
                a[0..<2] = NDArray<Int>.full([2, 5], value: 1)
                a[2] = NDArray<Int>.full([5], value: 2)
                a[1, 1] = 0
                check((a[1, 1] as Int) == 0 && (a[1, 0] as Int) == 1, "ts2 reads its writes")
                check(a[0..<3].state(on: gpu(0)) == .modified, "ts2: rows 0-2 modified on gpu(0)")
                check(a.state(on: cpu) == .invalid && a[3].state(on: cpu) == .modified, "ts2: cpu keeps row 3 only")
            }
            spawn(ts[3], dependencies: [ts[2]], placement: cpu, inOut: [a]) {
                check((a[1, 1] as Int) == 0 && (a[3, 4] as Int) == 19, "ts3 sees ts2's writes and row 3")
                check(a.state(on: cpu) == .modified && a.state(on: gpu(0)) == .invalid, "ts3 states")
            }
            spawn(ts[4], dependencies: [ts[3]], placement: gpu(1), inOut: [a]) {
                a.update(NDArray([1, 2, 3, 4]))
                check(a.shape == [4] && (a[-1] as Int) == 4, "ts4 update")
                check(a.state(on: gpu(1)) == .modified && a.state(on: cpu) == .invalid, "ts4 states")
            }
            spawn(ts[5], dependencies: [ts[4]], placement: gpu(1), inOut: [a]) {
                check(!a.evict(from: gpu(1), keepOneCopy: false), "ts5: the only copy is not dropped")
                check(a.evict(from: gpu(1)), "ts5: evict with a copy kept")
                check(a.state(on: cpu) == .modified && a.state(on: gpu(1)) == .invalid, "ts5 states")
            }
            spawn(ts[6], dependencies: [ts[5]], placement: gpu(0), input: [a]) {
                check(a.state(on: cpu) == .shared, "ts6: cpu shared")
                check(a.evict(from: cpu, keepOneCopy: false), "ts6: the cpu copy may go, gpu(0) has one")
                check(a.state(on: gpu(0)) == .modified && a.state(on: cpu) == .invalid, "ts6 states")
            }
        }
        #expect(checks.withLock { $0 }.isEmpty, "\(checks.withLock { $0 })")
        #expect(a.array.elements == [1, 2, 3, 4])
    }

    @Test("test_fine_grained_parray: concurrent row updates on two GPUs, then a whole read")
    func fineGrained() async throws {
        let a = PArray(NDArray<Int>([[1, 2, 4, 5, 6], [1, 2, 4, 5, 6], [7, 7, 7, 7, 7], [8, 8, 8, 8, 8]]))
        let b = PArray(NDArray<Int>.zeros([4, 5]))
        let seen = Mutex<[Int]>([])
        try await Parla.run(devices: .virtual(gpus: 2)) {
            spawn(placement: gpu(0), inOut: [a[0]]) { a[0] = a[0].array + 10 }
            spawn(placement: gpu(0), inOut: [a[1]]) { a[1] = a[1].array + 20 }
            spawn(placement: gpu(0), inOut: [b[0]]) { b[0] = b[0].array + 30 }
            spawn(placement: gpu(1), inOut: [b[1]]) { b[1] = b[1].array + 40 }
            spawn(placement: gpu(1), input: [a]) {
                let values = a.array.to(cpu).elements
                seen.withLock { $0 = values }
            }
        }
        #expect(seen.withLock { $0 } == [11, 12, 14, 15, 16, 21, 22, 24, 25, 26, 7, 7, 7, 7, 7, 8, 8, 8, 8, 8])
        #expect(a[0..<2].state(on: cpu) == .invalid)
        #expect(a[2...].state(on: cpu) == .shared)
        #expect(b.array.elements.prefix(10) == [30, 30, 30, 30, 30, 40, 40, 40, 40, 40])
    }

    @Test("test_reduction: rows written on several GPUs, reduced on gpu(0), gathered on the CPU")
    func reduction() async throws {
        let blocks = 6
        let n = 8
        let A = PArray(NDArray<Double>.zeros([blocks, n]))
        let result = PArray(NDArray<Double>.zeros([n]))
        try await Parla.run(devices: .virtual(gpus: 4)) {
            for i in 0..<blocks {
                spawn(placement: gpu(i % 4), output: [A[i]]) { A[i] = NDArray<Double>.full([n], value: Double(i)) }
            }
            spawn(placement: gpu(0), input: [A], output: [result]) { result.update(A.array.sum(axis: 0)) }
        }
        #expect(result.array.elements == Array(repeating: Double((blocks - 1) * blocks / 2), count: n))
    }
}

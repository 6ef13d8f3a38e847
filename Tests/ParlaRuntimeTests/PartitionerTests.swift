import Synchronization
import Testing

@testable import Parla

/// Parla's partitioners: arrays split over logical devices, each block kept on its device and copied
/// to the reading task's device.
@Suite("partitioners (LDeviceSequenceBlocked, LDeviceGridBlocked)")
struct PartitionerTests {
    @Test("a sequence splits the first axis as array_split does, round robin over the devices")
    func sequence() async throws {
        let seen = Mutex<[String]>([])
        try await Parla.run(devices: .virtual(gpus: 2)) {
            let mapper = DeviceSequenceBlocked(3, placement: [gpu(0), gpu(1)])
            #expect((0..<3).map(mapper.device(of:)) == [gpu(0), gpu(1), gpu(0)])
            let view = mapper.partition(NDArray<Double>.arange(14).reshaped([7, 2]))
            #expect((0..<3).map(view.device(ofBlock:)) == [gpu(0), gpu(1), gpu(0)])
            #expect((0..<3).map { view[$0].shape } == [[3, 2], [2, 2], [2, 2]])
            spawn(placement: gpu(1)) {
                let block = view[0]  // copied from gpu(0)
                seen.withLock { $0.append("\(block.device) \(block.to(cpu).elements)") }
                view[2] = NDArray<Double>.zeros([2, 2]).to(Device.current)  // copied to gpu(0)
            }
        }
        #expect(seen.withLock { $0 } == ["gpu(1) [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]"])
    }

    @Test("assigning a block copies the value to the block's device")
    func assignment() async throws {
        let seen = Mutex<String>("")
        try await Parla.run(devices: .virtual(gpus: 2)) {
            let view = DeviceSequenceBlocked(2, placement: [gpu(0), gpu(1)]).partition(NDArray<Int>.arange(4))
            let T = TaskSpace("T")
            spawn(T[0], placement: cpu) { view[1] = NDArray<Int>([7, 8]) }
            spawn(T[1], dependencies: [T[0]], placement: gpu(0)) {
                let block = view[1]
                seen.withLock { $0 = "\(view.device(ofBlock: 1)) \(block.device) \(block.to(cpu).elements)" }
            }
        }
        #expect(seen.withLock { $0 } == "gpu(1) gpu(0) [7, 8]")
    }

    @Test("a grid blocks a matrix in row-major order of its logical devices")
    func grid() async throws {
        try await Parla.run(devices: .virtual(gpus: 3)) {
            let mapper = DeviceGridBlocked(2, 2)  // all the run's GPUs
            #expect(mapper.devices == [gpu(0), gpu(1), gpu(2)])
            #expect(
                [mapper.device(of: 0, 0), mapper.device(of: 0, 1), mapper.device(of: 1, 0), mapper.device(of: 1, 1)]
                    == [
                        gpu(0), gpu(1), gpu(2), gpu(0),
                    ]
            )
            let view = mapper.partition(NDArray<Double>.arange(20).reshaped([4, 5]))
            #expect(view.grid == [2, 2] && view.count == 4)
            #expect(view[0, 1].shape == [2, 2] && view[0, 0].shape == [2, 3])
            #expect(view[1, 1].elements == [13, 14, 18, 19])
            #expect(view.device(ofBlock: 3) == gpu(0))
        }
    }

    @Test("a block index out of range, or the wrong number of them, stops with a message")
    func badIndices() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let view = DeviceSequenceBlocked(2, placement: [cpu]).partition(NDArray<Double>.arange(4))
            _ = view[2]
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(
            text.contains("block index 2 is out of range for a partition of 2 blocks on axis 0"),
            "\(text.prefix(500))"
        )
    }
}

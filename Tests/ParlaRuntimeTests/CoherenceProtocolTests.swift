import ParlaChecks
import Testing

@testable import Parla

/// A simulation of the devices' separate memories, driven by the protocol's copies, checked against
/// a sequential model of the array.
struct CoherenceSimulation {
    let shape: [Int]
    let devices: [Device]
    var protocolState: CoherenceProtocol
    /// Each device's own copy of the whole array (stale values included).
    var memories: [Device: [Int]]
    /// What the array holds, as a sequential program would see it.
    var model: [Int]
    var nextValue = 1_000

    init(shape: [Int], gpus: Int, home: Device) {
        self.shape = shape
        self.devices = (0..<gpus).map { gpu($0) } + [cpu]
        let count = shape.reduce(1, *)
        self.model = Array(0..<count)
        self.memories = Dictionary(uniqueKeysWithValues: self.devices.map { ($0, Array(repeating: -1, count: count)) })
        self.memories[home] = self.model
        self.protocolState = CoherenceProtocol(shape: shape, home: home)
    }

    /// Row-major offsets of the positions of `box`.
    func offsets(_ box: Box) -> [Int] {
        var result: [Int] = []
        func walk(_ axis: Int, _ offset: Int) {
            if axis == self.shape.count {
                result.append(offset)
                return
            }
            let stride = self.shape[(axis + 1)...].reduce(1, *)
            for i in box.lower[axis]..<box.upper[axis] { walk(axis + 1, offset + i * stride) }
        }
        walk(0, 0)
        return result
    }

    mutating func execute(_ copies: [CoherenceProtocol.Copy]) {
        for copy in copies {
            for offset in self.offsets(copy.box) {
                self.memories[copy.destination]![offset] = self.memories[copy.source]![offset]
            }
        }
    }

    /// Runs one access; returns a description of the first disagreement with the model, if any.
    mutating func access(_ region: Box, on device: Device, mode: AccessMode) -> String? {
        let copies = self.protocolState.access(region, on: device, mode: mode)
        self.execute(copies)
        let positions = self.offsets(region)
        if mode.reads {
            for offset in positions where self.memories[device]![offset] != self.model[offset] {
                return
                    "\(mode) of \(region) on \(device) read \(self.memories[device]![offset]) at \(offset), expected \(self.model[offset])"
            }
        }
        if mode.writes {
            for offset in positions {
                self.model[offset] = self.nextValue
                self.memories[device]![offset] = self.nextValue
                self.nextValue += 1
            }
        }
        return self.checkInvariants()
    }

    /// Every piece is disjoint from the others, they cover the array, and every holder's copy is valid.
    func checkInvariants() -> String? {
        let pieces = self.protocolState.pieces
        var covered = Array(repeating: 0, count: self.model.count)
        for piece in pieces {
            if piece.holders.isEmpty { return "piece \(piece.box) has no holder" }
            for offset in self.offsets(piece.box) {
                covered[offset] += 1
                for holder in piece.holders where self.memories[holder]![offset] != self.model[offset] {
                    return "\(holder) is said to hold \(piece.box), but its element at \(offset) is stale"
                }
            }
        }
        if let bad = covered.firstIndex(where: { $0 != 1 }) {
            return "element \(bad) is covered by \(covered[bad]) pieces"
        }
        return nil
    }
}

@Suite("coherence protocol")
struct CoherenceProtocolTests {
    @Test("random programs of overlapping accesses on 1-4 GPUs agree with a sequential model", arguments: 0..<4)
    func randomPrograms(batch: Int) {
        var failures = 0
        for program in 0..<750 {
            let seed = UInt64(batch * 1_000_000 + program)
            var random = ProgramRandom(seed: seed)
            let rank = random.int(1...3)
            let shape = (0..<rank).map { _ in random.int(1...5) }
            let gpus = random.int(1...4)
            let home: Device = random.chance(0.8) ? cpu : gpu(0)
            var simulation = CoherenceSimulation(shape: shape, gpus: gpus, home: home)
            for step in 0..<random.int(5...40) {
                let device = simulation.devices[random.int(0...(simulation.devices.count - 1))]
                if random.chance(0.05) {
                    let keep = random.chance(0.8)
                    if let copies = simulation.protocolState.evict(device, keepOneCopy: keep) {
                        simulation.execute(copies)
                    }
                    if let problem = simulation.checkInvariants() {
                        Issue.record("seed \(seed), step \(step), evict \(device): \(problem)")
                        failures += 1
                        break
                    }
                    continue
                }
                let region = random.box(in: shape)
                let mode: AccessMode = [.input, .output, .inOut][random.int(0...2)]
                if let problem = simulation.access(region, on: device, mode: mode) {
                    Issue.record("seed \(seed), step \(step), shape \(shape): \(problem)")
                    failures += 1
                    break
                }
                // The reported state agrees with the pieces.
                let probe = random.box(in: shape)
                let probeDevice = simulation.devices[random.int(0...(simulation.devices.count - 1))]
                let state = simulation.protocolState.state(of: probe, on: probeDevice)
                let holders = simulation.protocolState.holders(of: probe)
                #expect((state == .invalid) == !holders.contains(probeDevice), "seed \(seed)")
            }
            if failures > 0 { break }
        }
        #expect(failures == 0)
    }

    @Test("lesson 6's accesses: A to gpu(0), B written on gpu(1), both read on the cpu, A[0] moved to gpu(1)")
    func lessonSixStates() {
        let whole = Box(shape: [2, 2])
        let row0 = Box(lower: [0, 0], upper: [1, 2])
        var a = CoherenceProtocol(shape: [2, 2], home: cpu)
        var b = CoherenceProtocol(shape: [2, 2], home: cpu)
        #expect(a.access(whole, on: gpu(0), mode: .input) == [.init(box: whole, source: cpu, destination: gpu(0))])
        #expect(a.state(of: whole, on: gpu(0)) == .shared)
        #expect(a.state(of: whole, on: cpu) == .shared)
        #expect(b.access(whole, on: gpu(1), mode: .output).isEmpty)  // output moves nothing in
        #expect(b.state(of: whole, on: gpu(1)) == .modified)
        #expect(b.state(of: whole, on: cpu) == .invalid)
        #expect(a.access(whole, on: cpu, mode: .input).isEmpty)
        #expect(b.access(whole, on: cpu, mode: .inOut) == [.init(box: whole, source: gpu(1), destination: cpu)])
        #expect(b.state(of: whole, on: cpu) == .modified)
        #expect(b.state(of: whole, on: gpu(1)) == .invalid)
        // Only row 0 moves to gpu(1); gpu(0) fetches... nothing: it is the only other holder of row 1.
        #expect(a.access(row0, on: gpu(1), mode: .inOut) == [.init(box: row0, source: gpu(0), destination: gpu(1))])
        #expect(a.state(of: row0, on: gpu(1)) == .modified)
        #expect(a.state(of: whole, on: gpu(1)) == .invalid)
        #expect(a.state(of: Box(lower: [1, 0], upper: [2, 2]), on: cpu) == .shared)
        #expect(a.state(of: whole, on: cpu) == .invalid)
    }

    @Test("overlapping regions need no writeback task: a write of A[0] on gpu(0) is seen by A[0, 1...] on gpu(1)")
    func overlappingRegions() {
        var a = CoherenceProtocol(shape: [3, 4], home: cpu)
        let row0 = Box(lower: [0, 0], upper: [1, 4])
        let part = Box(lower: [0, 1], upper: [1, 4])
        _ = a.access(row0, on: gpu(0), mode: .output)
        #expect(a.access(part, on: gpu(1), mode: .input) == [.init(box: part, source: gpu(0), destination: gpu(1))])
        let whole = Box(shape: [3, 4])
        let copies = a.access(whole, on: cpu, mode: .input)
        #expect(Set(copies.map(\.source)) == [gpu(0)])
        #expect(copies.map(\.box.count).reduce(0, +) == 4)  // just row 0 comes back
        #expect(a.state(of: whole, on: cpu) == .shared)
    }

    @Test("evicting keeps one copy, or refuses to lose the only one")
    func eviction() {
        var a = CoherenceProtocol(shape: [4], home: cpu)
        _ = a.access(Box(shape: [4]), on: gpu(0), mode: .inOut)
        #expect(a.evict(gpu(0), keepOneCopy: false) == nil)
        #expect(a.evict(gpu(0)) == [.init(box: Box(shape: [4]), source: gpu(0), destination: cpu)])
        #expect(a.state(of: Box(shape: [4]), on: cpu) == .modified)
        #expect(a.state(of: Box(shape: [4]), on: gpu(0)) == .invalid)
    }

    @Test("boxes: intersection, difference and merging")
    func boxes() {
        let a = Box(lower: [0, 0], upper: [4, 4])
        let b = Box(lower: [1, 1], upper: [3, 3])
        #expect(a.intersection(b) == b)
        let rest = a.subtracting(b)
        #expect(rest.map(\.count).reduce(0, +) == 16 - 4)
        for (i, x) in rest.enumerated() {
            #expect(x.intersection(b) == nil)
            for y in rest[(i + 1)...] { #expect(x.intersection(y) == nil) }
        }
        #expect(Box(lower: [0], upper: [2]).merged(with: Box(lower: [2], upper: [5])) == Box(lower: [0], upper: [5]))
        #expect(Box(lower: [0, 0], upper: [1, 2]).merged(with: Box(lower: [1, 1], upper: [2, 2])) == nil)
        #expect(a.description == "[0..<4, 0..<4]")
    }
}

import ParlaDevices
import Synchronization

/// Chooses the device of each task of a run and keeps the books of what tasks reserve there
/// (`vcus`, `memory`): a task that does not fit waits, parked, until a running one gives its share back.
final class ResourceLedger: Sendable {
    /// The run's devices: the GPUs in order, then the CPU.
    private let devices: [Device]
    /// Per device (by position): its memory, when the backend knows it.
    private let capacities: [Int?]
    /// The process's pool (shards of the counters, and the queue parked tasks go back to), not
    /// reference-counted: it is never freed, and every worker would contend for its count.
    private let pool: Unmanaged<WorkerPool>
    /// Per device (by position): what running tasks reserved there.
    private let usage: Mutex<[Usage]>
    /// Tasks waiting for a share of a device to be given back.
    private let parked = Mutex<[TaskRecord]>([])
    /// Tasks running per device, counted per thread (shard): `running[shard][device]`, for spreading
    /// unconstrained tasks.
    private let running: [[PaddedCounter]]
    /// Per thread (shard) and device (by position): the average time of the device's tasks with
    /// declared data that the thread finished, from start to finish, in nanoseconds (a moving average;
    /// 0 until one finishes). Sharded, as `running` is: one counter per device would be a cache line
    /// every worker writes.
    private let averageTaskNanoseconds: [[PaddedCounter]]

    private struct Usage {
        var vcus = 0.0
        var memory = 0
    }

    init(devices: [Device], capacities: [Int?], pool: WorkerPool) {
        self.devices = devices
        self.capacities = capacities
        self.pool = Unmanaged.passUnretained(pool)
        self.usage = Mutex(Array(repeating: Usage(), count: devices.count))
        self.running = (0..<pool.shardCount).map { _ in (0..<devices.count).map { _ in PaddedCounter() } }
        self.averageTaskNanoseconds = (0..<pool.shardCount).map { _ in devices.map { _ in PaddedCounter() } }
    }

    /// The memory of the device at `slot`, when the backend knows it.
    func capacity(of slot: Int) -> Int? { self.capacities[slot] }

    /// Tasks running on the device at `slot` now (placed, not finished).
    func runningCount(on slot: Int) -> Int {
        self.running.reduce(0) { $0 + $1[slot].value.load(ordering: .relaxed) }
    }

    /// The seconds of work estimated to be queued on the device at `slot`: its running tasks times the
    /// average time of its tasks.
    func queuedSeconds(on slot: Int) -> Double {
        let running = self.runningCount(on: slot)
        guard running > 0 else { return 0 }
        var (sum, count) = (0, 0)
        for shard in self.averageTaskNanoseconds {
            let average = shard[slot].value.load(ordering: .relaxed)
            if average > 0 { (sum, count) = (sum + average, count + 1) }
        }
        return count == 0 ? 0 : Double(running) * Double(sum) / Double(count) * 1e-9
    }

    /// Folds a task's time (start to finish) into the average of the device at `slot`.
    func noteTaskTime(nanoseconds: UInt64, on slot: Int) {
        let average = self.averageTaskNanoseconds[self.pool.currentShard][slot]
        let old = average.value.load(ordering: .relaxed)
        let sample = Int(clamping: nanoseconds)
        // (A thread's shard is written by that thread; the averages are estimates.)
        average.value.store(old == 0 ? sample : old + (sample - old) / 8, ordering: .relaxed)
    }

    /// The slot of `device` in the per-device arrays (GPUs by index, the CPU last).
    @inline(__always)
    func position(of device: Device) -> Int {
        device.kind == .cpu ? self.devices.count - 1 : device.index
    }

    /// Chooses the device for `record` and reserves its resources; `nil` parks it until resources free
    /// up (it is then submitted again). `ranked`: the task's allowed devices, best first by its data's
    /// locality (see `RunScope+Locality.swift`); the first that fits is chosen.
    func place(_ record: TaskRecord, restrictedTo required: Device? = nil, ranked: [Device]? = nil) -> Device? {
        let constrained = record.vcus > 0 || record.memory > 0
        if let required {
            // (An early predecessor's work is still queued on that GPU; the task's placement allows it.)
            return constrained ? self.reserve(record, among: [required]) : required
        }
        if let ranked {
            return constrained ? self.reserve(record, among: ranked, inOrder: true) : ranked[0]
        }
        switch record.placement {
        case .one(let device) where !constrained:
            return device
        case .one(let device):
            return self.reserve(record, among: [device])
        case .any where !constrained:
            return self.leastLoaded(self.devices)
        case .any:
            return self.reserve(record, among: self.devices)
        case .several(let candidates) where !constrained:
            return self.leastLoaded(candidates)
        case .several(let candidates):
            return self.reserve(record, among: candidates)
        case .groups(let groups):
            // A multi-device task: its devices are noted in its record; the first is returned.
            guard let chosen = constrained ? self.reserve(record, amongGroups: groups) : self.leastLoaded(groups)
            else { return nil }
            record.groupDevices = chosen
            return chosen[0]
        }
    }

    /// A task placed on the device at `slot` starts running.
    @inline(__always)
    func taskStarted(on slot: Int) {
        self.running[self.pool.currentShard][slot].value.add(1, ordering: .relaxed)
    }

    /// A multi-device task placed on `devices` starts running: it counts on each of them.
    func taskStarted(onEachOf devices: [Device]) {
        for device in devices { self.taskStarted(on: self.position(of: device)) }
    }

    /// A task that ran on the device at `slot` (a multi-device task: on each of its devices) is done: it
    /// gives back what it reserved, and parked tasks are tried again.
    func taskEnded(_ record: TaskRecord, on slot: Int) {
        if !record.groupDevices.isEmpty { return self.groupEnded(record) }
        self.running[self.pool.currentShard][slot].value.subtract(1, ordering: .relaxed)
        guard record.vcus > 0 || record.memory > 0 else { return }
        self.giveBack(record, on: CollectionOfOne(slot))
    }

    /// A multi-device task is done: on each of its devices, as ``taskEnded(_:on:)``.
    private func groupEnded(_ record: TaskRecord) {
        let slots = record.groupDevices.map(self.position(of:))
        for slot in slots { self.running[self.pool.currentShard][slot].value.subtract(1, ordering: .relaxed) }
        guard record.vcus > 0 || record.memory > 0 else { return }
        self.giveBack(record, on: slots)
    }

    /// Gives back what `record` reserved on the devices at `slots`, and tries the parked tasks again.
    private func giveBack(_ record: TaskRecord, on slots: some Collection<Int>) {
        let retry = self.usage.withLock { usage -> [TaskRecord] in
            for slot in slots {
                usage[slot].vcus -= record.vcus
                usage[slot].memory -= record.memory
            }
            return self.parked.withLock { parked in
                defer { parked = [] }
                return parked
            }
        }
        for parked in retry { self.pool._withUnsafeGuaranteedRef { $0.submit(parked) } }
    }

    /// Why a task asking for `vcus` and `memory` can never be placed on any of `candidates`, checked at
    /// spawn, or `nil` when it can be.
    func unplaceableReason(vcus: Double, memory: Int, candidates: [Device]) -> String? {
        if vcus > 1 + 1e-9 { return "it asks for \(vcus) compute units and a device has 1" }
        let fits = candidates.contains { device in
            self.capacities[self.position(of: device)].map { memory <= $0 } ?? true
        }
        if !fits {
            return
                "it asks for \(memory) bytes and no device it may run on (\(candidates.map(\.description).joined(separator: ", "))) has that much memory"
        }
        return nil
    }

    private func leastLoaded(_ candidates: [Device]) -> Device {
        var best = candidates[0]
        var bestLoad = Int.max
        for device in candidates {
            let load = self.runningCount(on: self.position(of: device))
            if load < bestLoad {
                best = device
                bestLoad = load
            }
        }
        return best
    }

    /// The device set of `groups` whose devices run the fewest tasks together.
    private func leastLoaded(_ groups: [[Device]]) -> [Device] {
        var best = groups[0]
        var bestLoad = Int.max
        for group in groups {
            let load = group.reduce(0) { $0 + self.runningCount(on: self.position(of: $1)) }
            if load < bestLoad {
                best = group
                bestLoad = load
            }
        }
        return best
    }

    /// Reserves `record`'s share on every device of the least-loaded device set of `groups` whose
    /// devices all have room for it; with none, parks the task.
    private func reserve(_ record: TaskRecord, amongGroups groups: [[Device]]) -> [Device]? {
        self.usage.withLock { usage -> [Device]? in
            var best: [Device]? = nil
            var bestLoad = Double.infinity
            for group in groups {
                var load = 0.0
                let fits = group.allSatisfy { device in
                    let slot = self.position(of: device)
                    load += usage[slot].vcus
                    return self.hasRoom(for: record, beside: usage[slot], at: slot)
                }
                if fits && load < bestLoad {
                    best = group
                    bestLoad = load
                }
            }
            if let best {
                for device in best {
                    usage[self.position(of: device)].vcus += record.vcus
                    usage[self.position(of: device)].memory += record.memory
                }
            } else {
                // (Under the usage lock: a task ending now retries it after this.)
                self.parked.withLock { $0.append(record) }
            }
            return best
        }
    }

    /// Whether the device at `slot`, with `usage` reserved there, has room for `record`'s share.
    private func hasRoom(for record: TaskRecord, beside usage: Usage, at slot: Int) -> Bool {
        usage.vcus + record.vcus <= 1 + 1e-9
            && (self.capacities[slot].map { usage.memory + record.memory <= $0 } ?? true)
    }

    /// Reserves `record`'s share of the least-loaded of `candidates` that has room for it (with
    /// `inOrder`, of the first that has).
    private func reserve(_ record: TaskRecord, among candidates: [Device], inOrder: Bool = false) -> Device? {
        self.usage.withLock { usage -> Device? in
            var best: Device? = nil
            var bestLoad = Double.infinity
            for device in candidates {
                let slot = self.position(of: device)
                if self.hasRoom(for: record, beside: usage[slot], at: slot) && usage[slot].vcus < bestLoad {
                    best = device
                    bestLoad = usage[slot].vcus
                    if inOrder { break }
                }
            }
            if let best {
                let slot = self.position(of: best)
                usage[slot].vcus += record.vcus
                usage[slot].memory += record.memory
            } else {
                // (Under the usage lock: a task ending now retries it after this.)
                self.parked.withLock { $0.append(record) }
            }
            return best
        }
    }
}

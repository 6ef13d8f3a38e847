import ParlaDevices

/// Locality- and load-aware mapping: a task with declared data that may run on several devices (`gpu`,
/// `[gpu(0), gpu(1)]`, the default placement) runs where it is estimated to finish its wait soonest.
///
/// For each allowed device the runtime estimates, in seconds:
/// - **moving the data in**: for each declared region that the task reads, the bytes not valid on the
///   device, over the fastest link from a device holding part of the array (measured links on CUDA
///   GPUs, the link model of virtual GPUs, else 25 GB/s), plus 10 µs per region;
/// - **the work queued there**: the tasks running on the device (placed, not finished) times the
///   average time of its tasks with declared data so far;
/// - **making room**: when the buffers the task needs there (whole arrays it has no copy of, plus its
///   `memory` request) exceed the free memory, writing the difference back to the host.
///
/// A device whose memory cannot hold the task's declared data and `memory` request at all is not
/// chosen (unless no allowed device can: the task then fails naming its working set). The smallest
/// sum wins; ties go to the device with fewer running tasks, then to the earlier in the placement's
/// order (its list's order; for `gpu` and the default placement, GPUs by index, then the CPU).
/// Parla (Python) equivalent: the mapper's locality and load scores.
extension RunScope {
    /// The devices of `candidates` best first for `record` by the estimate above.
    func rankedByLocality(_ record: TaskRecord, among candidates: [Device]) -> [Device] {
        var transfer = [Double](repeating: 0, count: candidates.count)
        var moved = [Int](repeating: 0, count: candidates.count)
        var allocated = [Int](repeating: record.memory, count: candidates.count)
        let links = self.registry.links
        for index in record.accesses.indices {
            let entry = record.accesses[index]
            let facts = entry.access.locality(mode: entry.mode, on: candidates, links: links)
            for (position, fact) in facts.enumerated() {
                transfer[position] += fact.transferSeconds
                moved[position] += fact.bytesToMove
                allocated[position] += fact.bytesToAllocate
            }
        }
        let workingSet = self.workingSetBytes(of: record)
        var scored: [(device: Device, fits: Bool, seconds: Double, running: Int, order: Int)] = []
        for (position, device) in candidates.enumerated() {
            let slot = self.position(of: device)
            var seconds = transfer[position] + self.ledger.queuedSeconds(on: slot)
            var fits = true
            if let capacity = self.ledger.capacity(of: slot) {
                fits = workingSet <= capacity
                let free = self.freeMemory(on: device) ?? capacity
                if allocated[position] > free {
                    let toHost = links.bandwidth(from: device, to: .cpu) ?? AccessLocality.assumedBandwidth
                    seconds += Double(allocated[position] - free) / toHost
                }
            }
            scored.append((device, fits, seconds, self.ledger.runningCount(on: slot), position))
        }
        scored.sort { a, b in
            if a.fits != b.fits { return a.fits }
            if a.seconds != b.seconds { return a.seconds < b.seconds }
            if a.running != b.running { return a.running < b.running }
            return a.order < b.order
        }
        return scored.map(\.device)
    }

    /// The devices a task's placement allows when there are several, or `nil`.
    @inline(__always)
    func severalCandidates(of placement: PlacementSpec) -> [Device]? {
        switch placement {
        case .any: return self.devices.count > 1 ? self.devices : nil
        case .several(let devices): return devices.count > 1 ? devices : nil
        case .one, .groups: return nil
        }
    }
}

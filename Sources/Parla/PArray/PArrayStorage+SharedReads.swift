import ParlaDevices

/// A read of one region by several GPUs, served together (see
/// `PArrayStorage.planSharedRead(_:on:copies:links:run:state:)`).
struct SharedRead {
    /// The GPUs that end up holding the region, by index.
    let devices: [Device]
    /// First each GPU's share from the host, then every share from its GPU to the others.
    let phases: [[CoherenceProtocol.Copy]]
}

extension PArrayStorage {
    /// The smallest region (in bytes) worth sharing out: below it, the per-copy costs outweigh the
    /// bandwidth won.
    static var smallestSharedRead: Int { 16 << 20 }

    /// A read of `box` on the GPU `device` that only the host can serve, while tasks of this run placed
    /// on other GPUs wait to read the same region: instead of each GPU reading all of it over its host
    /// link, each reads one share and the GPUs exchange shares over their peer links, when `links` says
    /// that is faster. (On 4 H200s, whose 4 host links carry 166 GB/s together and whose GPUs are 390
    /// GB/s apart, a 4 GiB array reaches all four in about a third of the time.) `nil` when the read is
    /// not worth sharing, or the links are unknown.
    ///
    /// Only `.inferred` runs share reads: there, the readers recorded since the last write of the region
    /// read what is there now. A reader shares in only when nothing of the region is valid or moving
    /// into its GPU yet, and its task has not finished; its own preparation then waits for this move,
    /// whose destinations include its GPU, and finds the region valid.
    func planSharedRead(
        _ box: Box,
        on device: Device,
        copies: [CoherenceProtocol.Copy],
        links: DeviceLinks,
        run: Int,
        state: borrowing State
    ) -> SharedRead? {
        let bytes = box.count * MemoryLayout<Element>.stride
        guard device.kind == .gpu, bytes >= Self.smallestSharedRead,
            copies.allSatisfy({ $0.source == .cpu }), copies.reduce(0, { $0 + $1.box.count }) == box.count
        else { return nil }
        // The GPUs whose unfinished tasks read the region, where none of it is valid or moving in.
        var others = Set<Device>()
        let readers = self.history.withLock { history in
            var readers: [RecordedAccess] = []
            history.forEachRead(containing: box, run: run) { readers.append($0) }
            return readers
        }
        for reader in readers {
            guard let other = reader.device, other.kind == .gpu, other != device, !others.contains(other),
                !reader.task.isCompleted(generation: reader.generation),
                !state.moves.contains(where: { $0.destinations.contains(other) }),
                !state.coherence.holdsAny(of: box, on: other)
            else { continue }
            others.insert(other)
        }
        let devices = ([device] + others).sorted { $0.index < $1.index }
        let count = devices.count
        guard count > 1, let axis = (0..<box.rank).first(where: { box.upper[$0] - box.lower[$0] >= count }) else {
            return nil
        }
        // Each GPU reading everything from the host, against a share each then the exchange.
        var alone = 0.0
        var shares = 0.0
        var exchange = 0.0
        let share = Double(bytes) / Double(count)
        for target in devices {
            guard let host = links.bandwidth(from: .cpu, to: target) else { return nil }
            alone = Swift.max(alone, Double(bytes) / host)
            shares = Swift.max(shares, share / host)
            var incoming = 0.0
            for source in devices where source != target {
                guard let peer = links.bandwidth(from: source, to: target) else { return nil }
                incoming += share / peer
            }
            exchange = Swift.max(exchange, incoming)
        }
        guard shares + exchange < alone else { return nil }
        // Shares along `axis`, in order of the GPUs.
        let extent = box.upper[axis] - box.lower[axis]
        let parts = devices.indices.map { k -> Box in
            var part = box
            part.lower[axis] = box.lower[axis] + extent * k / count
            part.upper[axis] = box.lower[axis] + extent * (k + 1) / count
            return part
        }
        let fromHost = zip(parts, devices).map { CoherenceProtocol.Copy(box: $0, source: .cpu, destination: $1) }
        var between: [CoherenceProtocol.Copy] = []
        for (part, source) in zip(parts, devices) {
            for target in devices where target != source {
                between.append(CoherenceProtocol.Copy(box: part, source: source, destination: target))
            }
        }
        return SharedRead(devices: devices, phases: [fromHost, between])
    }
}

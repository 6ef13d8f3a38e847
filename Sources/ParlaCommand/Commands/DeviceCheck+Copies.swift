import Parla

#if canImport(Glibc)
import Glibc
#endif

extension DeviceCheckCommand {
    /// Every copy path between the devices, checked (the bytes arrive) and timed beside the driver's
    /// own copy where there is one: host ↔ each GPU, pinned and pageable; every host link at once;
    /// every GPU pair over its peer link and staged through pinned memory. Returns the number of
    /// failures.
    func checkCopies(_ registry: DeviceRegistry) throws -> Int {
        let gpus = registry.devices.filter { $0 != .cpu }
        print("\n== copies (\(formatBytes(copyBytes)) each, best of 5) and kernel launches")
        print("links as the runtime measured them (it fetches each region over the fastest):")
        for line in registry.links.description.split(separator: "\n") { print("  \(line)") }
        var failures = 0
        let pinnedHost = try registry.host.allocate(byteCount: copyBytes)
        let pageableBackend = HostBackend()
        let pageableHost = try pageableBackend.allocate(byteCount: copyBytes)
        pinnedHost.hostPointer!.initializeMemory(as: UInt8.self, repeating: 1, count: copyBytes)
        pageableHost.hostPointer!.initializeMemory(as: UInt8.self, repeating: 2, count: copyBytes)
        print("host block pinned: \(registry.host.isPinned(pinnedHost) ? "yes" : "no (no CUDA GPU in this run)")")
        var onDevice: [Device: DeviceAllocation] = [:]
        for device in gpus {
            let backend = try registry.backend(for: device)
            let block = try backend.allocate(byteCount: copyBytes)
            onDevice[device] = block
            let up = try bandwidth { try DeviceCopies.copy(from: pinnedHost, to: block, byteCount: copyBytes) }
            let upPageable = try bandwidth {
                try DeviceCopies.copy(from: pageableHost, to: block, byteCount: copyBytes)
            }
            let down = try bandwidth { try DeviceCopies.copy(from: block, to: pinnedHost, byteCount: copyBytes) }
            let downPageable = try bandwidth {
                try DeviceCopies.copy(from: block, to: pageableHost, byteCount: copyBytes)
            }
            let pinned = registry.host.isPinned(pinnedHost) ? "pinned" : "host block"
            var line =
                "cpu -> \(device): \(pinned) \(format(up)) GB/s, pageable \(format(upPageable)) GB/s; \(device) -> cpu: \(pinned) \(format(down)) GB/s, pageable \(format(downPageable)) GB/s"
            // Host blocks are pinned when CUDA GPUs are in use: then the driver's own copies are timed too.
            if registry.host.isPinned(pinnedHost) {
                let diagnostics = backend.diagnostics
                let driverUp = try driverBandwidth {
                    try diagnostics.timeDriverCopy(from: pinnedHost, to: block, byteCount: copyBytes)
                }
                let driverDown = try driverBandwidth {
                    try diagnostics.timeDriverCopy(from: block, to: pinnedHost, byteCount: copyBytes)
                }
                line += " (the driver's own copies: \(format(driverUp)) and \(format(driverDown)) GB/s)"
            }
            print(line)
        }
        if gpus.count > 1 {
            let hostBlocks = try gpus.map { _ in try registry.host.allocate(byteCount: copyBytes) }
            let all = Double(gpus.count * copyBytes)
            let up = try bandwidth(bytes: all) {
                try zip(hostBlocks, gpus).map {
                    try DeviceCopies.copy(from: $0, to: onDevice[$1]!, byteCount: copyBytes)
                }
            }
            let down = try bandwidth(bytes: all) {
                try zip(hostBlocks, gpus).map {
                    try DeviceCopies.copy(from: onDevice[$1]!, to: $0, byteCount: copyBytes)
                }
            }
            print(
                "all \(gpus.count) host links at once: cpu -> every GPU \(format(up)) GB/s in all, every GPU -> cpu \(format(down)) GB/s in all"
            )
        }
        for source in gpus {
            for target in gpus where target != source {
                let (line, wrong) = try self.checkPair(source, target, registry: registry, blocks: onDevice)
                failures += wrong
                print(line)
            }
        }
        for device in gpus {
            let tiny = NDArray<Float>.ones([1]).to(device)
            var sink = tiny
            let launches = 2000
            let clock = ContinuousClock()
            let queued = clock.measure {
                for _ in 0..<launches { sink = sink + tiny }
                _ = sink.to(.cpu)
            }
            let synced = clock.measure {
                for _ in 0..<200 {
                    sink = (sink + tiny)
                    _ = sink.to(.cpu)
                }
            }
            print(
                "\(device): element-wise op on 1 element: \(format(seconds(queued) / Double(launches) * 1e6)) µs queued back to back, \(format(seconds(synced) / 200 * 1e6)) µs with a copy back to the host each time"
            )
        }
        withExtendedLifetime((pinnedHost, pageableHost)) {}
        return failures
    }

    /// One GPU pair: over the peer link (beside the driver's own `cuMemcpyPeerAsync`) and staged through
    /// pinned memory, each checked by a pattern that must arrive intact. Returns the line and the
    /// number of wrong copies.
    private func checkPair(
        _ source: Device,
        _ target: Device,
        registry: DeviceRegistry,
        blocks: [Device: DeviceAllocation]
    ) throws -> (String, Int) {
        let from = blocks[source]!
        let to = blocks[target]!
        let diagnostics = try registry.backend(for: target).diagnostics
        guard let hasPeer = diagnostics.directPeerCopies(from: source) else {
            let rate = try bandwidth { try DeviceCopies.copy(from: from, to: to, byteCount: copyBytes) }
            let right = try self.copyArrives(from: source, to: target, registry: registry)
            return (
                "\(source) -> \(target): \(format(rate)) GB/s, bytes arrive: \(right ? "yes" : "NO")", right ? 0 : 1
            )
        }
        var parts: [String] = []
        var wrong = 0
        for direct in hasPeer ? [true, false] : [false] {
            diagnostics.setDirectPeerCopies(direct, from: source)
            let rate = try bandwidth { try DeviceCopies.copy(from: from, to: to, byteCount: copyBytes) }
            let right = try self.copyArrives(from: source, to: target, registry: registry)
            if !right { wrong += 1 }
            var part = direct ? "peer access \(format(rate)) GB/s" : "staged through pinned memory \(format(rate)) GB/s"
            if direct {
                let driver = try driverBandwidth {
                    try diagnostics.timeDriverCopy(from: from, to: to, byteCount: copyBytes)
                }
                part +=
                    " (the driver's \(diagnostics.driverCopyName(from: source, to: target)): \(format(driver)) GB/s)"
            }
            parts.append(part + (right ? ", bytes arrive" : ", BYTES WRONG"))
        }
        diagnostics.setDirectPeerCopies(hasPeer, from: source)
        return ("\(source) -> \(target): " + parts.joined(separator: "; "), wrong)
    }

    /// Whether an array of an odd size (several staging chunks and a partial one) arrives intact from
    /// `source` to `target` through the devices' copies.
    private func copyArrives(from source: Device, to target: Device, registry: DeviceRegistry) throws -> Bool {
        let count = (17 << 20) / 8 + 12_345
        let values = NDArray<Int>.arange(count) * 7 + Int(source.index * 10 + target.index)
        let there = values.to(source).to(target)
        return there.device == target && there.to(.cpu).elements == values.elements
    }

    /// GB/s of the fastest of five rounds of the copies `start` begins (all waited for), `bytes` in all.
    func bandwidth(bytes: Double? = nil, _ start: () throws -> [DeviceEvent]) throws -> Double {
        for event in try start() { try event.wait() }  // warm-up
        var best = Double.infinity
        let clock = ContinuousClock()
        for _ in 0..<5 {
            var failure: (any Error)? = nil
            let elapsed = clock.measure {
                do {
                    for event in try start() { try event.wait() }
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            best = min(best, seconds(elapsed))
        }
        return (bytes ?? Double(copyBytes)) / best / 1e9
    }

    /// GB/s of the fastest of five copies `copy` starts.
    func bandwidth(_ copy: () throws -> DeviceEvent) throws -> Double {
        try bandwidth { [try copy()] }
    }

    /// GB/s of the fastest of five driver copies, each timed by `time`.
    private func driverBandwidth(_ time: () throws -> Duration) throws -> Double {
        _ = try time()
        var best = Double.infinity
        for _ in 0..<5 { best = min(best, seconds(try time())) }
        return Double(copyBytes) / best / 1e9
    }
}

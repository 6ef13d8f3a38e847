import ParlaDevices

/// What running a task on one device would take for one of its declared regions: the copies into the
/// device, and the memory there. The runtime's mapping weighs these across a task's allowed devices
/// (see `RunScope+Locality.swift`).
struct AccessLocality {
    /// Bytes of the region not valid on the device (0 for `output`, which copies nothing in).
    var bytesToMove = 0
    /// Seconds those bytes take over the fastest link from a device holding part of the array.
    var transferSeconds = 0.0
    /// Bytes the device must allocate: the array's whole buffer, unless it has one there already.
    var bytesToAllocate = 0

    /// The bandwidth assumed for links without figures (virtual GPUs without a link model): PCIe 4.0.
    static let assumedBandwidth = 25e9
    /// The cost assumed for each copy, in seconds.
    static let assumedLatency = 10e-6
}

extension PArrayStorage {
    /// ``AccessLocality`` of an access of `box` with `mode` on each of `candidates`, in one hold of the
    /// lock.
    func locality(of box: Box, mode: AccessMode, on candidates: [Device], links: DeviceLinks) -> [AccessLocality] {
        let stride = MemoryLayout<Element>.stride
        return self.state.withLock { state in
            let elements = state.coherence.shape.reduce(1, *)
            let isWhole = box == state.coherence.whole
            let holders = state.buffers.keys.filter { state.coherence.heldElementCount(on: $0) > 0 }
            return candidates.map { device in
                var locality = AccessLocality()
                if state.buffers[device] == nil { locality.bytesToAllocate = elements * stride }
                guard mode.reads else { return locality }
                let missing: Int
                if isWhole {
                    missing = elements - state.coherence.heldElementCount(on: device)
                } else {
                    missing = state.coherence.state(of: box, on: device) == .invalid ? box.count : 0
                }
                guard missing > 0 else { return locality }
                let bandwidth =
                    holders.filter { $0 != device }.compactMap { links.bandwidth(from: $0, to: device) }.max()
                    ?? AccessLocality.assumedBandwidth
                locality.bytesToMove = missing * stride
                locality.transferSeconds = AccessLocality.assumedLatency + Double(locality.bytesToMove) / bandwidth
                return locality
            }
        }
    }

    /// The bytes of the array's whole buffer on a device.
    var bufferBytes: Int { self.shape.reduce(1, *) * MemoryLayout<Element>.stride }
}

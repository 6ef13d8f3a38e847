import CCUDADriver

#if canImport(Glibc)
import Glibc
#endif

/// A CUDA GPU's diagnostics: its hardware, its compute stream queried through an event, the driver's
/// own copies, and its peer links.
struct CUDADiagnostics: DeviceDiagnostics {
    let gpu: CUDAGPU

    var details: String? {
        let capability = self.gpu.computeCapability
        return "compute capability \(capability / 10).\(capability % 10), \(self.gpu.multiprocessorCount) SMs"
    }

    var runsOnHost: Bool { self.gpu.driver.isSimulated }

    func isIdle() throws(DeviceError) -> Bool { try self.gpu.computeStreamIsIdle }

    func driverCopyName(from source: Device, to destination: Device) -> String {
        switch (source.kind, destination.kind) {
        case (.gpu, .gpu): "cuMemcpyPeerAsync"
        case (.cpu, _): "cuMemcpyHtoDAsync"
        default: "cuMemcpyDtoHAsync"
        }
    }

    func timeDriverCopy(
        from source: DeviceAllocation,
        to destination: DeviceAllocation,
        byteCount: Int
    ) throws(DeviceError) -> Duration {
        try self.gpu.timeDriverCopy(from: source, to: destination, byteCount: byteCount)
    }

    func directPeerCopies(from other: Device) -> Bool? { self.gpu.hasPeerAccess(to: other) }

    func setDirectPeerCopies(_ enabled: Bool, from other: Device) {
        self.gpu.setPeerCopiesEnabled(enabled, to: other)
    }
}

/// What the diagnostics need from a CUDA GPU: its peer links, whether its compute stream is idle, and
/// single driver copies to time against Parla's own.
extension CUDAGPU {
    /// The GPU's diagnostics (``DeviceDiagnostics``): compute capability and multiprocessors, the compute
    /// stream queried through an event, the driver's own copies, and the peer links.
    public var diagnostics: any DeviceDiagnostics { CUDADiagnostics(gpu: self) }

    /// Whether copies from `other` into this GPU go directly over the peer link.
    func hasPeerAccess(to other: Device) -> Bool {
        self.peers.withLock { $0[other.index]?.direct ?? false }
    }

    /// Turns direct peer copies from `other` into this GPU off or on (for measurements: copies then
    /// stage through pinned host memory). Peer copies stay off where the driver does not allow them.
    func setPeerCopiesEnabled(_ enabled: Bool, to other: Device) {
        self.peers.withLock { peers in
            guard var entry = peers[other.index] else { return }
            entry.direct = enabled && self.driver.canAccessPeer(self.handle, entry.gpu.handle)
            peers[other.index] = entry
        }
    }

    /// Whether everything queued on the compute stream so far has finished (an event is recorded and
    /// queried; nothing waits). Used to check that tasks complete only after their kernels.
    var computeStreamIsIdle: Bool {
        get throws(DeviceError) {
            let event = try self.record(on: .compute)
            return try self.driver.isComplete(event.handle, device: self.device)
        }
    }

    /// Times one driver copy of `byteCount` bytes from `source` to `destination` (one of them on this
    /// GPU), with nothing of Parla's around it: `cuMemcpyPeerAsync` between two GPUs (this one the
    /// destination), `cuMemcpyHtoDAsync` or `cuMemcpyDtoHAsync` with pinned host memory, each queued on
    /// a stream of this GPU and waited for. The reference Parla's copies are measured against.
    func timeDriverCopy(
        from source: DeviceAllocation,
        to destination: DeviceAllocation,
        byteCount: Int
    ) throws(DeviceError) -> Duration {
        checkDriverCopyFits(byteCount: byteCount, from: source, to: destination)
        let clock = ContinuousClock()
        let start = clock.now
        try self.makeCurrent()
        let stream: StreamRole
        switch (source.backend as? CUDAGPU, destination.backend as? CUDAGPU) {
        case (.some(let origin), .some(let target)):
            parlaPrecondition(target === self, "a driver copy between GPUs is timed by the destination GPU")
            stream = .peer
            try self.driver.copyPeer(
                destination.address,
                in: self.context,
                from: source.address,
                in: origin.context,
                bytes: byteCount,
                on: self.stream(stream),
                "\(origin.device) -> \(self.device)",
                device: self.device
            )
        case (nil, .some):
            stream = .hostToDevice
            try self.driver.copyHostToDevice(
                destination.address,
                from: source.hostPointer!,
                bytes: byteCount,
                on: self.stream(stream),
                device: self.device,
                ""
            )
        case (.some, nil):
            stream = .deviceToHost
            try self.driver.copyDeviceToHost(
                destination.hostPointer!,
                from: source.address,
                bytes: byteCount,
                on: self.stream(stream),
                device: self.device,
                ""
            )
        case (nil, nil):
            parlaPreconditionFailure("a driver copy needs a GPU at one end")
        }
        try self.driver.synchronizeStream(self.stream(stream), device: self.device)
        return start.duration(to: clock.now)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What tools ask a device about itself beyond what the runtime needs: `parla devices` lists it,
/// `parla device-check` checks that tasks finish after their work and compares every copy path with the
/// device's own copies, and the benchmarks time Parla's data movement beside those copies.
///
/// Every backend has diagnostics (``DeviceBackend/diagnostics``). A backend in host memory (the CPU, a
/// virtual GPU, or one of your own) has the default ones: its work runs on the host, its own copies are
/// `memcpy`, and it has no peer links. A CUDA GPU's describe the hardware, query the driver and time the
/// driver's own copies.
public protocol DeviceDiagnostics: Sendable {
    /// Details of the device for a listing (`"compute capability 9.0, 132 SMs"`, `"link 25 GB/s"`), or
    /// `nil` when there are none beyond its name and memory.
    var details: String? { get }

    /// Whether the device's kernels and copies run on the host's cores (the CPU, virtual GPUs, and CUDA
    /// GPUs simulated by the simulated driver), so that timing the device times the host.
    var runsOnHost: Bool { get }

    /// Whether all the work queued on the device so far has finished, found without waiting for it (a
    /// CUDA GPU records an event after the work on its compute stream and queries it).
    func isIdle() throws(DeviceError) -> Bool

    /// The name of the copy routine that ``timeDriverCopy(from:to:byteCount:)`` times between `source`
    /// and `destination` (`"cuMemcpyPeerAsync"` between two CUDA GPUs, `"memcpy"` in host memory).
    func driverCopyName(from source: Device, to destination: Device) -> String

    /// Times one copy of `byteCount` bytes from `source` to `destination` (one of them on this device,
    /// and the destination when both are GPUs) by the device's own copy routine, waited for, with nothing
    /// of Parla's around it: the reference that Parla's copies are measured against.
    ///
    /// - Precondition: both blocks hold `byteCount` bytes; a CUDA GPU copies to or from the host only
    ///   with pinned host memory.
    func timeDriverCopy(
        from source: DeviceAllocation,
        to destination: DeviceAllocation,
        byteCount: Int
    ) throws(DeviceError) -> Duration

    /// Whether copies from the GPU `other` into this device go directly over a peer link (`true`) or are
    /// staged through pinned host memory (`false`); `nil` for a device that makes no such choice.
    func directPeerCopies(from other: Device) -> Bool?

    /// Makes copies from the GPU `other` into this device go directly over the peer link (where the
    /// driver allows it) or staged through pinned host memory, to measure both; nothing on a device that
    /// makes no such choice.
    func setDirectPeerCopies(_ enabled: Bool, from other: Device)
}

extension DeviceBackend {
    /// The default diagnostics of a device in host memory: its work runs on the host, it is idle when
    /// ``completionOfQueuedWork()`` has completed, its own copies are `memcpy`, and it has no peer links.
    public var diagnostics: any DeviceDiagnostics { HostMemoryDiagnostics(backend: self, details: nil) }
}

/// Stops unless a driver copy of `byteCount` bytes fits both blocks (what every
/// ``DeviceDiagnostics/timeDriverCopy(from:to:byteCount:)`` checks first).
func checkDriverCopyFits(byteCount: Int, from source: DeviceAllocation, to destination: DeviceAllocation) {
    parlaPrecondition(
        byteCount <= source.byteCount && byteCount <= destination.byteCount,
        "a driver copy of \(byteCount) bytes does not fit its blocks (\(source.byteCount), \(destination.byteCount))"
    )
}

/// The diagnostics of a device in host memory (see ``DeviceBackend/diagnostics``).
struct HostMemoryDiagnostics: DeviceDiagnostics {
    let backend: any DeviceBackend
    let details: String?

    var runsOnHost: Bool { true }

    func isIdle() throws(DeviceError) -> Bool { try self.backend.completionOfQueuedWork().isComplete }

    func driverCopyName(from source: Device, to destination: Device) -> String { "memcpy" }

    func timeDriverCopy(
        from source: DeviceAllocation,
        to destination: DeviceAllocation,
        byteCount: Int
    ) throws(DeviceError) -> Duration {
        checkDriverCopyFits(byteCount: byteCount, from: source, to: destination)
        guard let from = source.hostPointer, let to = destination.hostPointer else {
            parlaPreconditionFailure("memcpy cannot copy from \(source.device) to \(destination.device)")
        }
        let clock = ContinuousClock()
        let start = clock.now
        memcpy(to, from, byteCount)
        return start.duration(to: clock.now)
    }

    func directPeerCopies(from other: Device) -> Bool? { nil }

    func setDirectPeerCopies(_ enabled: Bool, from other: Device) {}
}

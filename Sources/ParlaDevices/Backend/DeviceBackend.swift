/// One device's memory and execution: what the arrays and the runtime need from the CPU, a virtual GPU
/// or a CUDA GPU.
///
/// Copies are asynchronous and return a ``DeviceEvent``. A copy between two devices is carried out by
/// the backend of the GPU taking part (see ``DeviceCopies``).
public protocol DeviceBackend: AnyObject, Sendable {
    /// The device this backend drives.
    var device: Device { get }

    /// A human-readable name: `"CPU"`, `"virtual GPU"`, or the CUDA device's name.
    var name: String { get }

    /// The number of bytes that can be allocated in all, or `nil` when unbounded.
    var memoryCapacity: Int? { get }

    /// The number of bytes currently allocated.
    var memoryInUse: Int { get }

    /// Whether the host can read and write this device's memory directly (the CPU and virtual GPUs).
    var isHostAddressable: Bool { get }

    /// Allocates `byteCount` bytes, or throws ``DeviceError/outOfMemory(device:requested:free:)``.
    func allocate(byteCount: Int) throws(DeviceError) -> DeviceAllocation

    /// Frees memory; called by ``DeviceAllocation`` when its last reference goes away.
    func release(address: UInt64, byteCount: Int, hostPointer: UnsafeMutableRawPointer?)

    /// Starts copying `byteCount` bytes from `source` (at byte `sourceOffset`) to `destination` (at byte
    /// `destinationOffset`); one of the two is on this device. The returned event completes with the copy.
    func copy(
        from source: DeviceAllocation,
        at sourceOffset: Int,
        to destination: DeviceAllocation,
        at destinationOffset: Int,
        byteCount: Int
    ) throws(DeviceError) -> DeviceEvent

    /// ``copy(from:at:to:at:byteCount:)``, told whether work queued on the source's device may still
    /// be producing the source (`sourceIsSettled == false`: the copy waits for it) or none is (the
    /// runtime's moves of PArray data, whose writers have completed: the copy need not wait for the
    /// work queued since, which may run far ahead).
    func copy(
        from source: DeviceAllocation,
        at sourceOffset: Int,
        to destination: DeviceAllocation,
        at destinationOffset: Int,
        byteCount: Int,
        sourceIsSettled: Bool
    ) throws(DeviceError) -> DeviceEvent

    /// Waits until all work queued on this device has finished.
    func synchronize() throws(DeviceError)

    /// Whether work queued on the device (kernels, copies) may still be running when the call that
    /// queued it returns, as on a CUDA stream: a task on such a device finishes when
    /// ``completionOfQueuedWork()`` completes. `false` for the CPU and virtual GPUs, whose work runs as
    /// it is called.
    var completesAsynchronously: Bool { get }

    /// An event that completes when the work queued so far on the device's compute stream has: a task
    /// on a GPU counts as finished when this does.
    func completionOfQueuedWork() throws(DeviceError) -> DeviceEvent

    /// ``completionOfQueuedWork()``; with `waiterSleeps`, a thread that waits for the event sleeps
    /// until the device signals it instead of polling the device (for a thread set aside to wait, whose
    /// polling would slow the threads queuing work, and whose wake-up latency delays nothing else).
    func completionOfQueuedWork(waiterSleeps: Bool) throws(DeviceError) -> DeviceEvent

    /// The kernels of a device whose memory the host cannot address; `nil` for the CPU and virtual
    /// GPUs, whose arrays are computed on by the host.
    var kernels: (any DeviceKernels)? { get }

    /// What tools can ask the device about itself: details, idleness, its own copies to time Parla's
    /// against, its peer links (``DeviceDiagnostics``).
    var diagnostics: any DeviceDiagnostics { get }
}

extension DeviceBackend {
    /// Host-addressable devices have no kernels of their own: the host computes on their memory.
    public var kernels: (any DeviceKernels)? { nil }

    /// Work runs as it is called (the CPU, virtual GPUs): nothing is queued that a copy would wait for.
    public func copy(
        from source: DeviceAllocation,
        at sourceOffset: Int,
        to destination: DeviceAllocation,
        at destinationOffset: Int,
        byteCount: Int,
        sourceIsSettled: Bool
    ) throws(DeviceError) -> DeviceEvent {
        try self.copy(
            from: source,
            at: sourceOffset,
            to: destination,
            at: destinationOffset,
            byteCount: byteCount
        )
    }

    /// Work runs as it is called (the CPU, virtual GPUs).
    public var completesAsynchronously: Bool { false }

    /// On devices whose work runs as it is called (the CPU, virtual GPUs), everything has finished.
    public func completionOfQueuedWork() throws(DeviceError) -> DeviceEvent { .completed }

    /// On devices whose work runs as it is called (the CPU, virtual GPUs), everything has finished.
    public func completionOfQueuedWork(waiterSleeps: Bool) throws(DeviceError) -> DeviceEvent { .completed }
}

/// Copies between any two devices, choosing the backend that carries each copy out.
public enum DeviceCopies {
    /// Starts a copy of `byteCount` bytes between two allocations on any devices.
    ///
    /// The backend of a GPU taking part carries the copy out (the destination's when both are GPUs,
    /// unless only the source is a CUDA device); a copy between two host-addressable places where
    /// neither is a GPU is a plain `memcpy`. With `sourceIsSettled`, no work queued on the source's
    /// device is producing the source any more (see ``DeviceBackend/copy(from:at:to:at:byteCount:sourceIsSettled:)``).
    public static func copy(
        from source: DeviceAllocation,
        at sourceOffset: Int = 0,
        to destination: DeviceAllocation,
        at destinationOffset: Int = 0,
        byteCount: Int,
        sourceIsSettled: Bool = false
    ) throws(DeviceError) -> DeviceEvent {
        parlaPrecondition(
            sourceOffset >= 0 && sourceOffset + byteCount <= source.byteCount,
            "copy of \(byteCount) bytes at offset \(sourceOffset) reads past the \(source.byteCount) bytes of its source on \(source.device)"
        )
        parlaPrecondition(
            destinationOffset >= 0 && destinationOffset + byteCount <= destination.byteCount,
            "copy of \(byteCount) bytes at offset \(destinationOffset) writes past the \(destination.byteCount) bytes of its destination on \(destination.device)"
        )
        let carrier: any DeviceBackend
        if !source.backend.isHostAddressable && destination.backend.isHostAddressable {
            carrier = source.backend
        } else if destination.device.kind == .gpu || source.device.kind == .cpu {
            carrier = destination.backend
        } else {
            carrier = source.backend
        }
        return try carrier.copy(
            from: source,
            at: sourceOffset,
            to: destination,
            at: destinationOffset,
            byteCount: byteCount,
            sourceIsSettled: sourceIsSettled
        )
    }
}

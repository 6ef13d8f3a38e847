import Synchronization

/// The devices of a run: the CPU and its GPUs (virtual or CUDA), each with its backend.
///
/// One registry is current at a time: the one `Parla.run` made, or, outside any run, the default one
/// (``DeviceSelection/auto``, or `PARLA_DEVICES`), made on first use.
public final class DeviceRegistry: Sendable {
    /// What was asked for.
    public let selection: DeviceSelection

    /// The CPU's backend.
    public let host: HostBackend

    /// The GPUs' backends, `gpus[i]` driving `gpu(i)`.
    public let gpus: [any DeviceBackend]

    /// Whether the GPUs are real CUDA devices.
    public let usesCUDA: Bool

    /// Why `.auto` chose virtual GPUs, when it did (for example "libcuda.so.1 cannot be loaded").
    public let fallbackReason: String?

    /// How fast data moves between the devices (what the coherence protocol chooses sources by).
    public let links: DeviceLinks

    /// Every device: the GPUs in index order, then the CPU.
    public var devices: [Device] { self.gpus.map(\.device) + [.cpu] }

    /// A registry of the CPU and the given GPU backends.
    public init(
        selection: DeviceSelection,
        host: HostBackend,
        gpus: [any DeviceBackend],
        usesCUDA: Bool,
        fallbackReason: String? = nil,
        links: DeviceLinks? = nil
    ) {
        self.selection = selection
        self.host = host
        self.gpus = gpus
        self.usesCUDA = usesCUDA
        self.fallbackReason = fallbackReason
        self.links =
            links
            ?? DeviceLinks(devices: gpus.map(\.device) + [.cpu]) { from, to in
                // Virtual GPUs with a link model: their host link; nothing else is known.
                let gpu = from.kind == .gpu ? gpus[from.index] : to.kind == .gpu ? gpus[to.index] : nil
                guard from.kind != to.kind else { return nil }
                return (gpu as? VirtualGPU)?.link?.bytesPerSecond
            }
    }

    /// Makes the devices `selection` names.
    ///
    /// - Throws: ``DeviceError/cudaUnavailable(reason:)`` for `.cuda` without a usable GPU.
    public static func make(_ selection: DeviceSelection) throws(DeviceError) -> DeviceRegistry {
        switch selection {
        case .virtual(let count, let memory):
            parlaPrecondition(count >= 0, "the number of virtual GPUs cannot be negative (\(count))")
            return DeviceRegistry(
                selection: selection,
                host: HostBackend(),
                gpus: (0..<count).map { VirtualGPU(index: $0, capacity: memory) },
                usesCUDA: false
            )
        case .cuda:
            return try CUDASystem.makeRegistry(selection: selection)
        case .cudaSimulated(let gpus, let memory, let faults):
            parlaPrecondition(gpus >= 1, "a simulated CUDA machine needs at least one GPU, not \(gpus)")
            return try CUDASystem.makeSimulatedRegistry(
                selection: selection,
                configuration: SimulatedCUDA.Configuration(gpus: gpus, memory: memory, faults: faults)
            )
        case .auto:
            do {
                return try CUDASystem.makeRegistry(selection: selection)
            } catch {
                return DeviceRegistry(
                    selection: selection,
                    host: HostBackend(),
                    gpus: (0..<DeviceSelection.defaultVirtualGPUCount).map { VirtualGPU(index: $0) },
                    usesCUDA: false,
                    fallbackReason: error.description
                )
            }
        }
    }

    /// The backend of `device`.
    ///
    /// - Throws: ``DeviceError/noSuchDevice(_:available:)`` when this registry has no such device.
    public func backend(for device: Device) throws(DeviceError) -> any DeviceBackend {
        switch device.kind {
        case .cpu:
            return self.host
        case .gpu:
            guard device.index < self.gpus.count else { throw .noSuchDevice(device, available: self.devices) }
            return self.gpus[device.index]
        }
    }

    /// Waits for all queued work on every device.
    public func synchronize() throws(DeviceError) {
        for gpu in self.gpus { try gpu.synchronize() }
    }

    // MARK: The current registry

    private static let _current = Mutex<DeviceRegistry?>(nil)

    /// A registry bound to the current Swift task (and its child tasks) by ``withCurrent(_:_:)``.
    @TaskLocal
    public static var _taskCurrent: DeviceRegistry? = nil

    /// Runs `body` with `registry` as ``current`` for the calling Swift task only (other tasks and
    /// threads keep theirs).
    public static func withCurrent<R>(_ registry: DeviceRegistry, _ body: () throws -> R) rethrows -> R {
        try $_taskCurrent.withValue(registry) { try body() }
    }

    /// The registry in use: one bound to the calling Swift task (``withCurrent(_:_:)``), else the one
    /// installed by ``install(_:)`` (by `Parla.run`), else the default one, made from `PARLA_DEVICES`
    /// or ``DeviceSelection/auto`` on first use.
    public static var current: DeviceRegistry {
        if let bound = _taskCurrent { return bound }
        return _current.withLock { current in
            if let current { return current }
            let made = makeDefault()
            current = made
            return made
        }
    }

    /// Makes `registry` the current one and returns the one it replaces.
    @discardableResult
    public static func install(_ registry: DeviceRegistry?) -> DeviceRegistry? {
        _current.withLock { current in
            let previous = current
            current = registry
            return previous
        }
    }

    private static func makeDefault() -> DeviceRegistry {
        let selection: DeviceSelection
        do {
            selection = try DeviceSelection.fromEnvironment() ?? .auto
        } catch {
            fatalError("\(error)")
        }
        do {
            return try make(selection)
        } catch {
            fatalError("cannot make the devices PARLA_DEVICES=\(selection) names: \(error)")
        }
    }
}

import Synchronization

/// The devices of a run: the CPU and its GPUs (virtual or CUDA), each with its backend.
///
/// The current registry (``current``) is the one of the run the caller belongs to (its body or one of
/// its tasks), or, outside any run, the default one (``DeviceSelection/auto``, or `PARLA_DEVICES`), made
/// on first use.
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

    /// The faults a simulated CUDA machine's plan has injected so far (`nil`: none can be).
    private let countSimulatedFaults: (@Sendable () -> Int)?

    /// Every device: the GPUs in index order, then the CPU.
    public var devices: [Device] { self.gpus.map(\.device) + [.cpu] }

    /// A registry of the CPU and the given GPU backends.
    public init(
        selection: DeviceSelection,
        host: HostBackend,
        gpus: [any DeviceBackend],
        usesCUDA: Bool,
        fallbackReason: String? = nil,
        links: DeviceLinks? = nil,
        countSimulatedFaults: (@Sendable () -> Int)? = nil
    ) {
        // (The runtime keeps the holders of an array's pieces as one bit per device.)
        parlaPrecondition(gpus.count <= 63, "Parla drives at most 63 GPUs at once (\(gpus.count) given)")
        self.countSimulatedFaults = countSimulatedFaults
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
                gpus: try Self.virtualGPUs(count, capacity: memory),
                usesCUDA: false
            )
        case .virtualWithFaults(let count, let memory, let faults):
            parlaPrecondition(count >= 0, "the number of virtual GPUs cannot be negative (\(count))")
            let capacity = try DeviceMemoryLimit.applied(to: memory)
            return DeviceRegistry(
                selection: selection,
                host: HostBackend(),
                gpus: (0..<count).map { index in
                    var plan = faults
                    plan.seed = faults.seed &+ UInt64(index) &* 0x9E37_79B9
                    return VirtualGPU(index: index, capacity: capacity, faults: plan)
                },
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
                    gpus: try Self.virtualGPUs(DeviceSelection.defaultVirtualGPUCount, capacity: nil),
                    usesCUDA: false,
                    fallbackReason: error.description
                )
            }
        }
    }

    /// `count` virtual GPUs of `capacity` bytes each, under the cap of `PARLA_DEVICE_MEMORY`.
    private static func virtualGPUs(_ count: Int, capacity: Int?) throws(DeviceError) -> [VirtualGPU] {
        let capacity = try DeviceMemoryLimit.applied(to: capacity)
        return (0..<count).map { VirtualGPU(index: $0, capacity: capacity) }
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

    /// How many calls a ``DeviceFaults`` plan has made fail on these devices so far.
    public var faultsInjected: Int {
        let virtual = self.gpus.reduce(0) { $0 + (($1 as? VirtualGPU)?.faultsInjected ?? 0) }
        return virtual + (self.countSimulatedFaults?() ?? 0)
    }

    /// Waits for all queued work on every device.
    public func synchronize() throws(DeviceError) {
        for gpu in self.gpus { try gpu.synchronize() }
    }

    // MARK: The current registry

    /// The default registry (made on first use, or set by ``install(_:)``) and the registries of the
    /// runs in progress, in the order they started.
    private static let installed = Mutex<(fallback: DeviceRegistry?, runs: [DeviceRegistry])>((nil, []))

    /// Runs `body` with `registry` as ``current`` for the calling Swift task only (other tasks and
    /// threads keep theirs).
    public static func withCurrent<R>(_ registry: DeviceRegistry, _ body: () throws -> R) rethrows -> R {
        var context = TaskContext.current ?? TaskContext()
        context.registry = registry
        return try TaskContext.$current.withValue(context) { try body() }
    }

    /// The registry in use: one bound to the calling Swift task (``withCurrent(_:_:)``, or a run's body);
    /// else, in a task's body, its run's; else the registry of the run in progress (of the first one
    /// started, when several are); else the default one: the one ``install(_:)`` set, or one made
    /// from `PARLA_DEVICES` or ``DeviceSelection/auto`` on first use.
    public static var current: DeviceRegistry {
        if let bound = TaskContext.current?.registry { return bound }
        let (first, several) = installed.withLock { state -> (DeviceRegistry, Bool) in
            switch state.runs.count {
            case 0:
                if let fallback = state.fallback { return (fallback, false) }
                let made = makeDefault()
                state.fallback = made
                return (made, false)
            case 1: return (state.runs[0], false)
            default: return (state.runs[0], true)
            }
        }
        // With several runs in progress, a synchronous task body finds its run through its task.
        if several, let task = RunningTask.sink { return task.deviceRegistry }
        return first
    }

    /// Makes `registry` the default one (used outside runs) and returns the one it replaces.
    @discardableResult
    public static func install(_ registry: DeviceRegistry?) -> DeviceRegistry? {
        installed.withLock { state in
            let previous = state.fallback
            state.fallback = registry
            return previous
        }
    }

    /// Records that a run using `registry` has started (``current`` outside tasks gives the registry of
    /// the run in progress).
    package static func runStarted(with registry: DeviceRegistry) {
        installed.withLock { $0.runs.append(registry) }
    }

    /// Records that a run using `registry` has ended.
    package static func runEnded(with registry: DeviceRegistry) {
        installed.withLock { state in
            if let position = state.runs.firstIndex(where: { $0 === registry }) { state.runs.remove(at: position) }
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

import CCUDADriver
import Synchronization

/// A set of CUDA GPUs driven through one driver: the machine's real GPUs, or a simulated machine.
/// Contexts, streams and compiled kernels belong to the process, so each machine is made once and
/// shared by every registry that uses it (arrays made in one run keep working in the next).
final class CUDAMachine: Sendable {
    let gpus: [CUDAGPU]
    /// The host backend of registries using these GPUs: large host blocks are pinned.
    let host: HostBackend
    /// The simulated driver's state, for a simulated machine.
    let simulation: SimulatedCUDA.Machine?
    /// How fast data moves between the GPUs and the host: measured on real GPUs, nominal on
    /// simulated ones.
    let links: DeviceLinks

    /// Opens the devices with CUDA ordinals `ordinals` as gpu(0), gpu(1), ..., and links them.
    init(
        driver: CUDADriver,
        compiler: any CUDAKernelCompiler,
        ordinals: [Int],
        simulation: SimulatedCUDA.Machine?
    ) throws(DeviceError) {
        let images = CUDAKernelImages(compiler: compiler)
        var gpus: [CUDAGPU] = []
        for (index, ordinal) in ordinals.enumerated() {
            gpus.append(try CUDAGPU(ordinal: ordinal, index: index, driver: driver, kernelImages: images))
        }
        for gpu in gpus { gpu.connectPeers(gpus) }
        let host = HostBackend(pinning: gpus.first.map { PinnedMemoryPool(gpu: $0) })
        self.gpus = gpus
        self.host = host
        self.simulation = simulation
        let devices = gpus.map(\.device) + [.cpu]
        if simulation != nil {
            self.links = DeviceLinks(devices: devices) { from, to in
                if from.kind == .cpu || to.kind == .cpu { return Self.nominalHostLink }
                return gpus[to.index].copiesDirectly(from: gpus[from.index])
                    ? Self.nominalPeerLink : Self.nominalHostLink / 2
            }
        } else {
            self.links = Self.measureLinks(gpus: gpus, host: host) ?? .uniform
        }
    }

    /// An H200 host's links, for simulated machines: NVLink between GPUs, PCIe 5 to the host.
    static let nominalPeerLink = 385e9
    static let nominalHostLink = 55e9

    /// Times one 32 MiB copy (the best of two) over every link, through the backend's own copy path;
    /// `nil` when a copy fails.
    static func measureLinks(gpus: [CUDAGPU], host: HostBackend) -> DeviceLinks? {
        let bytes = 32 << 20
        do throws(DeviceError) {
            var blocks: [Device: DeviceAllocation] = [.cpu: try host.allocate(byteCount: bytes)]
            for gpu in gpus { blocks[gpu.device] = try gpu.allocate(byteCount: bytes) }
            var measured: [Device: [Device: Double]] = [:]
            let clock = ContinuousClock()
            for (from, source) in blocks {
                for (to, destination) in blocks where from != to {
                    var best = Duration.seconds(1000)
                    for _ in 0..<3 {
                        let start = clock.now
                        try DeviceCopies.copy(from: source, to: destination, byteCount: bytes).wait()
                        best = Swift.min(best, start.duration(to: clock.now))
                    }
                    let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) * 1e-18
                    measured[from, default: [:]][to] = Double(bytes) / Swift.max(seconds, 1e-9)
                }
            }
            return DeviceLinks(devices: gpus.map(\.device) + [.cpu]) { measured[$0]?[$1] }
        } catch {
            return nil
        }
    }
}

/// Finds CUDA GPUs, real or simulated, and makes their machines.
enum CUDASystem {
    /// The machine's real GPUs (or the reason there are none), loaded once per process.
    static let real: Result<CUDAMachine, DeviceError> = {
        do throws(DeviceError) {
            let driver = try CUDADriver(entryPoints: try CUDADriverEntryPoints.load(), isSimulated: false)
            let count = try driver.deviceCount()
            if count == 0 { throw .cudaUnavailable(reason: "the CUDA driver reports no devices") }
            let machine = try CUDAMachine(
                driver: driver,
                compiler: try NVRTC(),
                ordinals: Array(0..<count),
                simulation: nil
            )
            return .success(machine)
        } catch {
            return .failure(error)
        }
    }()

    /// Simulated machines, one per configuration, made on first use.
    private static let simulated = Mutex<[SimulatedCUDA.Configuration: CUDAMachine]>([:])

    /// The simulated machine of `configuration`.
    static func simulatedMachine(_ configuration: SimulatedCUDA.Configuration) throws(DeviceError) -> CUDAMachine {
        try simulated.withLock { (machines) throws(DeviceError) -> CUDAMachine in
            if let machine = machines[configuration] { return machine }
            let simulation = SimulatedCUDA.addMachine(configuration)
            let machine = try CUDAMachine(
                driver: try SimulatedCUDA.driver(),
                compiler: SimulatedCUDA.Compiler(),
                ordinals: simulation.ordinals,
                simulation: simulation
            )
            machines[configuration] = machine
            return machine
        }
    }

    /// A registry of every real CUDA GPU, or ``DeviceError/cudaUnavailable(reason:)``.
    static func makeRegistry(selection: DeviceSelection) throws(DeviceError) -> DeviceRegistry {
        try real.get().registry(selection: selection)
    }

    /// A registry of a simulated machine.
    static func makeSimulatedRegistry(
        selection: DeviceSelection,
        configuration: SimulatedCUDA.Configuration
    ) throws(DeviceError) -> DeviceRegistry {
        try simulatedMachine(configuration).registry(selection: selection)
    }
}

extension CUDAMachine {
    /// A registry of this machine's GPUs and pinned host, for `selection`.
    func registry(selection: DeviceSelection) -> DeviceRegistry {
        var countFaults: (@Sendable () -> Int)? = nil
        if let machine = self.simulation { countFaults = { machine.injectedFaults } }
        return DeviceRegistry(
            selection: selection,
            host: self.host,
            gpus: self.gpus,
            usesCUDA: true,
            links: self.links,
            countSimulatedFaults: countFaults
        )
    }
}

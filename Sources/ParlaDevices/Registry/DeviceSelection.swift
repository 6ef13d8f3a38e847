#if canImport(Glibc)
import Glibc
#endif

/// Which devices a run uses. Parla (Python) equivalent: the devices registered at import, or a
/// `dev_config_file` of virtual devices.
///
/// The environment variable `PARLA_DEVICES` (`auto`, `cuda`, `virtual:N`, `virtual:N:BYTES`,
/// `cuda-simulated:N`, `cuda-simulated:N:BYTES`) overrides the default ``auto``.
public enum DeviceSelection: Hashable, Sendable, CustomStringConvertible {
    /// Real CUDA GPUs when the driver loads and reports at least one, otherwise 4 virtual GPUs.
    case auto
    /// `gpus` GPUs simulated in host memory, each with its own memory of `memory` bytes (unbounded when `nil`).
    case virtual(gpus: Int, memory: Int? = nil)
    /// Real CUDA GPUs only; choosing devices fails with a clear error when there are none.
    case cuda
    /// `gpus` CUDA GPUs simulated in host memory by a stand-in for the CUDA driver, driven by the CUDA
    /// backend's own code (streams, events, contexts, peer copies, staging, kernel launches) under the
    /// driver's ownership rules; each with `memory` bytes (16 GiB when `nil`). `faults` makes chosen
    /// driver calls fail. This is how the CUDA backend is tested on machines without a GPU; arrays'
    /// values on these GPUs are computed by the host.
    case cudaSimulated(gpus: Int, memory: Int? = nil, faults: DeviceFaults? = nil)
    /// `gpus` virtual GPUs (see ``virtual(gpus:memory:)``) whose allocations and copies fail as
    /// `faults` says (each GPU draws its random faults from a generator of its own, seeded from
    /// `faults.seed` and its index). For fault-injection tests.
    case virtualWithFaults(gpus: Int, memory: Int? = nil, faults: DeviceFaults)

    /// The number of virtual GPUs `.auto` falls back to.
    public static let defaultVirtualGPUCount = 4

    /// The selection named by `PARLA_DEVICES`, or `nil` when the variable is unset or empty.
    ///
    /// - Throws: ``DeviceError/invalidSelection(_:)`` when the variable is set to something else.
    public static func fromEnvironment() throws(DeviceError) -> DeviceSelection? {
        guard let raw = getenv("PARLA_DEVICES") else { return nil }
        let text = String(cString: raw)
        if text.isEmpty { return nil }
        return try DeviceSelection(parsing: text)
    }

    /// Parses `auto`, `cuda`, `virtual:N`, `virtual:N:BYTES`, `cuda-simulated:N` or
    /// `cuda-simulated:N:BYTES`.
    public init(parsing text: String) throws(DeviceError) {
        let parts = text.lowercased().split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func counts(_ kind: String, least: Int) throws(DeviceError) -> (gpus: Int, memory: Int?) {
            guard let count = Int(parts[1]), count >= least else {
                throw .invalidSelection(
                    "'\(text)': the number of \(kind) GPUs must be a whole number, \(least) or more"
                )
            }
            var memory: Int? = nil
            if parts.count == 3 {
                guard let bytes = Int(parts[2]), bytes >= 0 else {
                    throw .invalidSelection("'\(text)': the memory of each \(kind) GPU must be a number of bytes")
                }
                memory = bytes
            }
            return (count, memory)
        }
        switch parts.first {
        case "auto" where parts.count == 1:
            self = .auto
        case "cuda" where parts.count == 1:
            self = .cuda
        case "virtual" where parts.count == 2 || parts.count == 3:
            let (gpus, memory) = try counts("virtual", least: 0)
            self = .virtual(gpus: gpus, memory: memory)
        case "cuda-simulated" where parts.count == 2 || parts.count == 3:
            let (gpus, memory) = try counts("simulated", least: 1)
            self = .cudaSimulated(gpus: gpus, memory: memory)
        default:
            throw .invalidSelection(
                "'\(text)'; expected auto, cuda, virtual:N, virtual:N:BYTES, cuda-simulated:N or cuda-simulated:N:BYTES (PARLA_DEVICES)"
            )
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .cuda: return "cuda"
        case .virtual(let gpus, let memory):
            return memory.map { "virtual:\(gpus):\($0)" } ?? "virtual:\(gpus)"
        case .virtualWithFaults(let gpus, let memory, let faults):
            return (memory.map { "virtual:\(gpus):\($0)" } ?? "virtual:\(gpus)") + " (faults: \(faults))"
        case .cudaSimulated(let gpus, let memory, let faults):
            return (memory.map { "cuda-simulated:\(gpus):\($0)" } ?? "cuda-simulated:\(gpus)")
                + (faults.map { " (faults: \($0))" } ?? "")
        }
    }
}

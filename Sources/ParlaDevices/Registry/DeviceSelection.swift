#if canImport(Glibc)
import Glibc
#endif

/// Which devices a run uses. Parla (Python) equivalent: the devices registered at import, or a
/// `dev_config_file` of virtual devices.
///
/// The environment variable `PARLA_DEVICES` (`auto`, `cuda`, `virtual:N`, `virtual:N:BYTES`) overrides
/// the default ``auto``.
public enum DeviceSelection: Hashable, Sendable, CustomStringConvertible {
    /// Real CUDA GPUs when the driver loads and reports at least one, otherwise 4 virtual GPUs.
    case auto
    /// `gpus` GPUs simulated in host memory, each with its own memory of `memory` bytes (unbounded when `nil`).
    case virtual(gpus: Int, memory: Int? = nil)
    /// Real CUDA GPUs only; choosing devices fails with a clear error when there are none.
    case cuda

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

    /// Parses `auto`, `cuda`, `virtual:N` or `virtual:N:BYTES`.
    public init(parsing text: String) throws(DeviceError) {
        let parts = text.lowercased().split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch parts.first {
        case "auto" where parts.count == 1:
            self = .auto
        case "cuda" where parts.count == 1:
            self = .cuda
        case "virtual" where parts.count == 2 || parts.count == 3:
            guard let count = Int(parts[1]), count >= 0 else {
                throw .invalidSelection("'\(text)': the number of virtual GPUs must be a whole number, 0 or more")
            }
            var memory: Int? = nil
            if parts.count == 3 {
                guard let bytes = Int(parts[2]), bytes >= 0 else {
                    throw .invalidSelection("'\(text)': the memory of each virtual GPU must be a number of bytes")
                }
                memory = bytes
            }
            self = .virtual(gpus: count, memory: memory)
        default:
            throw .invalidSelection("'\(text)'; expected auto, cuda, virtual:N or virtual:N:BYTES (PARLA_DEVICES)")
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .cuda: return "cuda"
        case .virtual(let gpus, let memory):
            return memory.map { "virtual:\(gpus):\($0)" } ?? "virtual:\(gpus)"
        }
    }
}

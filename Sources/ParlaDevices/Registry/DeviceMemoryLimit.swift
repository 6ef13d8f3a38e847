#if canImport(Glibc)
import Glibc
#endif

/// A cap on the memory the runtime uses on each GPU, set with the environment variable
/// `PARLA_DEVICE_MEMORY` (a number of bytes, or with a binary suffix: `512M`, `8G`). A GPU then counts
/// as having the smaller of its own memory and the cap: its allocations past the cap fail as they would
/// on a full device, and the runtime evicts `PArray` copies to make room. For running problems larger
/// than GPU memory on any machine, and for testing eviction on real GPUs.
///
/// Parla (Python) equivalent: none (Parla neither caps nor evicts; StarPU has `STARPU_LIMIT_CUDA_MEM`).
public enum DeviceMemoryLimit {
    /// The cap `PARLA_DEVICE_MEMORY` sets, or `nil` when it is unset or empty.
    ///
    /// - Throws: ``DeviceError/invalidSelection(_:)`` when the variable is not a number of bytes.
    public static func fromEnvironment() throws(DeviceError) -> Int? {
        guard let raw = getenv("PARLA_DEVICE_MEMORY") else { return nil }
        let text = String(cString: raw)
        if text.isEmpty { return nil }
        return try Self.bytes(parsing: text)
    }

    /// Parses `12345`, `64K`, `512M`, `8G` (binary units; `KiB`, `MiB`, `GiB` too).
    public static func bytes(parsing text: String) throws(DeviceError) -> Int {
        let trimmed = text.trimmingSuffix("iB").trimmingSuffix("B")
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var number = Substring(trimmed)
        var scale = 1
        if let last = number.last?.uppercased().first, let unit = units[last] {
            scale = unit
            number = number.dropLast()
        }
        guard let value = Int(number), value >= 0, value <= Int.max / scale else {
            throw .invalidSelection(
                "PARLA_DEVICE_MEMORY='\(text)': expected a number of bytes per GPU, such as 1073741824, 512M or 8G"
            )
        }
        return value * scale
    }

    /// `capacity` under the cap of `PARLA_DEVICE_MEMORY` (`nil`: unbounded).
    static func applied(to capacity: Int?) throws(DeviceError) -> Int? {
        guard let cap = try Self.fromEnvironment() else { return capacity }
        return capacity.map { Swift.min($0, cap) } ?? cap
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        self.uppercased().hasSuffix(suffix.uppercased()) ? String(self.dropLast(suffix.count)) : self
    }
}

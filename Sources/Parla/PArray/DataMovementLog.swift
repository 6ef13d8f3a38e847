import ParlaDevices
import Synchronization

/// Bytes moved between devices for `PArray`s, per link (source, destination), by the run in progress
/// (``currentRun``).
public enum DataMovementLog {
    /// A directed link between two devices.
    public struct Link: Hashable, Sendable, CustomStringConvertible {
        /// Where data came from.
        public var source: Device
        /// Where it went.
        public var destination: Device
        /// `cpu -> gpu(0)`.
        public var description: String { "\(self.source) -> \(self.destination)" }
    }

    /// Adds `count` bytes moved from `source` to `destination`.
    static func record(_ count: Int, from source: Device, to destination: Device, run: RunScope?) {
        let link = Link(source: source, destination: destination)
        run?.movement.withLock { $0[link, default: 0] += count }
    }

    /// The bytes moved per link by the `Parla.run` whose body (or task) asks: its tasks' movements
    /// and its body's reads (empty outside a run), CPU-to-GPU links first, then by device.
    public static var currentRun: [(link: Link, bytes: Int)] {
        sorted((RunScope.currentTask?.scope ?? RunScope.awaiterScope)?.movement.withLock { $0 } ?? [:])
    }

    /// What eviction did in the `Parla.run` whose body (or task) asks, when a device's memory was full
    /// (see ``EvictionCounts``; empty outside a run).
    public static var currentRunEvictions: EvictionCounts {
        (RunScope.currentTask?.scope ?? RunScope.awaiterScope)?.evictions.withLock { $0 } ?? EvictionCounts()
    }

    private static func sorted(_ all: [Link: Int]) -> [(link: Link, bytes: Int)] {
        func key(_ device: Device) -> Int { device.kind == .cpu ? -1 : device.index }
        return all.map { ($0.key, $0.value) }.sorted {
            (key($0.0.source), key($0.0.destination)) < (key($1.0.source), key($1.0.destination))
        }
    }
}

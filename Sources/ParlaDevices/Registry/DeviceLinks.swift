/// How fast data moves between each pair of devices of a registry, in bytes per second: what the
/// coherence protocol weighs when it chooses where to fetch a region from.
///
/// On real CUDA GPUs the links are measured once per process (a short copy over each one); simulated
/// CUDA GPUs have the nominal links of an H200 host (NVLink between GPUs, PCIe to the host); virtual
/// GPUs have their ``VirtualGPU/LinkModel`` to the host, or no figures at all (``uniform``).
public struct DeviceLinks: Hashable, Sendable, CustomStringConvertible {
    /// `bandwidths[from][to]` by device position (GPU `i` at `i`, the CPU last), `nil` when unknown.
    private let bandwidths: [[Double?]]

    /// Links with no figures: every source is as good as another.
    public static let uniform = DeviceLinks(bandwidths: [])

    /// Links with the bandwidths `bandwidth(from, to)` gives between `devices` (the GPUs in order, then
    /// the CPU), `nil` where unknown.
    public init(devices: [Device], bandwidth: (Device, Device) -> Double?) {
        self.bandwidths = devices.map { from in devices.map { to in from == to ? nil : bandwidth(from, to) } }
    }

    private init(bandwidths: [[Double?]]) { self.bandwidths = bandwidths }

    private func position(_ device: Device) -> Int {
        device.kind == .cpu ? self.bandwidths.count - 1 : device.index
    }

    /// Bytes per second from `source` to `destination`, or `nil` when unknown.
    public func bandwidth(from source: Device, to destination: Device) -> Double? {
        guard !self.bandwidths.isEmpty else { return nil }
        let (from, to) = (self.position(source), self.position(destination))
        guard from >= 0, to >= 0, from < self.bandwidths.count, to < self.bandwidths.count else { return nil }
        return self.bandwidths[from][to]
    }

    /// One line per source device with known links: `gpu(0) -> gpu(1) 381.2, cpu 54.9 GB/s`.
    public var description: String {
        let count = self.bandwidths.count
        let devices = (0..<count).map { $0 == count - 1 ? Device.cpu : Device.gpu($0) }
        var lines: [String] = []
        for from in devices {
            let known = devices.compactMap { to in
                self.bandwidth(from: from, to: to).map { "\(to) \(($0 / 1e8).rounded() / 10)" }
            }
            if !known.isEmpty { lines.append("\(from) -> \(known.joined(separator: ", ")) GB/s") }
        }
        return lines.isEmpty ? "no link figures" : lines.joined(separator: "\n")
    }
}

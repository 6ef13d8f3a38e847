import ParlaDevices

/// Where a task may run: a device (`gpu(1)`, `cpu`), an architecture (`gpu`: any GPU), or an array of
/// them meaning any one of these (`[cpu, gpu]`, `[gpu(0), gpu(1)]`).
///
/// Parla (Python) equivalent: the `placement=` argument of `@spawn`.
///
/// A type of your own can be a placement too, by saying which devices it allows:
///
/// ```swift
/// struct EvenGPUs: Placement {
///     func resolvedPlacement(gpuCount: Int) -> ResolvedPlacement {
///         ResolvedPlacement(allowing: stride(from: 0, to: gpuCount, by: 2).map { gpu($0) })
///     }
/// }
/// ```
public protocol Placement: Sendable {
    /// The devices this placement allows in a run with `gpuCount` GPUs (and the CPU).
    func resolvedPlacement(gpuCount: Int) -> ResolvedPlacement
}

/// The devices a ``Placement`` allows, as `spawn` reads them.
public struct ResolvedPlacement: Sendable {
    let spec: PlacementSpec

    init(_ spec: PlacementSpec) { self.spec = spec }

    /// Any one of `devices` (duplicates count once; none at all fails the task at spawn).
    public init(allowing devices: [Device]) {
        var unique: [Device] = []
        for device in devices where !unique.contains(device) { unique.append(device) }
        self.spec = unique.count == 1 ? .one(unique[0]) : .several(unique)
    }

    /// Any device of the run.
    public static var anyDevice: ResolvedPlacement { ResolvedPlacement(.any) }

    /// The devices allowed among a run's `gpuCount` GPUs and the CPU.
    public func devices(gpuCount: Int) -> [Device] {
        switch self.spec {
        case .any: return (0..<gpuCount).map { .gpu($0) } + [.cpu]
        case .one(let device): return [device]
        case .several(let devices): return devices
        }
    }
}

extension Device: Placement {
    /// This device.
    public func resolvedPlacement(gpuCount: Int) -> ResolvedPlacement { ResolvedPlacement(.one(self)) }
}

extension GPUArchitecture: Placement {
    /// Any GPU of the run.
    public func resolvedPlacement(gpuCount: Int) -> ResolvedPlacement {
        ResolvedPlacement(allowing: (0..<gpuCount).map { .gpu($0) })
    }
}

extension Array: Placement where Element == any Placement {
    /// Any device that one of the elements allows.
    public func resolvedPlacement(gpuCount: Int) -> ResolvedPlacement {
        ResolvedPlacement(
            allowing: self.flatMap { $0.resolvedPlacement(gpuCount: gpuCount).devices(gpuCount: gpuCount) }
        )
    }
}

/// Any device of the run: the default placement.
public struct AnyDevice: Placement, Hashable {
    /// The default placement.
    public init() {}

    /// Any device of the run.
    public func resolvedPlacement(gpuCount: Int) -> ResolvedPlacement { .anyDevice }
}

extension Placement where Self == AnyDevice {
    /// Any device of the run (the default placement).
    public static var anyDevice: AnyDevice { AnyDevice() }
}

import ParlaDevices

/// Where a task may run: a device (`gpu(1)`, `cpu`), an architecture (`gpu`: any GPU), an array of
/// them meaning any one of these (`[cpu, gpu]`, `[gpu(0), gpu(1)]`), or several devices at once
/// (``DeviceGroup``: `DeviceGroup(gpu(0), gpu(1))`, `gpu * 2`, and arrays of groups meaning any one).
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

    /// Any one of `groups`, each a set of devices the task runs on at once, in the order the task sees
    /// them (duplicate sets count once; none at all fails the task at spawn).
    /// - Precondition: the groups have the same number of devices, and each names a device once.
    public init(choosingAmongGroups groups: [[Device]]) {
        var unique: [[Device]] = []
        for group in groups where !unique.contains(group) {
            parlaPrecondition(
                group.count == groups[0].count,
                "a placement chooses among device groups of different sizes (\(groups[0]) and \(group)): a task's devices are counted at spawn"
            )
            parlaPrecondition(Set(group).count == group.count, "the device group \(group) names a device twice")
            unique.append(group)
        }
        // (Groups of one device are a placement of single devices.)
        self.spec =
            !unique.isEmpty && unique.allSatisfy { $0.count == 1 }
            ? ResolvedPlacement(allowing: unique.map { $0[0] }).spec : .groups(unique)
    }

    /// Any device of the run.
    public static var anyDevice: ResolvedPlacement { ResolvedPlacement(.any) }

    /// The devices allowed among a run's `gpuCount` GPUs and the CPU (for device groups, every device
    /// of any of them).
    public func devices(gpuCount: Int) -> [Device] {
        switch self.spec {
        case .any: return (0..<gpuCount).map { .gpu($0) } + [.cpu]
        case .one(let device): return [device]
        case .several(let devices): return devices
        case .groups(let groups):
            var devices: [Device] = []
            for device in groups.joined() where !devices.contains(device) { devices.append(device) }
            return devices
        }
    }

    /// The device groups this placement chooses among (each device its own group of one, for a
    /// placement of single devices).
    func groups(gpuCount: Int) -> [[Device]] {
        if case .groups(let groups) = self.spec { return groups }
        return self.devices(gpuCount: gpuCount).map { [$0] }
    }

    /// Whether this placement runs a task on several devices at once.
    var isGroup: Bool {
        if case .groups = self.spec { return true }
        return false
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
    /// Any device that one of the elements allows; when an element is a ``DeviceGroup``, any one of
    /// the device sets the elements allow.
    public func resolvedPlacement(gpuCount: Int) -> ResolvedPlacement {
        let resolved = self.map { $0.resolvedPlacement(gpuCount: gpuCount) }
        if resolved.contains(where: \.isGroup) {
            return ResolvedPlacement(choosingAmongGroups: resolved.flatMap { $0.groups(gpuCount: gpuCount) })
        }
        return ResolvedPlacement(allowing: resolved.flatMap { $0.devices(gpuCount: gpuCount) })
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

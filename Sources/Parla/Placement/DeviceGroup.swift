import ParlaDevices

/// A multi-device placement: the task runs on several devices at once, one for each member, all
/// distinct. A member is a device (`gpu(0)`, `cpu`) or an architecture (`gpu`: any GPU not already
/// taken by another member).
///
/// ```swift
/// spawn(T[0], placement: DeviceGroup(gpu(0), gpu(1)), input: [A.forDevice(0), A.forDevice(1)]) { ... }
/// spawn(T[1], placement: gpu * 2) { ... }                       // any two GPUs
/// spawn(T[2], placement: DeviceGroup(cpu, gpu)) { ... }         // the CPU and any one GPU
/// spawn(T[3], placement: [DeviceGroup(gpu(0), gpu(1)), DeviceGroup(gpu(2), gpu(3))]) { ... }
/// ```
///
/// Inside the body, `CurrentTask.current!.devices` lists the devices in member order, and
/// ``CurrentTask/forEachDevice(_:)`` runs a closure on each of them at once. A region declared with
/// ``PArray/forDevice(_:)`` is moved to that member's device; one declared plainly as `input` is moved
/// to every device of the task.
///
/// Parla (Python) equivalent: a tuple in the placement, `placement=[(gpu(0), gpu(1))]`, `gpu*2`,
/// `(cpu, gpu)`.
public struct DeviceGroup: Placement, CustomStringConvertible {
    /// The members, each a device or an architecture.
    private let members: [Member]

    /// One member of a group.
    private enum Member: Sendable, CustomStringConvertible {
        case device(Device)
        case anyGPU

        var description: String {
            switch self {
            case .device(let device): return device.description
            case .anyGPU: return "gpu"
            }
        }
    }

    /// A group of the given devices, in this order.
    public init(_ devices: Device...) {
        self.init(devices: devices)
    }

    /// A group of the given devices, in this order.
    public init(devices: [Device]) {
        parlaPrecondition(!devices.isEmpty, "a device group needs at least one device")
        for (position, device) in devices.enumerated() {
            parlaPrecondition(
                !devices[..<position].contains(device),
                "the device group \(devices) names \(device) twice: a task's devices are distinct"
            )
        }
        self.members = devices.map { .device($0) }
    }

    /// The CPU and any one GPU (`DeviceGroup(cpu, gpu)`; Parla: `(cpu, gpu)`).
    public init(_ device: Device, _ architecture: GPUArchitecture) {
        self.members = [.device(device), .anyGPU]
    }

    /// `count` GPUs, any of the run's (`gpu * 2`; Parla: `gpu*2`).
    public init(anyGPUs count: Int) {
        parlaPrecondition(count > 0, "a device group needs at least one member (asked for \(count) GPUs)")
        self.members = Array(repeating: .anyGPU, count: count)
    }

    /// `(gpu(0), gpu(1))`.
    public var description: String { "(" + self.members.map(\.description).joined(separator: ", ") + ")" }

    /// The device sets this group may be given in a run with `gpuCount` GPUs, each in member order.
    public func resolvedPlacement(gpuCount: Int) -> ResolvedPlacement {
        ResolvedPlacement(choosingAmongGroups: self.deviceSets(gpuCount: gpuCount))
    }

    /// Every assignment of distinct devices to the members (devices of the run only), one per set of
    /// devices: `gpu * 2` on 3 GPUs is `[gpu(0), gpu(1)]`, `[gpu(0), gpu(2)]`, `[gpu(1), gpu(2)]`.
    func deviceSets(gpuCount: Int) -> [[Device]] {
        var sets: [[Device]] = []
        var seen = Set<[Device]>()
        var chosen: [Device] = []
        func assign(_ position: Int) {
            if position == self.members.count {
                if seen.insert(chosen.sorted(by: Device.runOrder)).inserted { sets.append(chosen) }
                return
            }
            let allowed: [Device]
            switch self.members[position] {
            case .device(let device): allowed = [device]
            case .anyGPU: allowed = (0..<gpuCount).map { .gpu($0) }
            }
            for device in allowed where !chosen.contains(device) {
                chosen.append(device)
                assign(position + 1)
                chosen.removeLast()
            }
        }
        assign(0)
        return sets
    }
}

extension GPUArchitecture {
    /// `count` GPUs for one task: any `count` distinct GPUs of the run.
    ///
    /// Parla (Python) equivalent: `gpu*2`.
    public static func * (architecture: GPUArchitecture, count: Int) -> DeviceGroup {
        DeviceGroup(anyGPUs: count)
    }
}

extension Device {
    /// GPUs by index, then the CPU: the order device sets are compared in.
    static func runOrder(_ a: Device, _ b: Device) -> Bool {
        switch (a.kind, b.kind) {
        case (.gpu, .gpu): return a.index < b.index
        case (.gpu, .cpu): return true
        default: return false
        }
    }
}

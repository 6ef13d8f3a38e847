import ParlaDevices

/// Where a task may run: a device (`gpu(1)`, `cpu`), an architecture (`gpu`: any GPU), or an array of
/// them meaning any one of these (`[cpu, gpu]`, `[gpu(0), gpu(1)]`).
///
/// Parla (Python) equivalent: the `placement=` argument of `@spawn`.
public protocol Placement: Sendable {
    /// Appends the devices this placement allows. Implementation detail of the runtime.
    func _appendDevices(to list: inout [Device], gpuCount: Int)

    /// The one device this placement names, when it is a device (resolved without a dynamic cast).
    /// Implementation detail of the runtime.
    var _singleDevice: Device? { get }

    /// Whether this placement is ``AnyDevice``. Implementation detail of the runtime.
    var _isAnyDevice: Bool { get }
}

extension Placement {
    public var _singleDevice: Device? { nil }
    public var _isAnyDevice: Bool { false }
}

extension Device: Placement {
    public func _appendDevices(to list: inout [Device], gpuCount: Int) {
        if !list.contains(self) { list.append(self) }
    }

    public var _singleDevice: Device? { self }
}

extension GPUArchitecture: Placement {
    /// Any GPU of the run.
    public func _appendDevices(to list: inout [Device], gpuCount: Int) {
        for index in 0..<gpuCount where !list.contains(.gpu(index)) { list.append(.gpu(index)) }
    }
}

extension Array: Placement where Element == any Placement {
    /// Any device that one of the elements allows.
    public func _appendDevices(to list: inout [Device], gpuCount: Int) {
        for element in self { element._appendDevices(to: &list, gpuCount: gpuCount) }
    }
}

/// Any device of the run: the default placement.
public struct AnyDevice: Placement, Hashable {
    /// The default placement.
    public init() {}

    public var _isAnyDevice: Bool { true }

    public func _appendDevices(to list: inout [Device], gpuCount: Int) {
        for index in 0..<gpuCount where !list.contains(.gpu(index)) { list.append(.gpu(index)) }
        if !list.contains(.cpu) { list.append(.cpu) }
    }
}

extension Placement where Self == AnyDevice {
    /// Any device of the run (the default placement).
    public static var anyDevice: AnyDevice { AnyDevice() }
}

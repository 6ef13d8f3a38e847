import ParlaDevices

/// A set of devices as one bit each (bit 0 the CPU, bit `i + 1` GPU `i`): the holders of a piece of an
/// array, compared and combined without allocating.
struct DeviceSet: Hashable, Sendable, Sequence {
    /// The bits.
    var mask: UInt64

    /// The most GPUs a set can name (the registry refuses more).
    static var maximumGPUs: Int { 63 }

    /// The empty set.
    init() { self.mask = 0 }

    /// The set of one device.
    init(_ device: Device) { self.mask = Self.bit(device) }

    /// The set of `devices`.
    init(_ devices: Set<Device>) {
        self.mask = devices.reduce(0) { $0 | Self.bit($1) }
    }

    /// The bit of `device`.
    static func bit(_ device: Device) -> UInt64 {
        let position = device.index + 1
        parlaPrecondition(position < 64, "\(device) is past the \(Self.maximumGPUs) GPUs Parla can track")
        return 1 << UInt64(position)
    }

    /// The bit position of `device` (0 for the CPU).
    static func position(of device: Device) -> Int { device.index + 1 }

    /// The device of bit `position`.
    static func device(at position: Int) -> Device { position == 0 ? .cpu : .gpu(position - 1) }

    var isEmpty: Bool { self.mask == 0 }
    var count: Int { self.mask.nonzeroBitCount }

    func contains(_ device: Device) -> Bool { self.mask & Self.bit(device) != 0 }

    mutating func insert(_ device: Device) { self.mask |= Self.bit(device) }
    mutating func remove(_ device: Device) { self.mask &= ~Self.bit(device) }

    /// The devices in both sets.
    func intersection(_ other: DeviceSet) -> DeviceSet {
        var both = self
        both.mask &= other.mask
        return both
    }

    /// The devices, as a `Set`.
    var devices: Set<Device> { Set(self) }

    func makeIterator() -> Iterator { Iterator(mask: self.mask) }

    /// The devices in the order of their bits: the CPU, then the GPUs by index.
    struct Iterator: IteratorProtocol {
        var mask: UInt64
        mutating func next() -> Device? {
            guard self.mask != 0 else { return nil }
            let position = self.mask.trailingZeroBitCount
            self.mask &= self.mask - 1
            return DeviceSet.device(at: position)
        }
    }
}

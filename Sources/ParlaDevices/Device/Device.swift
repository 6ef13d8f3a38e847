/// A device that holds memory and runs work: the CPU or one GPU.
///
/// Parla (Python) equivalent: `parla.cpu` and the `gpu(i)` device objects.
/// A device prints as `"cpu"` or `"gpu(1)"`; its ``index`` is `-1` for the CPU and `i` for GPU `i`,
/// the keys Parla uses when it prints the copies of a `PArray`.
public struct Device: Hashable, Sendable, CustomStringConvertible {
    /// What kind of processor a device is.
    public enum Kind: Hashable, Sendable {
        /// The host CPU and its memory.
        case cpu
        /// A GPU with its own memory (a real CUDA device or a virtual one).
        case gpu
    }

    /// The kind of processor.
    public let kind: Kind

    /// `-1` for the CPU, `i` for GPU `i`.
    public let index: Int

    /// The CPU device (index -1).
    public static let cpu = Device(kind: .cpu, index: -1)

    /// The GPU device with the given index.
    ///
    /// - Precondition: `index >= 0`.
    public static func gpu(_ index: Int) -> Device {
        parlaPrecondition(index >= 0, "a GPU index must be 0 or more, got \(index)")
        return Device(kind: .gpu, index: index)
    }

    private init(kind: Kind, index: Int) {
        self.kind = kind
        self.index = index
    }

    /// `"cpu"` or `"gpu(i)"`.
    public var description: String {
        switch self.kind {
        case .cpu: return "cpu"
        case .gpu: return "gpu(\(self.index))"
        }
    }
}

/// The CPU device. Parla (Python) equivalent: `parla.cpu`.
public let cpu = Device.cpu

/// The GPU architecture: `gpu(i)` and `gpu[i]` name GPU `i`.
///
/// Parla (Python) equivalent: `parla.cuda.gpu`, where `gpu(0)` is the first GPU.
public struct GPUArchitecture: Hashable, Sendable, CustomStringConvertible {
    /// Creates the architecture value; use the global ``gpu`` instead.
    public init() {}

    /// GPU number `index`.
    public func callAsFunction(_ index: Int) -> Device { Device.gpu(index) }

    /// GPU number `index`.
    public subscript(_ index: Int) -> Device { Device.gpu(index) }

    /// `"gpu"`.
    public var description: String { "gpu" }
}

/// The GPU architecture; `gpu(0)` is the first GPU.
public let gpu = GPUArchitecture()

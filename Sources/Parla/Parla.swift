@_exported import ParlaArrays
@_exported import ParlaDevices

/// Parla for Swift: a task-parallel runtime for machines with a CPU and several GPUs.
///
/// `import Parla` brings in everything: `NDArray` and its operations, the devices (`cpu`, `gpu`),
/// and the runtime.
public enum Parla {
    /// The version of this package.
    public static let version = "0.1.0"
}

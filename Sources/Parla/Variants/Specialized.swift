import ParlaDevices

/// A function with a default implementation and variants for particular architectures: a call runs the
/// variant of the architecture of the device the calling task runs on (the default where there is no
/// such variant, and outside tasks, the CPU's). A task placed on `[cpu, gpu]` thus runs the code written
/// for the device it lands on.
///
/// ```swift
/// let scaled = Specialized { (x: NDArray<Double>) in      // the default: a host loop
///     NDArray(x.elements.map { $0 * 10 }, shape: x.shape)
/// }
/// .variant(gpu) { x in x * 10 }                           // on GPUs: an array operation
///
/// spawn(placement: [cpu, gpu]) {
///     let x = NDArray<Double>([1, 2, 3]).to(Device.current)
///     print(scaled(x))                                     // either variant, by where the task runs
/// }
/// ```
///
/// Functions of several arguments take them as one tuple (`Specialized { (a: Int, b: Int) in a + b }`,
/// called `f((1, 2))`).
///
/// Parla (Python) equivalent: `@specialized def scaled(x): ...` for the default and
/// `@scaled.variant(gpu) def scaled_gpu(x): ...` for a variant.
public struct Specialized<Input, Output>: Sendable {
    /// The implementation run where no variant applies.
    private let defaultBody: @Sendable (Input) -> Output
    /// The variants, by architecture.
    private var variants: [Device.Kind: @Sendable (Input) -> Output] = [:]

    /// A function whose default implementation is `body`. Parla: `@specialized`.
    public init(_ body: @escaping @Sendable (Input) -> Output) {
        self.defaultBody = body
    }

    /// This function with `body` as its implementation on GPUs. Parla: `@f.variant(gpu)`.
    public func variant(_ architecture: GPUArchitecture, _ body: @escaping @Sendable (Input) -> Output) -> Specialized {
        self.adding(Device.Kind.gpu, body)
    }

    /// This function with `body` as its implementation on the CPU (`variant(cpu)`). Variants are per
    /// architecture: a particular GPU (`gpu(1)`) stops with a message. Parla: `@f.variant(cpu)`.
    public func variant(_ device: Device, _ body: @escaping @Sendable (Input) -> Output) -> Specialized {
        parlaPrecondition(
            device.kind == .cpu,
            "variants are per architecture (cpu or gpu), not for one device: \(device) (write .variant(gpu))"
        )
        return self.adding(Device.Kind.cpu, body)
    }

    /// This function with `body` as its implementation on each of `architectures`
    /// (`variant(.cpu, .gpu)`). Parla: `@f.variant([cpu, gpu])`.
    public func variant(_ architectures: Device.Kind..., body: @escaping @Sendable (Input) -> Output) -> Specialized {
        architectures.reduce(self) { function, architecture in function.adding(architecture, body) }
    }

    /// The implementation for `architecture`: its variant, else the default.
    public func implementation(for architecture: Device.Kind) -> @Sendable (Input) -> Output {
        self.variants[architecture] ?? self.defaultBody
    }

    /// Whether `architecture` has a variant of its own.
    public func hasVariant(for architecture: Device.Kind) -> Bool { self.variants[architecture] != nil }

    /// Runs the implementation for the architecture of the calling task's device (`Device.current`).
    public func callAsFunction(_ input: Input) -> Output {
        self.implementation(for: Device.current.kind)(input)
    }

    /// This function with `body` for `architecture`.
    private func adding(_ architecture: Device.Kind, _ body: @escaping @Sendable (Input) -> Output) -> Specialized {
        var copy = self
        copy.variants[architecture] = body
        return copy
    }
}

import Synchronization

/// Which generated kernel a launch needs: the operation and its element types. Its ``name`` names the
/// compiled program (NVRTC's `name.cu`) and the caches, and ``init(name:)`` reads it back (the
/// simulated driver runs a launched kernel by its name).
enum CUDAKernelKey: Hashable, Sendable {
    /// An element-wise operation writing `output` elements from `input` ones.
    case elementwise(ElementwiseOperation, output: DType, input: DType?)
    /// A reduction of `input` elements.
    case reduction(ReductionOperator, input: DType)
    /// A matrix product of `DType` elements.
    case matmul(DType)

    /// `ew.binary-add.float32.float32`, `reduce.sum.int64`, `matmul.float64`.
    var name: String {
        switch self {
        case .elementwise(let operation, let output, let input):
            return "ew.\(Self.token(operation)).\(output).\(input?.rawValue ?? "-")"
        case .reduction(let operation, let input):
            return "reduce.\(operation.rawValue).\(input)"
        case .matmul(let type):
            return "matmul.\(type)"
        }
    }

    /// The key a ``name`` came from, or `nil` when it names no kernel.
    init?(name: String) {
        let parts = name.split(separator: ".").map(String.init)
        switch (parts.first, parts.count) {
        case ("ew", 4):
            guard let operation = Self.operation(parts[1]), let output = DType(rawValue: parts[2]) else { return nil }
            let input = parts[3] == "-" ? nil : DType(rawValue: parts[3])
            if parts[3] != "-" && input == nil { return nil }
            self = .elementwise(operation, output: output, input: input)
        case ("reduce", 3):
            guard let operation = ReductionOperator(rawValue: parts[1]), let input = DType(rawValue: parts[2]) else {
                return nil
            }
            self = .reduction(operation, input: input)
        case ("matmul", 2):
            guard let type = DType(rawValue: parts[1]) else { return nil }
            self = .matmul(type)
        default:
            return nil
        }
    }

    /// The CUDA C of the kernel.
    var source: String {
        switch self {
        case .elementwise(let operation, let output, let input):
            return CUDAKernelSource.elementwise(operation, output: output, input: input)
        case .reduction(let operation, let input):
            return CUDAKernelSource.reduction(operation, input: input)
        case .matmul(let type):
            return CUDAKernelSource.matmul(type)
        }
    }

    private static func token(_ operation: ElementwiseOperation) -> String {
        switch operation {
        case .unary(let op): return "unary-\(op.rawValue)"
        case .binary(let op): return "binary-\(op.rawValue)"
        case .binaryWithScalarRight(let op): return "scalarRight-\(op.rawValue)"
        case .binaryWithScalarLeft(let op): return "scalarLeft-\(op.rawValue)"
        case .cast: return "cast"
        case .fill: return "fill"
        }
    }

    private static func operation(_ token: String) -> ElementwiseOperation? {
        if token == "cast" { return .cast }
        if token == "fill" { return .fill }
        let halves = token.split(separator: "-", maxSplits: 1).map(String.init)
        guard halves.count == 2 else { return nil }
        switch halves[0] {
        case "unary": return UnaryOperator(rawValue: halves[1]).map { .unary($0) }
        case "binary": return BinaryOperator(rawValue: halves[1]).map { .binary($0) }
        case "scalarRight": return BinaryOperator(rawValue: halves[1]).map { .binaryWithScalarRight($0) }
        case "scalarLeft": return BinaryOperator(rawValue: halves[1]).map { .binaryWithScalarLeft($0) }
        default: return nil
        }
    }
}

/// The compiled images of a machine's kernels, by compute capability and kernel: each is compiled
/// once, under a lock, and loaded into every GPU that needs it.
final class CUDAKernelImages: Sendable {
    let compiler: any CUDAKernelCompiler
    private let images = Mutex<[String: [CChar]]>([:])
    /// Held while compiling, so that two threads never compile the same kernel.
    private let compiling = Mutex(())

    init(compiler: any CUDAKernelCompiler) { self.compiler = compiler }

    /// The image of `key` for `computeCapability`, compiled on first use.
    func image(for key: CUDAKernelKey, computeCapability: Int) throws(DeviceError) -> [CChar] {
        let cacheKey = "\(computeCapability)/\(key.name)"
        if let image = self.images.withLock({ $0[cacheKey] }) { return image }
        return try self.compiling.withLock { (_) throws(DeviceError) -> [CChar] in
            if let image = self.images.withLock({ $0[cacheKey] }) { return image }
            let image = try self.compiler.compile(
                key.source,
                name: "\(key.name).cu",
                computeCapability: computeCapability
            )
            self.images.withLock { $0[cacheKey] = image }
            return image
        }
    }
}

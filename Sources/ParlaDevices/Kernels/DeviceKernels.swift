/// An array operand of a device kernel: where its first element is and how to step through it.
public struct KernelOperand: Sendable {
    /// The memory holding the operand.
    public var allocation: DeviceAllocation
    /// The position of the first element, in elements from the start of the allocation.
    public var offset: Int
    /// The distance in elements between neighbours along each axis of the launch shape (0: broadcast).
    public var strides: [Int]
    /// The element type.
    public var dtype: DType

    /// An operand of `dtype` elements in `allocation`, starting `offset` elements in, with `strides`.
    public init(allocation: DeviceAllocation, offset: Int, strides: [Int], dtype: DType) {
        self.allocation = allocation
        self.offset = offset
        self.strides = strides
        self.dtype = dtype
    }
}

/// A scalar argument of a kernel, converted to the kernel's element type on the device.
public enum KernelScalar: Hashable, Sendable {
    /// A floating-point value.
    case float(Double)
    /// An integer value.
    case integer(Int64)
}

/// A one-argument element-wise function.
public enum UnaryOperator: String, Hashable, Sendable, CaseIterable {
    case copy, negate, abs, sqrt, exp, log, sin, cos, tanh
}

/// A two-argument element-wise function.
public enum BinaryOperator: String, Hashable, Sendable, CaseIterable {
    case add, subtract, multiply, divide, maximum, minimum, pow
}

/// What an element-wise kernel computes for each output element `out`, from input `a` (and `b`) and
/// the scalar `s`.
public enum ElementwiseOperation: Hashable, Sendable, CustomStringConvertible {
    /// `out = f(a)`.
    case unary(UnaryOperator)
    /// `out = f(a, b)`.
    case binary(BinaryOperator)
    /// `out = f(a, s)`.
    case binaryWithScalarRight(BinaryOperator)
    /// `out = f(s, a)`.
    case binaryWithScalarLeft(BinaryOperator)
    /// `out = a` converted to the output's element type.
    case cast
    /// `out = s`.
    case fill

    /// How many array inputs the operation reads.
    public var inputCount: Int {
        switch self {
        case .binary: return 2
        case .fill: return 0
        default: return 1
        }
    }

    public var description: String {
        switch self {
        case .unary(let op): return op.rawValue
        case .binary(let op): return op.rawValue
        case .binaryWithScalarRight(let op): return "\(op.rawValue)(array, scalar)"
        case .binaryWithScalarLeft(let op): return "\(op.rawValue)(scalar, array)"
        case .cast: return "astype"
        case .fill: return "fill"
        }
    }
}

/// A reduction along one axis (or over everything).
public enum ReductionOperator: String, Hashable, Sendable, CaseIterable {
    case sum, min, max, argmin, argmax

    /// Whether the result is a position (an `Int`) rather than an element.
    public var isPositional: Bool { self == .argmin || self == .argmax }
}

/// The kernels a GPU runs for NDArray. Every call is enqueued on the device's compute stream and
/// returns before the work finishes; copies back to the host wait for it.
public protocol DeviceKernels: Sendable {
    /// Runs an element-wise operation over `shape`: every operand's strides match `shape`.
    func elementwise(
        _ operation: ElementwiseOperation,
        shape: [Int],
        output: KernelOperand,
        inputs: [KernelOperand],
        scalar: KernelScalar?
    ) throws(DeviceError)

    /// Reduces `input` (of `shape`, any strides) along `axis` into the contiguous `output`, whose
    /// shape is `shape` without that axis; with `axis == nil`, over every element into one element.
    /// Positional reductions write `Int` (int64) positions: along the axis, or row-major without one.
    func reduce(
        _ operation: ReductionOperator,
        input: KernelOperand,
        shape: [Int],
        axis: Int?,
        output: KernelOperand
    ) throws(DeviceError)

    /// `C[b] = A[b] × B[b]` for each batch position `b` of `batchShape`: A is m×k, B is k×n, C is m×n
    /// contiguous; `a` and `b` carry strides for `batchShape + [rows, columns]`, `c` for `batchShape`.
    func matmul(
        m: Int,
        n: Int,
        k: Int,
        batchShape: [Int],
        a: KernelOperand,
        b: KernelOperand,
        c: KernelOperand
    ) throws(DeviceError)
}

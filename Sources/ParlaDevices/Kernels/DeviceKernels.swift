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

/// A one-argument element-wise function, with NumPy's semantics (integers wrap).
public enum UnaryOperator: String, Hashable, Sendable, CaseIterable {
    /// The element itself (a copy into another layout).
    case copy
    /// `-x`. NumPy: `np.negative`.
    case negate
    /// `|x|`. NumPy: `np.abs`.
    case abs
    /// The square root (floating point only). NumPy: `np.sqrt`.
    case sqrt
    /// e^x (floating point only). NumPy: `np.exp`.
    case exp
    /// The natural logarithm (floating point only). NumPy: `np.log`.
    case log
    /// The sine (floating point only). NumPy: `np.sin`.
    case sin
    /// The cosine (floating point only). NumPy: `np.cos`.
    case cos
    /// The hyperbolic tangent (floating point only). NumPy: `np.tanh`.
    case tanh
}

/// A two-argument element-wise function, with NumPy's semantics (integers wrap, integer division by
/// zero gives 0, a NaN wins in `maximum` and `minimum`).
public enum BinaryOperator: String, Hashable, Sendable, CaseIterable {
    /// `x + y`. NumPy: `np.add`.
    case add
    /// `x - y`. NumPy: `np.subtract`.
    case subtract
    /// `x * y`. NumPy: `np.multiply`.
    case multiply
    /// `x / y`, truncated toward zero for integers. NumPy: `np.true_divide`, or `//` for integers.
    case divide
    /// The larger of `x` and `y`. NumPy: `np.maximum`.
    case maximum
    /// The smaller of `x` and `y`. NumPy: `np.minimum`.
    case minimum
    /// `x` to the power `y` (floating point only). NumPy: `np.power`.
    case pow
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
    /// The sum (integers wrap). NumPy: `np.sum`.
    case sum
    /// The smallest element (a NaN if there is one). NumPy: `np.min`.
    case min
    /// The largest element (a NaN if there is one). NumPy: `np.max`.
    case max
    /// The position of the first smallest element (of the first NaN if there is one). NumPy: `np.argmin`.
    case argmin
    /// The position of the first largest element (of the first NaN if there is one). NumPy: `np.argmax`.
    case argmax

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

    // MARK: Linear algebra (column-major, as the vendor libraries take it)

    /// Whether the device's BLAS library can be used (cuBLAS loads and gives a handle): without it,
    /// `matmul` runs the device's own kernel, and the calls below fail with the library's error.
    var hasBLAS: Bool { get }

    /// `C ← alpha · op(A) · op(B) + beta · C` for the m×n `C`, with `op(A)` m×k and `op(B)` k×n (each
    /// the matrix or, when its flag is set, its transpose); `beta == 0` does not read `C`. BLAS:
    /// `?gemm`; cuBLAS: `cublasSgemm`, `cublasDgemm`.
    func gemm(
        transposeA: Bool,
        transposeB: Bool,
        m: Int,
        n: Int,
        k: Int,
        alpha: Double,
        a: MatrixOperand,
        b: MatrixOperand,
        beta: Double,
        c: MatrixOperand
    ) throws(DeviceError)

    /// `C ← alpha · op(A) · op(A)ᵀ + beta · C` on `triangle` of the n×n `C`, `op(A)` n×k. BLAS: `?syrk`;
    /// cuBLAS: `cublasSsyrk`, `cublasDsyrk`.
    func syrk(
        triangle: MatrixTriangle,
        transpose: Bool,
        n: Int,
        k: Int,
        alpha: Double,
        a: MatrixOperand,
        beta: Double,
        c: MatrixOperand
    ) throws(DeviceError)

    /// Solves `op(A) · X = alpha · B` (left) or `X · op(A) = alpha · B` (right) for the m×n `X`, which
    /// overwrites `B`; `A` is triangular in `triangle`, its diagonal taken as ones when `unitDiagonal`.
    /// BLAS: `?trsm`; cuBLAS: `cublasStrsm`, `cublasDtrsm`.
    func trsm(
        side: MatrixSide,
        triangle: MatrixTriangle,
        transposeA: Bool,
        unitDiagonal: Bool,
        m: Int,
        n: Int,
        alpha: Double,
        a: MatrixOperand,
        b: MatrixOperand
    ) throws(DeviceError)

    /// Factorizes the n×n symmetric positive definite `A` in place, `L · Lᵀ` in the lower triangle or
    /// `Uᵀ · U` in the upper one; the status says, once the device has run it, whether it succeeded.
    /// LAPACK: `?potrf`; cuSOLVER: `cusolverDnSpotrf`, `cusolverDnDpotrf`.
    func potrf(triangle: MatrixTriangle, n: Int, a: MatrixOperand) throws(DeviceError) -> FactorizationStatus
}

// The table of operation semantics: what each NDArray operation computes, written once.
//
// Each row is a type holding, side by side, the operation's value in Swift for floating-point
// elements, its value for integer elements, and the CUDA C expression the GPU kernels compute it
// with. The host loops (ParlaArrays, through `KernelElement`), the simulated CUDA driver
// (`SimulatedKernel`) and the generated kernels (`CUDAKernelSource`) all take an operation from its
// row, so they cannot disagree. The semantics are NumPy's: integer `+ - *` and negation wrap, integer
// division truncates toward zero and gives 0 when dividing by zero, a NaN wins in `maximum`,
// `minimum`, `max` and `min` (and is the first extreme in `argmax` and `argmin`), the real-valued
// functions are the C library's, and `astype` truncates toward zero and saturates when converting a
// floating-point value to an integer type and wraps when narrowing an integer.
//
// In the C, `x` and `y` are expressions of the element type, and `u64` is `unsigned long long`:
// integer arithmetic goes through it so that overflow wraps instead of being undefined. In both
// languages `x != x` is true only for a NaN (never for an integer).

// MARK: Rows

/// A row of the table for a one-argument element-wise operation.
@usableFromInline
package protocol UnaryOperation {
    /// The operator that names the operation in kernel launches.
    static var kernelOperator: UnaryOperator { get }
    /// The value for a floating-point element.
    static func apply<T: KernelFloatingElement>(_ x: T) -> T
    /// The value for an integer element.
    static func apply<T: KernelIntegerElement>(_ x: T) -> T
    /// The CUDA C of the value, from the C expression `x` of element type `type`.
    static func cuda(_ x: String, _ type: DType) -> String
}

/// A row for a two-argument element-wise operation.
@usableFromInline
package protocol BinaryOperation {
    /// The operator that names the operation in kernel launches.
    static var kernelOperator: BinaryOperator { get }
    /// The value for floating-point elements.
    static func apply<T: KernelFloatingElement>(_ x: T, _ y: T) -> T
    /// The value for integer elements.
    static func apply<T: KernelIntegerElement>(_ x: T, _ y: T) -> T
    /// The CUDA C of the value, from the C expressions `x` and `y` of element type `type`.
    static func cuda(_ x: String, _ y: String, _ type: DType) -> String
}

/// A one-argument operation with no integer form: NDArray offers it on `Float` and `Double` arrays only.
@usableFromInline
package protocol FloatingUnaryOperation: UnaryOperation {}

/// A two-argument operation with no integer form: NDArray offers it on `Float` and `Double` arrays only.
@usableFromInline
package protocol FloatingBinaryOperation: BinaryOperation {}

extension FloatingUnaryOperation {
    /// Never reached: no integer array offers the operation.
    @inlinable
    package static func apply<T: KernelIntegerElement>(_ x: T) -> T {
        parlaPreconditionFailure("\(Self.kernelOperator) has no integer form")
    }
}

extension FloatingBinaryOperation {
    /// Never reached: no integer array offers the operation.
    @inlinable
    package static func apply<T: KernelIntegerElement>(_ x: T, _ y: T) -> T {
        parlaPreconditionFailure("\(Self.kernelOperator) has no integer form")
    }
}

/// A row for a reduction that folds the elements into one value (`sum`, `max`, `min`).
@usableFromInline
package protocol FoldingReduction {
    /// The operator that names the reduction in kernel launches.
    static var kernelOperator: ReductionOperator { get }
    /// The value a fold of floating-point elements starts from.
    static func identity<T: KernelFloatingElement>(_ type: T.Type) -> T
    /// The value a fold of integer elements starts from.
    static func identity<T: KernelIntegerElement>(_ type: T.Type) -> T
    /// The fold of `x` into `accumulator`, for any element type (a NaN never equals itself, and an
    /// integer always does).
    static func combine<T: KernelElement>(_ accumulator: T, _ x: T) -> T
    /// The CUDA C of the identity for element type `type`.
    static func cudaIdentity(_ type: DType) -> String
    /// A CUDA C statement folding `x` into `acc`, of element type `type`.
    static func cudaCombine(_ type: DType) -> String
}

/// A row for a reduction to the position of an extreme element (`argmax`, `argmin`): the first NaN,
/// else the first element no other is preferred over.
@usableFromInline
package protocol PositionalReduction {
    /// The operator that names the reduction in kernel launches.
    static var kernelOperator: ReductionOperator { get }
    /// Whether `x` is preferred over `best` (neither a NaN).
    static func prefers<T: KernelElement>(_ x: T, over best: T) -> Bool
    /// The C comparison operator of ``prefers(_:over:)``.
    static var cudaComparison: String { get }
}

// MARK: Element-wise, one argument

extension UnaryOperator {
    /// `x`: copies elements (into another layout, or out of a broadcast).
    @usableFromInline
    package enum Copy: UnaryOperation {
        @inlinable package static var kernelOperator: UnaryOperator { .copy }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T) -> T { x }
        @inlinable package static func apply<T: KernelIntegerElement>(_ x: T) -> T { x }
        @usableFromInline package static func cuda(_ x: String, _ type: DType) -> String { x }
    }

    /// NumPy's `negative`: `-x`; integers wrap (the negation of the most negative value is itself).
    @usableFromInline
    package enum Negate: UnaryOperation {
        @inlinable package static var kernelOperator: UnaryOperator { .negate }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T) -> T { -x }
        @inlinable package static func apply<T: KernelIntegerElement>(_ x: T) -> T { 0 &- x }
        @usableFromInline package static func cuda(_ x: String, _ type: DType) -> String {
            type.isFloatingPoint ? "(-\(x))" : "(\(type.cTypeName))(0ULL - (u64)\(x))"
        }
    }

    /// NumPy's `absolute`: `|x|`; integers wrap (the magnitude of the most negative value is itself).
    @usableFromInline
    package enum Abs: UnaryOperation {
        @inlinable package static var kernelOperator: UnaryOperator { .abs }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T) -> T { x.magnitude }
        @inlinable package static func apply<T: KernelIntegerElement>(_ x: T) -> T { x < 0 ? 0 &- x : x }
        @usableFromInline package static func cuda(_ x: String, _ type: DType) -> String {
            if type.isFloatingPoint { return "fabs\(type.cMathSuffix)(\(x))" }
            if !type.isSigned { return x }
            return "(\(x) < 0 ? (\(type.cTypeName))(0ULL - (u64)\(x)) : \(x))"
        }
    }

    /// NumPy's `sqrt` (NaN for negative values).
    @usableFromInline
    package enum Sqrt: FloatingUnaryOperation {
        @inlinable package static var kernelOperator: UnaryOperator { .sqrt }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T) -> T { x.squareRoot() }
        @usableFromInline package static func cuda(_ x: String, _ type: DType) -> String {
            "sqrt\(type.cMathSuffix)(\(x))"
        }
    }

    /// NumPy's `exp`: e^x.
    @usableFromInline
    package enum Exp: FloatingUnaryOperation {
        @inlinable package static var kernelOperator: UnaryOperator { .exp }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T) -> T { T.libmExp(x) }
        @usableFromInline package static func cuda(_ x: String, _ type: DType) -> String {
            "exp\(type.cMathSuffix)(\(x))"
        }
    }

    /// NumPy's `log`: the natural logarithm.
    @usableFromInline
    package enum Log: FloatingUnaryOperation {
        @inlinable package static var kernelOperator: UnaryOperator { .log }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T) -> T { T.libmLog(x) }
        @usableFromInline package static func cuda(_ x: String, _ type: DType) -> String {
            "log\(type.cMathSuffix)(\(x))"
        }
    }

    /// NumPy's `sin`.
    @usableFromInline
    package enum Sin: FloatingUnaryOperation {
        @inlinable package static var kernelOperator: UnaryOperator { .sin }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T) -> T { T.libmSin(x) }
        @usableFromInline package static func cuda(_ x: String, _ type: DType) -> String {
            "sin\(type.cMathSuffix)(\(x))"
        }
    }

    /// NumPy's `cos`.
    @usableFromInline
    package enum Cos: FloatingUnaryOperation {
        @inlinable package static var kernelOperator: UnaryOperator { .cos }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T) -> T { T.libmCos(x) }
        @usableFromInline package static func cuda(_ x: String, _ type: DType) -> String {
            "cos\(type.cMathSuffix)(\(x))"
        }
    }

    /// NumPy's `tanh`.
    @usableFromInline
    package enum Tanh: FloatingUnaryOperation {
        @inlinable package static var kernelOperator: UnaryOperator { .tanh }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T) -> T { T.libmTanh(x) }
        @usableFromInline package static func cuda(_ x: String, _ type: DType) -> String {
            "tanh\(type.cMathSuffix)(\(x))"
        }
    }

    /// The operator's row of the table.
    package var semantics: any UnaryOperation.Type {
        switch self {
        case .copy: Copy.self
        case .negate: Negate.self
        case .abs: Abs.self
        case .sqrt: Sqrt.self
        case .exp: Exp.self
        case .log: Log.self
        case .sin: Sin.self
        case .cos: Cos.self
        case .tanh: Tanh.self
        }
    }
}

// MARK: Element-wise, two arguments

extension BinaryOperator {
    /// NumPy's `add`: `x + y`; integers wrap.
    @usableFromInline
    package enum Add: BinaryOperation {
        @inlinable package static var kernelOperator: BinaryOperator { .add }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T, _ y: T) -> T { x + y }
        @inlinable package static func apply<T: KernelIntegerElement>(_ x: T, _ y: T) -> T { x &+ y }
        @usableFromInline package static func cuda(_ x: String, _ y: String, _ type: DType) -> String {
            type.isFloatingPoint ? "(\(x) + \(y))" : "(\(type.cTypeName))((u64)\(x) + (u64)\(y))"
        }
    }

    /// NumPy's `subtract`: `x - y`; integers wrap.
    @usableFromInline
    package enum Subtract: BinaryOperation {
        @inlinable package static var kernelOperator: BinaryOperator { .subtract }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T, _ y: T) -> T { x - y }
        @inlinable package static func apply<T: KernelIntegerElement>(_ x: T, _ y: T) -> T { x &- y }
        @usableFromInline package static func cuda(_ x: String, _ y: String, _ type: DType) -> String {
            type.isFloatingPoint ? "(\(x) - \(y))" : "(\(type.cTypeName))((u64)\(x) - (u64)\(y))"
        }
    }

    /// NumPy's `multiply`: `x * y`; integers wrap.
    @usableFromInline
    package enum Multiply: BinaryOperation {
        @inlinable package static var kernelOperator: BinaryOperator { .multiply }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T, _ y: T) -> T { x * y }
        @inlinable package static func apply<T: KernelIntegerElement>(_ x: T, _ y: T) -> T { x &* y }
        @usableFromInline package static func cuda(_ x: String, _ y: String, _ type: DType) -> String {
            type.isFloatingPoint ? "(\(x) * \(y))" : "(\(type.cTypeName))((u64)\(x) * (u64)\(y))"
        }
    }

    /// `x / y`: NumPy's `true_divide` for floats; for integers the quotient truncated toward zero, 0
    /// when dividing by zero (NumPy's result, without its warning), and wrapping for the most negative
    /// value divided by -1.
    @usableFromInline
    package enum Divide: BinaryOperation {
        @inlinable package static var kernelOperator: BinaryOperator { .divide }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T, _ y: T) -> T { x / y }
        @inlinable package static func apply<T: KernelIntegerElement>(_ x: T, _ y: T) -> T {
            if y == 0 { return 0 }
            if T.isSigned && y == 0 &- 1 { return 0 &- x }
            return x / y
        }
        @usableFromInline package static func cuda(_ x: String, _ y: String, _ type: DType) -> String {
            let t = type.cTypeName
            if type.isFloatingPoint { return "(\(x) / \(y))" }
            if !type.isSigned { return "(\(y) == 0 ? (\(t))0 : (\(t))(\(x) / \(y)))" }
            return "(\(y) == 0 ? (\(t))0 : (\(y) == (\(t))-1 ? (\(t))(0ULL - (u64)\(x)) : (\(t))(\(x) / \(y))))"
        }
    }

    /// NumPy's `maximum`: the larger of `x` and `y`, a NaN if either is one.
    @usableFromInline
    package enum Maximum: BinaryOperation {
        @inlinable package static var kernelOperator: BinaryOperator { .maximum }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T, _ y: T) -> T {
            (x != x || x > y) ? x : y
        }
        @inlinable package static func apply<T: KernelIntegerElement>(_ x: T, _ y: T) -> T { x > y ? x : y }  // no NaN
        @usableFromInline package static func cuda(_ x: String, _ y: String, _ type: DType) -> String {
            "((\(x) != \(x) || \(x) > \(y)) ? \(x) : \(y))"
        }
    }

    /// NumPy's `minimum`: the smaller of `x` and `y`, a NaN if either is one.
    @usableFromInline
    package enum Minimum: BinaryOperation {
        @inlinable package static var kernelOperator: BinaryOperator { .minimum }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T, _ y: T) -> T {
            (x != x || x < y) ? x : y
        }
        @inlinable package static func apply<T: KernelIntegerElement>(_ x: T, _ y: T) -> T { x < y ? x : y }  // no NaN
        @usableFromInline package static func cuda(_ x: String, _ y: String, _ type: DType) -> String {
            "((\(x) != \(x) || \(x) < \(y)) ? \(x) : \(y))"
        }
    }

    /// NumPy's `power`: `x` to the `y`, the C library's `pow` (NaN for a negative `x` and a
    /// non-integral `y`; `pow(0, 0)` is 1).
    @usableFromInline
    package enum Pow: FloatingBinaryOperation {
        @inlinable package static var kernelOperator: BinaryOperator { .pow }
        @inlinable package static func apply<T: KernelFloatingElement>(_ x: T, _ y: T) -> T { T.libmPow(x, y) }
        @usableFromInline package static func cuda(_ x: String, _ y: String, _ type: DType) -> String {
            "pow\(type.cMathSuffix)(\(x), \(y))"
        }
    }

    /// The operator's row of the table.
    package var semantics: any BinaryOperation.Type {
        switch self {
        case .add: Add.self
        case .subtract: Subtract.self
        case .multiply: Multiply.self
        case .divide: Divide.self
        case .maximum: Maximum.self
        case .minimum: Minimum.self
        case .pow: Pow.self
        }
    }
}

// MARK: Conversion

/// NumPy's `astype`: a floating-point value converted to an integer type is truncated toward zero
/// and saturated (a NaN gives 0); an integer converted to a narrower one wraps; every other conversion
/// rounds to the nearest representable value.
@usableFromInline
package enum Conversion {
    /// Floating point to floating point: the nearest value.
    @inlinable
    package static func convert<Source: KernelFloatingElement, Target: KernelFloatingElement>(
        _ x: Source,
        to target: Target.Type
    ) -> Target {
        Target(x)
    }

    /// Floating point to integer: truncated toward zero, saturated, NaN to 0.
    @inlinable
    package static func convert<Source: KernelFloatingElement, Target: KernelIntegerElement>(
        _ x: Source,
        to target: Target.Type
    ) -> Target {
        let value = Double(x)  // exact for Float and Double
        if value != value { return 0 }
        if value >= Double(Target.max) { return Target.max }
        if value <= Double(Target.min) { return Target.min }
        return Target(value.rounded(.towardZero))
    }

    /// Integer to floating point: the nearest value.
    @inlinable
    package static func convert<Source: KernelIntegerElement, Target: KernelFloatingElement>(
        _ x: Source,
        to target: Target.Type
    ) -> Target {
        Target(x)
    }

    /// Integer to integer: the same value where the target holds it, else its low bits (wrapping).
    @inlinable
    package static func convert<Source: KernelIntegerElement, Target: KernelIntegerElement>(
        _ x: Source,
        to target: Target.Type
    ) -> Target {
        Target(truncatingIfNeeded: x)
    }

    /// The CUDA C of `x`, of element type `source`, converted to `target`.
    @usableFromInline package static func cuda(_ x: String, from source: DType, to target: DType) -> String {
        let t = target.cTypeName
        switch (source.isFloatingPoint, target.isFloatingPoint) {
        case (true, false):
            // `high` is the least double at or above the largest value, `low` the most negative value.
            let (low, high): (String, String)
            switch target {
            case .int32: (low, high) = ("-2147483648.0", "2147483647.0")
            case .int64: (low, high) = ("-9223372036854775808.0", "9223372036854775808.0")
            default: (low, high) = ("0.0", "255.0")
            }
            let value = "(double)\(x)"
            return
                "(\(value) != \(value) ? (\(t))0 : (\(value) >= \(high) ? \(target.cHighest) : (\(value) <= \(low) ? \(target.cLowest) : (\(t))\(value))))"
        case (false, false):
            return "(\(t))(u64)(i64)\(x)"
        default:
            return "(\(t))\(x)"
        }
    }
}

// MARK: Reductions

extension ReductionOperator {
    /// NumPy's `sum`: the fold by ``BinaryOperator/Add`` from 0 (integers wrap).
    @usableFromInline
    package enum Sum: FoldingReduction {
        @inlinable package static var kernelOperator: ReductionOperator { .sum }
        @inlinable package static func identity<T: KernelFloatingElement>(_ type: T.Type) -> T { 0 }
        @inlinable package static func identity<T: KernelIntegerElement>(_ type: T.Type) -> T { 0 }
        @inlinable package static func combine<T: KernelElement>(_ accumulator: T, _ x: T) -> T {
            T.apply(BinaryOperator.Add.self, accumulator, x)
        }
        @usableFromInline package static func cudaIdentity(_ type: DType) -> String { "(\(type.cTypeName))0" }
        @usableFromInline package static func cudaCombine(_ type: DType) -> String {
            "acc = \(BinaryOperator.Add.cuda("acc", "x", type));"
        }
    }

    /// NumPy's `max`: the largest element, the first NaN if there is one. The accumulator stays when it
    /// is a NaN or `x` is not larger (a NaN `x` is neither smaller nor equal, so it replaces).
    @usableFromInline
    package enum Max: FoldingReduction {
        @inlinable package static var kernelOperator: ReductionOperator { .max }
        @inlinable package static func identity<T: KernelFloatingElement>(_ type: T.Type) -> T { -T.infinity }
        @inlinable package static func identity<T: KernelIntegerElement>(_ type: T.Type) -> T { T.min }
        @inlinable package static func combine<T: KernelElement>(_ accumulator: T, _ x: T) -> T {
            (accumulator != accumulator || x <= accumulator) ? accumulator : x
        }
        @usableFromInline package static func cudaIdentity(_ type: DType) -> String { type.cLowest }
        @usableFromInline package static func cudaCombine(_ type: DType) -> String {
            "if (!(acc != acc || x <= acc)) acc = x;"
        }
    }

    /// NumPy's `min`: the smallest element, the first NaN if there is one. The accumulator stays when it
    /// is a NaN or `x` is not smaller (a NaN `x` is neither larger nor equal, so it replaces).
    @usableFromInline
    package enum Min: FoldingReduction {
        @inlinable package static var kernelOperator: ReductionOperator { .min }
        @inlinable package static func identity<T: KernelFloatingElement>(_ type: T.Type) -> T { T.infinity }
        @inlinable package static func identity<T: KernelIntegerElement>(_ type: T.Type) -> T { T.max }
        @inlinable package static func combine<T: KernelElement>(_ accumulator: T, _ x: T) -> T {
            (accumulator != accumulator || x >= accumulator) ? accumulator : x
        }
        @usableFromInline package static func cudaIdentity(_ type: DType) -> String { type.cHighest }
        @usableFromInline package static func cudaCombine(_ type: DType) -> String {
            "if (!(acc != acc || x >= acc)) acc = x;"
        }
    }

    /// NumPy's `argmax`: the position of the first largest element (of the first NaN if there is one).
    @usableFromInline
    package enum ArgMax: PositionalReduction {
        @inlinable package static var kernelOperator: ReductionOperator { .argmax }
        @inlinable package static func prefers<T: KernelElement>(_ x: T, over best: T) -> Bool { x > best }
        @usableFromInline package static var cudaComparison: String { ">" }
    }

    /// NumPy's `argmin`: the position of the first smallest element (of the first NaN if there is one).
    @usableFromInline
    package enum ArgMin: PositionalReduction {
        @inlinable package static var kernelOperator: ReductionOperator { .argmin }
        @inlinable package static func prefers<T: KernelElement>(_ x: T, over best: T) -> Bool { x < best }
        @usableFromInline package static var cudaComparison: String { "<" }
    }

    /// The operator's row of the table, when it folds.
    package var folding: (any FoldingReduction.Type)? {
        switch self {
        case .sum: Sum.self
        case .max: Max.self
        case .min: Min.self
        case .argmax, .argmin: nil
        }
    }

    /// The operator's row of the table, when it finds a position.
    package var positional: (any PositionalReduction.Type)? {
        switch self {
        case .argmax: ArgMax.self
        case .argmin: ArgMin.self
        case .sum, .max, .min: nil
        }
    }
}

extension PositionalReduction {
    /// Whether `x`, met after `best` in a scan in order, replaces it: the first NaN wins, and otherwise
    /// an element replaces the best so far only when it is preferred (so the first of equals stays).
    @inlinable
    package static func replaces<T: KernelElement>(_ x: T, _ best: T) -> Bool {
        best == best && (x != x || Self.prefers(x, over: best))
    }

    /// A CUDA C statement merging the candidate `x` at position `xi` into the best `acc` at position
    /// `ai` (a position below 0: none), in any order (threads of a block scan strided positions and then
    /// merge pairwise): the rule of ``replaces(_:_:)``, with ties broken by the earlier position.
    package static var cudaMerge: String {
        """
        {
            bool take;
            if (ai < 0) take = xi >= 0;
            else if (xi < 0) take = false;
            else if (acc != acc) take = (x != x) && xi < ai;
            else if (x != x) take = true;
            else if (x \(Self.cudaComparison) acc) take = true;
            else if (x == acc) take = xi < ai;
            else take = false;
            if (take) { acc = x; ai = xi; }
        }
        """
    }
}

// MARK: C spellings

extension DType {
    /// Whether the elements are signed (every type but `uint8`).
    package var isSigned: Bool { self != .uint8 }

    /// The suffix of the C library's functions for this type: `f` for `float` (`expf`), none for `double`.
    package var cMathSuffix: String { self == .float32 ? "f" : "" }

    /// The C of the type's highest value (infinity for the floating-point types).
    package var cHighest: String {
        switch self {
        case .int32: "(int)2147483647"
        case .int64: "(long long)9223372036854775807LL"
        case .uint8: "(unsigned char)255"
        case .float32, .float64: "(\(self.cTypeName))(1.0/0.0)"
        }
    }

    /// The C of the type's lowest value (minus infinity for the floating-point types).
    package var cLowest: String {
        switch self {
        case .int32: "(int)(-2147483647 - 1)"
        case .int64: "(long long)(-9223372036854775807LL - 1)"
        case .uint8: "(unsigned char)0"
        case .float32, .float64: "(\(self.cTypeName))(-1.0/0.0)"
        }
    }
}

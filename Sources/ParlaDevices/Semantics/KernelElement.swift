#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Swift type of the elements kernels compute on: `Float`, `Double`, `Int32`, `Int` (64-bit) and
/// `UInt8`, one per ``DType``.
///
/// What an operation computes is written once, in the table of operation semantics
/// (`OperationSemantics.swift`), whose rows hold a floating-point half, an integer half and the CUDA C.
/// An element type applies a row with the half for its kind: the requirements below are that
/// dispatch, implemented once per kind by ``KernelFloatingElement`` and ``KernelIntegerElement``. The
/// host loops of `ParlaArrays` and the simulated driver call them; everything is `@inlinable`, so that
/// a loop specialized for one element type compiles to the row's expression.
@usableFromInline
package protocol KernelElement: Numeric, Comparable, BitwiseCopyable, Sendable {
    /// `operation` applied to `x`.
    static func apply<Operation: UnaryOperation>(_ operation: Operation.Type, _ x: Self) -> Self

    /// `operation` applied to `x` and `y`.
    static func apply<Operation: BinaryOperation>(_ operation: Operation.Type, _ x: Self, _ y: Self) -> Self

    /// The value a reduction by `operation` starts from.
    static func identity<Operation: FoldingReduction>(of operation: Operation.Type) -> Self

    /// `x` converted to this type, as `astype` converts (``Conversion``).
    static func converting<Source: KernelElement>(_ x: Source) -> Self

    /// `x` converted to a floating-point `Target` (the source's half of ``converting(_:)``).
    static func converted<Target: KernelFloatingElement>(_ x: Self, to target: Target.Type) -> Target

    /// `x` converted to an integer `Target` (the source's half of ``converting(_:)``).
    static func converted<Target: KernelIntegerElement>(_ x: Self, to target: Target.Type) -> Target
}

/// A floating-point kernel element type (`Float`, `Double`), with the C library's functions that the
/// CUDA kernels call, so that the host computes what a GPU does.
@usableFromInline
package protocol KernelFloatingElement: KernelElement, BinaryFloatingPoint {
    /// `expf(x)` or `exp(x)`.
    static func libmExp(_ x: Self) -> Self
    /// `logf(x)` or `log(x)`.
    static func libmLog(_ x: Self) -> Self
    /// `sinf(x)` or `sin(x)`.
    static func libmSin(_ x: Self) -> Self
    /// `cosf(x)` or `cos(x)`.
    static func libmCos(_ x: Self) -> Self
    /// `tanhf(x)` or `tanh(x)`.
    static func libmTanh(_ x: Self) -> Self
    /// `powf(x, y)` or `pow(x, y)`.
    static func libmPow(_ x: Self, _ y: Self) -> Self
}

/// An integer kernel element type (`Int32`, `Int`, `UInt8`).
@usableFromInline
package protocol KernelIntegerElement: KernelElement, FixedWidthInteger {}

extension KernelFloatingElement {
    @inlinable
    package static func apply<Operation: UnaryOperation>(_ operation: Operation.Type, _ x: Self) -> Self {
        Operation.apply(x)
    }

    @inlinable
    package static func apply<Operation: BinaryOperation>(_ operation: Operation.Type, _ x: Self, _ y: Self) -> Self {
        Operation.apply(x, y)
    }

    @inlinable
    package static func identity<Operation: FoldingReduction>(of operation: Operation.Type) -> Self {
        Operation.identity(Self.self)
    }

    @inlinable
    package static func converting<Source: KernelElement>(_ x: Source) -> Self {
        Source.converted(x, to: Self.self)
    }

    @inlinable
    package static func converted<Target: KernelFloatingElement>(_ x: Self, to target: Target.Type) -> Target {
        Conversion.convert(x, to: target)
    }

    @inlinable
    package static func converted<Target: KernelIntegerElement>(_ x: Self, to target: Target.Type) -> Target {
        Conversion.convert(x, to: target)
    }
}

extension KernelIntegerElement {
    @inlinable
    package static func apply<Operation: UnaryOperation>(_ operation: Operation.Type, _ x: Self) -> Self {
        Operation.apply(x)
    }

    @inlinable
    package static func apply<Operation: BinaryOperation>(_ operation: Operation.Type, _ x: Self, _ y: Self) -> Self {
        Operation.apply(x, y)
    }

    @inlinable
    package static func identity<Operation: FoldingReduction>(of operation: Operation.Type) -> Self {
        Operation.identity(Self.self)
    }

    @inlinable
    package static func converting<Source: KernelElement>(_ x: Source) -> Self {
        Source.converted(x, to: Self.self)
    }

    @inlinable
    package static func converted<Target: KernelFloatingElement>(_ x: Self, to target: Target.Type) -> Target {
        Conversion.convert(x, to: target)
    }

    @inlinable
    package static func converted<Target: KernelIntegerElement>(_ x: Self, to target: Target.Type) -> Target {
        Conversion.convert(x, to: target)
    }
}

extension Float: KernelFloatingElement {
    @inlinable package static func libmExp(_ x: Float) -> Float { expf(x) }
    @inlinable package static func libmLog(_ x: Float) -> Float { logf(x) }
    @inlinable package static func libmSin(_ x: Float) -> Float { sinf(x) }
    @inlinable package static func libmCos(_ x: Float) -> Float { cosf(x) }
    @inlinable package static func libmTanh(_ x: Float) -> Float { tanhf(x) }
    @inlinable package static func libmPow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
}

extension Double: KernelFloatingElement {
    @inlinable package static func libmExp(_ x: Double) -> Double { exp(x) }
    @inlinable package static func libmLog(_ x: Double) -> Double { log(x) }
    @inlinable package static func libmSin(_ x: Double) -> Double { sin(x) }
    @inlinable package static func libmCos(_ x: Double) -> Double { cos(x) }
    @inlinable package static func libmTanh(_ x: Double) -> Double { tanh(x) }
    @inlinable package static func libmPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
}

extension Int32: KernelIntegerElement {}
extension Int: KernelIntegerElement {}
extension UInt8: KernelIntegerElement {}

extension DType {
    /// Calls `body` with the Swift type of this element type (`Int` for `int64`).
    package func withKernelElementType<Result>(_ body: (any KernelElement.Type) -> Result) -> Result {
        switch self {
        case .float32: body(Float.self)
        case .float64: body(Double.self)
        case .int32: body(Int32.self)
        case .int64: body(Int.self)
        case .uint8: body(UInt8.self)
        }
    }
}

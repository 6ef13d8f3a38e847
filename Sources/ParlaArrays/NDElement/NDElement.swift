import ParlaDevices
import RealModule

/// A type that can be an element of an ``NDArray``: plain bits, copyable to a device with `memcpy`.
///
/// `Float`, `Double`, `Int32`, `Int` (64-bit) and `UInt8` conform; they are the element types Parla's
/// kernels compute on, each named by its ``dtype``. Arithmetic follows NumPy: integer `+ - *` wrap on
/// overflow, and integer division by zero gives 0 instead of trapping.
///
/// What an operation computes is not a requirement of this protocol. It is written once, in a table of
/// operation semantics inside Parla that also generates the GPU kernels, so that an array computes the
/// same on the host as on a GPU. An operation on an array of one of the five types takes its row of
/// that table; where the element type is known at compile time, the host loop compiles to the row's
/// expression for that type, as fast as a loop written for it. Another type that conforms can be
/// stored in arrays, but arithmetic on it stops with a message naming it.
public protocol NDElement: BitwiseCopyable, Sendable, Hashable, Comparable, Numeric, CustomStringConvertible {
    /// The element type of ``NDArray/sum(axis:)``: `Int` (64-bit) for the integer types narrower than
    /// 64 bits (`Int32`, `UInt8`), the type itself for `Int`, `Float` and `Double`.
    ///
    /// NumPy sums small integers in the platform integer (`np.array([200, 200], np.uint8).sum()` is
    /// `400`, not `144`), and so does `sum`. `Int` holds the sum of up to 2^31 `Int32`s of any value and
    /// of 2^55 `UInt8`s; sums of `Int` wrap on overflow, as in NumPy.
    associatedtype SumElement: NDElement = Self
    /// The element type's kernel name.
    static var dtype: DType { get }
}

/// A floating-point ``NDElement`` (`Float`, `Double`): the element types of `sqrt`, `exp`, `random` and
/// the other real-valued functions. Their sums keep their type.
public protocol NDFloatingElement: NDElement, BinaryFloatingPoint, Real where SumElement == Self {}

/// An integer ``NDElement`` (`Int32`, `Int`, `UInt8`).
public protocol NDIntegerElement: NDElement, FixedWidthInteger {}

extension Float: NDFloatingElement {
    /// `float32`.
    public static var dtype: DType { .float32 }
}

extension Double: NDFloatingElement {
    /// `float64`.
    public static var dtype: DType { .float64 }
}

extension Int32: NDIntegerElement {
    /// `int32`.
    public static var dtype: DType { .int32 }
    /// Sums of `Int32`s are `Int`s, as NumPy's sums of `int32` are `int64`.
    public typealias SumElement = Int
}

extension Int: NDIntegerElement {
    /// `int64`.
    public static var dtype: DType { .int64 }
}

extension UInt8: NDIntegerElement {
    /// `uint8`.
    public static var dtype: DType { .uint8 }
    /// Sums of `UInt8`s are `Int`s (NumPy's are `uint64`; `Int` holds every sum of up to 2^55 of them).
    public typealias SumElement = Int
}

import ParlaDevices
import RealModule

/// A type that can be an element of an ``NDArray``: plain bits, copyable to a device with `memcpy`.
///
/// `Float`, `Double`, `Int32`, `Int` (64-bit) and `UInt8` conform. Arithmetic follows NumPy: integer
/// `+ - *` wrap on overflow, and integer division by zero gives 0 instead of trapping.
public protocol NDElement: BitwiseCopyable, Sendable, Hashable, Comparable, Numeric, CustomStringConvertible {
    /// The element type of ``NDArray/sum(axis:)``: `Int` (64-bit) for the integer types narrower than
    /// 64 bits (`Int32`, `UInt8`), the type itself for `Int`, `Float` and `Double`.
    ///
    /// NumPy sums small integers in the platform integer (`np.array([200, 200], np.uint8).sum()` is
    /// `400`, not `144`), and so does `sum`. `Int` holds the sum of up to 2^31 `Int32`s of any value and
    /// of 2^55 `UInt8`s; sums of `Int` wrap on overflow, as in NumPy.
    associatedtype SumElement: NDElement = Self
    /// The value converted to ``SumElement`` (exactly), to be added into a sum.
    var _sumValue: SumElement { get }
    /// The element type's kernel name.
    static var dtype: DType { get }
    /// Whether the type is an integer type.
    static var _isInteger: Bool { get }
    /// The value as a `Double` (exact for every `Float` and for integers up to 2^53).
    var _doubleValue: Double { get }
    /// The value as an `Int64` (exact for every integer type; floats truncate toward zero).
    var _int64Value: Int64 { get }
    /// Converts a `Double`, truncating toward zero and saturating for integer types, as `astype` does.
    init(_ndDouble value: Double)
    /// Converts an `Int64`, wrapping for narrower integer types, as NumPy's `astype` does.
    init(_ndInt64 value: Int64)
    /// `lhs + rhs` with NumPy semantics (wrapping for integers).
    static func _add(_ lhs: Self, _ rhs: Self) -> Self
    /// `lhs - rhs` with NumPy semantics (wrapping for integers).
    static func _subtract(_ lhs: Self, _ rhs: Self) -> Self
    /// `lhs * rhs` with NumPy semantics (wrapping for integers).
    static func _multiply(_ lhs: Self, _ rhs: Self) -> Self
    /// `lhs / rhs` with NumPy semantics (integer division by zero gives 0).
    static func _divide(_ lhs: Self, _ rhs: Self) -> Self
    /// `-value` with NumPy semantics (wrapping for integers).
    static func _negate(_ value: Self) -> Self
    /// `abs(value)` with NumPy semantics (wrapping for the most negative integer).
    static func _magnitude(_ value: Self) -> Self
    /// The smallest and largest values, used as the identities of `max` and `min`.
    static var _lowest: Self { get }
    /// The largest value.
    static var _highest: Self { get }
}

extension NDElement {
    /// Converts any other element type to this one, with `astype`'s rules.
    @inlinable
    static func _converting<Source: NDElement>(_ value: Source) -> Self {
        Source._isInteger ? Self(_ndInt64: value._int64Value) : Self(_ndDouble: value._doubleValue)
    }
}

/// A floating-point ``NDElement`` (`Float`, `Double`): the element types of `sqrt`, `exp`, `random` and
/// the other real-valued functions. Their sums keep their type.
public protocol NDFloatingElement: NDElement, BinaryFloatingPoint, Real where SumElement == Self {}

/// An integer ``NDElement`` (`Int32`, `Int`, `UInt8`).
public protocol NDIntegerElement: NDElement, FixedWidthInteger {}

extension NDFloatingElement {
    public static var _isInteger: Bool { false }
    public var _doubleValue: Double { Double(self) }
    public var _int64Value: Int64 {
        guard self.isFinite else { return 0 }
        return Int64(exactly: Double(self).rounded(.towardZero)) ?? (self < 0 ? .min : .max)
    }
    public init(_ndDouble value: Double) { self.init(value) }
    public init(_ndInt64 value: Int64) { self.init(value) }
    @inlinable public var _sumValue: Self { self }
    @inlinable public static func _add(_ lhs: Self, _ rhs: Self) -> Self { lhs + rhs }
    @inlinable public static func _subtract(_ lhs: Self, _ rhs: Self) -> Self { lhs - rhs }
    @inlinable public static func _multiply(_ lhs: Self, _ rhs: Self) -> Self { lhs * rhs }
    @inlinable public static func _divide(_ lhs: Self, _ rhs: Self) -> Self { lhs / rhs }
    @inlinable public static func _negate(_ value: Self) -> Self { -value }
    @inlinable public static func _magnitude(_ value: Self) -> Self { Swift.abs(value) }
    public static var _lowest: Self { -Self.infinity }
    public static var _highest: Self { Self.infinity }
}

extension NDIntegerElement {
    public static var _isInteger: Bool { true }
    public var _doubleValue: Double { Double(self) }
    public var _int64Value: Int64 { Int64(truncatingIfNeeded: self) }
    public init(_ndDouble value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= Double(Self.max) {
            self = Self.max
        } else if value <= Double(Self.min) {
            self = Self.min
        } else {
            self.init(value.rounded(.towardZero))
        }
    }
    public init(_ndInt64 value: Int64) { self.init(truncatingIfNeeded: value) }
    @inlinable public static func _add(_ lhs: Self, _ rhs: Self) -> Self { lhs &+ rhs }
    @inlinable public static func _subtract(_ lhs: Self, _ rhs: Self) -> Self { lhs &- rhs }
    @inlinable public static func _multiply(_ lhs: Self, _ rhs: Self) -> Self { lhs &* rhs }
    @inlinable public static func _divide(_ lhs: Self, _ rhs: Self) -> Self {
        if rhs == 0 { return 0 }
        if Self.isSigned && rhs == -1 { return 0 &- lhs }
        return lhs / rhs
    }
    @inlinable public static func _negate(_ value: Self) -> Self { 0 &- value }
    @inlinable public static func _magnitude(_ value: Self) -> Self { value < 0 ? 0 &- value : value }
    public static var _lowest: Self { Self.min }
    public static var _highest: Self { Self.max }
}

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
    @inlinable public var _sumValue: Int { Int(self) }
}

extension Int: NDIntegerElement {
    /// `int64`.
    public static var dtype: DType { .int64 }
    @inlinable public var _sumValue: Int { self }
}

extension UInt8: NDIntegerElement {
    /// `uint8`.
    public static var dtype: DType { .uint8 }
    /// Sums of `UInt8`s are `Int`s (NumPy's are `uint64`; `Int` holds every sum of up to 2^55 of them).
    public typealias SumElement = Int
    @inlinable public var _sumValue: Int { Int(self) }
}

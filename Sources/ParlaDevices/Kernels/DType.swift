/// The element type of a device array, as kernels see it.
///
/// Every `NDElement` (in `ParlaArrays`) has a `DType`, which names the C type used when kernels are generated for it.
public enum DType: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// 32-bit IEEE float, `float` in C, `float32` in NumPy.
    case float32
    /// 64-bit IEEE float, `double` in C, `float64` in NumPy.
    case float64
    /// 32-bit signed integer, `int` in C, `int32` in NumPy.
    case int32
    /// 64-bit signed integer, `long long` in C, `int64` in NumPy.
    case int64
    /// 8-bit unsigned integer, `unsigned char` in C, `uint8` in NumPy.
    case uint8

    /// The C type name kernels use for this element type.
    public var cTypeName: String {
        switch self {
        case .float32: return "float"
        case .float64: return "double"
        case .int32: return "int"
        case .int64: return "long long"
        case .uint8: return "unsigned char"
        }
    }

    /// Whether the elements are floating-point numbers (`float32`, `float64`) rather than integers.
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }

    /// The size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        case .uint8: return 1
        }
    }

    /// The NumPy name (`"float32"`, `"int64"`, ...).
    public var description: String { self.rawValue }
}

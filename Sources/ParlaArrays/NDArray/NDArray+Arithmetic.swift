import ParlaDevices

// Element-wise arithmetic with NumPy broadcasting. Integer arithmetic wraps on overflow and integer
// division by zero gives 0, as NumPy's does (without its warning).

extension NDArray {
    /// Element-wise sum, broadcasting. NumPy: `a + b`.
    @inlinable
    public static func + (lhs: NDArray, rhs: NDArray) -> NDArray { lhs._binary(BinaryOperator.Add.self, rhs) }

    /// Element-wise difference, broadcasting. NumPy: `a - b`.
    @inlinable
    public static func - (lhs: NDArray, rhs: NDArray) -> NDArray { lhs._binary(BinaryOperator.Subtract.self, rhs) }

    /// Element-wise product, broadcasting. NumPy: `a * b`.
    @inlinable
    public static func * (lhs: NDArray, rhs: NDArray) -> NDArray { lhs._binary(BinaryOperator.Multiply.self, rhs) }

    /// Element-wise quotient, broadcasting. NumPy: `a / b` (for integers, `a // b` truncated toward zero).
    @inlinable
    public static func / (lhs: NDArray, rhs: NDArray) -> NDArray { lhs._binary(BinaryOperator.Divide.self, rhs) }

    /// Adds a scalar to every element. NumPy: `a + 1`.
    @inlinable
    public static func + (lhs: NDArray, rhs: Element) -> NDArray {
        lhs._binary(BinaryOperator.Add.self, scalar: rhs, scalarFirst: false)
    }

    /// Subtracts a scalar from every element. NumPy: `a - 1`.
    @inlinable
    public static func - (lhs: NDArray, rhs: Element) -> NDArray {
        lhs._binary(BinaryOperator.Subtract.self, scalar: rhs, scalarFirst: false)
    }

    /// Multiplies every element by a scalar. NumPy: `a * 2`.
    @inlinable
    public static func * (lhs: NDArray, rhs: Element) -> NDArray {
        lhs._binary(BinaryOperator.Multiply.self, scalar: rhs, scalarFirst: false)
    }

    /// Divides every element by a scalar. NumPy: `a / 2`.
    @inlinable
    public static func / (lhs: NDArray, rhs: Element) -> NDArray {
        lhs._binary(BinaryOperator.Divide.self, scalar: rhs, scalarFirst: false)
    }

    /// Adds every element to a scalar. NumPy: `1 + a`.
    @inlinable
    public static func + (lhs: Element, rhs: NDArray) -> NDArray {
        rhs._binary(BinaryOperator.Add.self, scalar: lhs, scalarFirst: true)
    }

    /// Subtracts every element from a scalar. NumPy: `1 - a`.
    @inlinable
    public static func - (lhs: Element, rhs: NDArray) -> NDArray {
        rhs._binary(BinaryOperator.Subtract.self, scalar: lhs, scalarFirst: true)
    }

    /// Multiplies a scalar by every element. NumPy: `2 * a`.
    @inlinable
    public static func * (lhs: Element, rhs: NDArray) -> NDArray {
        rhs._binary(BinaryOperator.Multiply.self, scalar: lhs, scalarFirst: true)
    }

    /// Divides a scalar by every element. NumPy: `1 / a`.
    @inlinable
    public static func / (lhs: Element, rhs: NDArray) -> NDArray {
        rhs._binary(BinaryOperator.Divide.self, scalar: lhs, scalarFirst: true)
    }

    /// Element-wise negation. NumPy: `-a`.
    @inlinable
    public static prefix func - (operand: NDArray) -> NDArray { operand._unary(UnaryOperator.Negate.self) }

    /// `lhs = lhs + rhs`; the result keeps `lhs`'s shape. NumPy: `a += b`.
    public static func += (lhs: inout NDArray, rhs: NDArray) { lhs._updateInPlace(with: lhs + rhs) }

    /// `lhs = lhs - rhs`; the result keeps `lhs`'s shape. NumPy: `a -= b`.
    public static func -= (lhs: inout NDArray, rhs: NDArray) { lhs._updateInPlace(with: lhs - rhs) }

    /// `lhs = lhs * rhs`; the result keeps `lhs`'s shape. NumPy: `a *= b`.
    public static func *= (lhs: inout NDArray, rhs: NDArray) { lhs._updateInPlace(with: lhs * rhs) }

    /// `lhs = lhs / rhs`; the result keeps `lhs`'s shape. NumPy: `a /= b`.
    public static func /= (lhs: inout NDArray, rhs: NDArray) { lhs._updateInPlace(with: lhs / rhs) }

    /// `lhs = lhs + rhs`. NumPy: `a += 1`.
    public static func += (lhs: inout NDArray, rhs: Element) { lhs = lhs + rhs }

    /// `lhs = lhs - rhs`. NumPy: `a -= 1`.
    public static func -= (lhs: inout NDArray, rhs: Element) { lhs = lhs - rhs }

    /// `lhs = lhs * rhs`. NumPy: `a *= 2`.
    public static func *= (lhs: inout NDArray, rhs: Element) { lhs = lhs * rhs }

    /// `lhs = lhs / rhs`. NumPy: `a /= 2`.
    public static func /= (lhs: inout NDArray, rhs: Element) { lhs = lhs / rhs }

    /// Replaces the value by `result`, which must keep this array's shape (in-place operators cannot
    /// grow the left operand, as in NumPy).
    private mutating func _updateInPlace(with result: NDArray) {
        parlaPrecondition(
            result.shape == self.shape,
            "an in-place operation cannot change the shape \(self.shape) of its left operand to \(result.shape)"
        )
        self = result
    }

    /// Element-wise absolute value. NumPy: `np.abs(a)`.
    @inlinable
    public func abs() -> NDArray { self._unary(UnaryOperator.Abs.self) }

    /// Element-wise larger of two arrays, broadcasting. NumPy: `np.maximum(a, b)` (NaN wins, as there).
    @inlinable
    public func maximum(_ other: NDArray) -> NDArray {
        self._binary(BinaryOperator.Maximum.self, other)
    }

    /// Element-wise smaller of two arrays, broadcasting. NumPy: `np.minimum(a, b)` (NaN wins, as there).
    @inlinable
    public func minimum(_ other: NDArray) -> NDArray {
        self._binary(BinaryOperator.Minimum.self, other)
    }

    /// Element-wise larger of each element and a scalar. NumPy: `np.maximum(a, x)`.
    @inlinable
    public func maximum(_ scalar: Element) -> NDArray {
        self._binary(BinaryOperator.Maximum.self, scalar: scalar, scalarFirst: false)
    }

    /// Element-wise smaller of each element and a scalar. NumPy: `np.minimum(a, x)`.
    @inlinable
    public func minimum(_ scalar: Element) -> NDArray {
        self._binary(BinaryOperator.Minimum.self, scalar: scalar, scalarFirst: false)
    }
}

/// Element-wise absolute value. NumPy: `np.abs(a)`.
@inlinable
public func abs<Element>(_ x: NDArray<Element>) -> NDArray<Element> { x.abs() }

/// Element-wise larger of two arrays, broadcasting. NumPy: `np.maximum(a, b)`.
@inlinable
public func maximum<Element>(_ a: NDArray<Element>, _ b: NDArray<Element>) -> NDArray<Element> { a.maximum(b) }

/// Element-wise smaller of two arrays, broadcasting. NumPy: `np.minimum(a, b)`.
@inlinable
public func minimum<Element>(_ a: NDArray<Element>, _ b: NDArray<Element>) -> NDArray<Element> { a.minimum(b) }

import ParlaDevices
import RealModule

// Real-valued element-wise functions, for floating-point arrays. Convert integer arrays first:
// `sqrt(a.astype(Double.self))`.

extension NDArray where Element: NDFloatingElement {
    /// Element-wise square root. NumPy: `np.sqrt(a)`.
    @inlinable public func sqrt() -> NDArray { self._unary(.sqrt) { $0.squareRoot() } }
    /// Element-wise e^x. NumPy: `np.exp(a)`.
    @inlinable public func exp() -> NDArray { self._unary(.exp) { Element.exp($0) } }
    /// Element-wise natural logarithm. NumPy: `np.log(a)`.
    @inlinable public func log() -> NDArray { self._unary(.log) { Element.log($0) } }
    /// Element-wise sine. NumPy: `np.sin(a)`.
    @inlinable public func sin() -> NDArray { self._unary(.sin) { Element.sin($0) } }
    /// Element-wise cosine. NumPy: `np.cos(a)`.
    @inlinable public func cos() -> NDArray { self._unary(.cos) { Element.cos($0) } }
    /// Element-wise hyperbolic tangent. NumPy: `np.tanh(a)`.
    @inlinable public func tanh() -> NDArray { self._unary(.tanh) { Element.tanh($0) } }
    /// Element-wise power with a scalar exponent. NumPy: `a ** p`.
    @inlinable public func pow(_ exponent: Element) -> NDArray {
        self._binary(.pow, scalar: exponent, scalarFirst: false) { Element.pow($0, exponent) }
    }
    /// Element-wise power, broadcasting. NumPy: `np.power(a, b)`.
    @inlinable public func pow(_ exponent: NDArray) -> NDArray { self._binary(.pow, exponent) { Element.pow($0, $1) } }
}

/// Element-wise square root. NumPy: `np.sqrt(a)`.
@inlinable public func sqrt<E: NDFloatingElement>(_ x: NDArray<E>) -> NDArray<E> { x.sqrt() }
/// Element-wise e^x. NumPy: `np.exp(a)`.
@inlinable public func exp<E: NDFloatingElement>(_ x: NDArray<E>) -> NDArray<E> { x.exp() }
/// Element-wise natural logarithm. NumPy: `np.log(a)`.
@inlinable public func log<E: NDFloatingElement>(_ x: NDArray<E>) -> NDArray<E> { x.log() }
/// Element-wise sine. NumPy: `np.sin(a)`.
@inlinable public func sin<E: NDFloatingElement>(_ x: NDArray<E>) -> NDArray<E> { x.sin() }
/// Element-wise cosine. NumPy: `np.cos(a)`.
@inlinable public func cos<E: NDFloatingElement>(_ x: NDArray<E>) -> NDArray<E> { x.cos() }
/// Element-wise hyperbolic tangent. NumPy: `np.tanh(a)`.
@inlinable public func tanh<E: NDFloatingElement>(_ x: NDArray<E>) -> NDArray<E> { x.tanh() }
/// Element-wise power with a scalar exponent. NumPy: `np.power(a, p)`.
@inlinable public func pow<E: NDFloatingElement>(_ x: NDArray<E>, _ p: E) -> NDArray<E> { x.pow(p) }
/// Element-wise power, broadcasting. NumPy: `np.power(a, b)`.
@inlinable public func pow<E: NDFloatingElement>(_ x: NDArray<E>, _ p: NDArray<E>) -> NDArray<E> { x.pow(p) }

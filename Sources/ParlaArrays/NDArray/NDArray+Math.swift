import ParlaDevices

// Real-valued element-wise functions, for floating-point arrays. Convert integer arrays first:
// `sqrt(a.astype(Double.self))`.

extension NDArray where Element: NDFloatingElement {
    /// Element-wise square root. NumPy: `np.sqrt(a)`.
    @inlinable public func sqrt() -> NDArray { self._unary(UnaryOperator.Sqrt.self) }
    /// Element-wise e^x. NumPy: `np.exp(a)`.
    @inlinable public func exp() -> NDArray { self._unary(UnaryOperator.Exp.self) }
    /// Element-wise natural logarithm. NumPy: `np.log(a)`.
    @inlinable public func log() -> NDArray { self._unary(UnaryOperator.Log.self) }
    /// Element-wise sine. NumPy: `np.sin(a)`.
    @inlinable public func sin() -> NDArray { self._unary(UnaryOperator.Sin.self) }
    /// Element-wise cosine. NumPy: `np.cos(a)`.
    @inlinable public func cos() -> NDArray { self._unary(UnaryOperator.Cos.self) }
    /// Element-wise hyperbolic tangent. NumPy: `np.tanh(a)`.
    @inlinable public func tanh() -> NDArray { self._unary(UnaryOperator.Tanh.self) }
    /// Element-wise power with a scalar exponent: the C library's `pow`, as NumPy's (a negative base
    /// gives NaN unless the exponent is integral, and `pow(0, 0)` is 1). NumPy: `a ** p`.
    @inlinable public func pow(_ exponent: Element) -> NDArray {
        self._binary(BinaryOperator.Pow.self, scalar: exponent, scalarFirst: false)
    }
    /// Element-wise power, broadcasting: the C library's `pow`, as NumPy's (a negative base gives NaN
    /// unless the exponent is integral, and `pow(0, 0)` is 1). NumPy: `np.power(a, b)`.
    @inlinable public func pow(_ exponent: NDArray) -> NDArray { self._binary(BinaryOperator.Pow.self, exponent) }
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

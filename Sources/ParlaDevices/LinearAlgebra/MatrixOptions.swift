/// Which triangle of a square matrix an operation reads or writes. BLAS and LAPACK: `uplo`.
public enum MatrixTriangle: String, Sendable, Hashable, CaseIterable {
    /// The diagonal and the elements below it (`'L'`).
    case lower
    /// The diagonal and the elements above it (`'U'`).
    case upper

    /// The other triangle: where a matrix's triangle lies in its transpose.
    public var flipped: MatrixTriangle { self == .lower ? .upper : .lower }
}

/// Which side of the unknown matrix a triangular matrix stands in a triangular solve. BLAS: `side`.
public enum MatrixSide: String, Sendable, Hashable, CaseIterable {
    /// `op(A) · X = alpha · B` (`'L'`).
    case left
    /// `X · op(A) = alpha · B` (`'R'`).
    case right

    /// The other side: where the triangular matrix stands once the equation is transposed.
    public var flipped: MatrixSide { self == .left ? .right : .left }
}

/// A matrix argument of a BLAS or LAPACK call on a device: column-major, as the libraries take it.
///
/// Element `(i, j)` is at `offset + i + j * leadingDimension` elements from the start of `allocation`.
/// NDArray hands its row-major matrices over as the column-major matrices of their transposes, with
/// the operation rewritten by the transposition identities, so that nothing is copied.
public struct MatrixOperand: Sendable {
    /// The memory holding the matrix.
    public var allocation: DeviceAllocation
    /// The position of element `(0, 0)`, in elements from the start of the allocation.
    public var offset: Int
    /// The distance in elements between the starts of neighbouring columns (BLAS: `lda`).
    public var leadingDimension: Int
    /// The element type (`.float32` or `.float64`).
    public var dtype: DType

    /// A column-major matrix of `dtype` elements in `allocation`, starting `offset` elements in.
    public init(allocation: DeviceAllocation, offset: Int, leadingDimension: Int, dtype: DType) {
        self.allocation = allocation
        self.offset = offset
        self.leadingDimension = leadingDimension
        self.dtype = dtype
    }
}

/// The outcome of a Cholesky factorization queued on a device: LAPACK's `info`, known once the device
/// has run the factorization.
public struct FactorizationStatus: Sendable {
    private let fetch: @Sendable () throws(DeviceError) -> Int

    /// A status known already.
    public static func known(_ info: Int) -> FactorizationStatus {
        FactorizationStatus { () throws(DeviceError) in info }
    }

    /// A status read, after waiting for the device, by `fetch`.
    public init(fetch: @escaping @Sendable () throws(DeviceError) -> Int) { self.fetch = fetch }

    /// Waits for the factorization; returns 0 when it succeeded, or `i > 0` when the leading minor of
    /// order `i` is not positive definite (LAPACK's `info`).
    public func wait() throws(DeviceError) -> Int { try self.fetch() }
}

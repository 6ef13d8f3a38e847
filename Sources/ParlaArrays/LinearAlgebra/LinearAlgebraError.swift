import ParlaDevices

/// Why a factorization could not be completed: a property of the matrix, not of the device.
public enum LinearAlgebraError: Error, Equatable, CustomStringConvertible {
    /// The leading minor of order `minor` of the `order`×`order` matrix on `device` is not positive
    /// definite, so it has no Cholesky factor (LAPACK's `info > 0`). NumPy raises `LinAlgError`.
    case notPositiveDefinite(order: Int, minor: Int, device: Device)

    public var description: String {
        switch self {
        case .notPositiveDefinite(let order, let minor, let device):
            return
                "the \(order)×\(order) matrix on \(device) is not positive definite: its leading minor of order \(minor) is not, so it has no Cholesky factor"
        }
    }
}

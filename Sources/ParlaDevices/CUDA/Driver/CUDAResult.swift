import CCUDADriver

/// A result code of the CUDA driver API (`CUresult`), with the names `cuda.h` gives the codes Parla
/// meets, so that messages and tests say `CUDA_ERROR_INVALID_HANDLE` instead of `400`.
public struct CUDAResult: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The numeric code.
    public let rawValue: Int32

    /// Wraps a numeric code.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `CUDA_SUCCESS`.
    public static let success = CUDAResult(rawValue: 0)
    /// `CUDA_ERROR_INVALID_VALUE`: an argument is out of range.
    public static let invalidValue = CUDAResult(rawValue: 1)
    /// `CUDA_ERROR_OUT_OF_MEMORY`.
    public static let outOfMemory = CUDAResult(rawValue: 2)
    /// `CUDA_ERROR_NOT_INITIALIZED`: `cuInit` has not been called.
    public static let notInitialized = CUDAResult(rawValue: 3)
    /// `CUDA_ERROR_NO_DEVICE`.
    public static let noDevice = CUDAResult(rawValue: 100)
    /// `CUDA_ERROR_INVALID_DEVICE`.
    public static let invalidDevice = CUDAResult(rawValue: 101)
    /// `CUDA_ERROR_INVALID_IMAGE`: a module image the driver cannot load.
    public static let invalidImage = CUDAResult(rawValue: 200)
    /// `CUDA_ERROR_INVALID_CONTEXT`: no context is current, or the wrong one.
    public static let invalidContext = CUDAResult(rawValue: 201)
    /// `CUDA_ERROR_INVALID_HANDLE`: a stream, event, module or function that is not valid here (for
    /// example an event recorded on a stream of another context).
    public static let invalidHandle = CUDAResult(rawValue: 400)
    /// `CUDA_ERROR_NOT_FOUND`: a named symbol does not exist.
    public static let notFound = CUDAResult(rawValue: 500)
    /// `CUDA_ERROR_NOT_READY`: asynchronous work has not finished (not a failure).
    public static let notReady = CUDAResult(rawValue: 600)
    /// `CUDA_ERROR_ILLEGAL_ADDRESS`: memory accessed outside any allocation the context may use.
    public static let illegalAddress = CUDAResult(rawValue: 700)
    /// `CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED` (not a failure when enabling peer access).
    public static let peerAccessAlreadyEnabled = CUDAResult(rawValue: 704)
    /// `CUDA_ERROR_PEER_ACCESS_NOT_ENABLED`: a peer copy or access between contexts without peer access.
    public static let peerAccessNotEnabled = CUDAResult(rawValue: 705)
    /// `CUDA_ERROR_LAUNCH_FAILED`: a kernel failed while running.
    public static let launchFailed = CUDAResult(rawValue: 719)
    /// `CUDA_ERROR_UNKNOWN`.
    public static let unknown = CUDAResult(rawValue: 999)

    /// Whether this is `CUDA_SUCCESS`.
    @inline(__always)
    public var isSuccess: Bool { self.rawValue == 0 }

    /// The name `cuda.h` gives the code (`CUDA_ERROR_INVALID_HANDLE`), or `CUDA error N`.
    public var name: String {
        switch self.rawValue {
        case 0: return "CUDA_SUCCESS"
        case 1: return "CUDA_ERROR_INVALID_VALUE"
        case 2: return "CUDA_ERROR_OUT_OF_MEMORY"
        case 3: return "CUDA_ERROR_NOT_INITIALIZED"
        case 100: return "CUDA_ERROR_NO_DEVICE"
        case 101: return "CUDA_ERROR_INVALID_DEVICE"
        case 200: return "CUDA_ERROR_INVALID_IMAGE"
        case 201: return "CUDA_ERROR_INVALID_CONTEXT"
        case 400: return "CUDA_ERROR_INVALID_HANDLE"
        case 500: return "CUDA_ERROR_NOT_FOUND"
        case 600: return "CUDA_ERROR_NOT_READY"
        case 700: return "CUDA_ERROR_ILLEGAL_ADDRESS"
        case 704: return "CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED"
        case 705: return "CUDA_ERROR_PEER_ACCESS_NOT_ENABLED"
        case 719: return "CUDA_ERROR_LAUNCH_FAILED"
        case 999: return "CUDA_ERROR_UNKNOWN"
        default: return "CUDA error \(self.rawValue)"
        }
    }

    /// `CUDA_ERROR_INVALID_HANDLE (400)`.
    public var description: String { "\(self.name) (\(self.rawValue))" }
}

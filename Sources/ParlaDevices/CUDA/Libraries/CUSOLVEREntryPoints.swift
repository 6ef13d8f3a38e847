import CCUDADriver

/// The cuSOLVER (dense) functions Parla calls, loaded from `libcusolver` (``load()``), or the
/// simulated ones (``SimulatedCUDA/cusolverEntryPoints``).
struct CUSOLVEREntryPoints: Sendable {
    typealias Create = @convention(c) (UnsafeMutablePointer<OpaquePointer?>?) -> Int32
    typealias Destroy = @convention(c) (OpaquePointer?) -> Int32
    typealias SetStream = @convention(c) (OpaquePointer?, CUstream?) -> Int32
    typealias SPotrfBufferSize =
        @convention(c) (OpaquePointer?, Int32, Int32, UnsafeMutablePointer<Float>?, Int32, UnsafeMutablePointer<Int32>?)
        -> Int32
    typealias DPotrfBufferSize =
        @convention(c) (
            OpaquePointer?, Int32, Int32, UnsafeMutablePointer<Double>?, Int32, UnsafeMutablePointer<Int32>?
        )
        -> Int32
    typealias SPotrf =
        @convention(c) (
            OpaquePointer?, Int32, Int32, UnsafeMutablePointer<Float>?, Int32, UnsafeMutablePointer<Float>?, Int32,
            UnsafeMutablePointer<Int32>?
        ) -> Int32
    typealias DPotrf =
        @convention(c) (
            OpaquePointer?, Int32, Int32, UnsafeMutablePointer<Double>?, Int32, UnsafeMutablePointer<Double>?, Int32,
            UnsafeMutablePointer<Int32>?
        ) -> Int32

    var create: Create
    var destroy: Destroy
    var setStream: SetStream
    var spotrfBufferSize: SPotrfBufferSize
    var dpotrfBufferSize: DPotrfBufferSize
    var spotrf: SPotrf
    var dpotrf: DPotrf
    /// The library file, for messages.
    var path: String

    static let loader = CUDALibraryLoader(
        name: "cuSOLVER",
        variable: "PARLA_CUSOLVER",
        fileNames: ["libcusolver.so", "libcusolver.so.12", "libcusolver.so.11"]
    )

    /// The functions of `libcusolver`, or ``DeviceError/cudaUnavailable(reason:)`` saying what is missing.
    static func load() throws(DeviceError) -> CUSOLVEREntryPoints {
        let (handle, path) = try loader.open()
        func symbol<T>(_ name: String, as type: T.Type) throws(DeviceError) -> T {
            try loader.function(name, in: handle, path: path, as: type)
        }
        return CUSOLVEREntryPoints(
            create: try symbol("cusolverDnCreate", as: Create.self),
            destroy: try symbol("cusolverDnDestroy", as: Destroy.self),
            setStream: try symbol("cusolverDnSetStream", as: SetStream.self),
            spotrfBufferSize: try symbol("cusolverDnSpotrf_bufferSize", as: SPotrfBufferSize.self),
            dpotrfBufferSize: try symbol("cusolverDnDpotrf_bufferSize", as: DPotrfBufferSize.self),
            spotrf: try symbol("cusolverDnSpotrf", as: SPotrf.self),
            dpotrf: try symbol("cusolverDnDpotrf", as: DPotrf.self),
            path: path
        )
    }

    /// cuSOLVER's name for a status code.
    static func statusName(_ status: Int32) -> String {
        switch status {
        case 0: return "CUSOLVER_STATUS_SUCCESS"
        case 1: return "CUSOLVER_STATUS_NOT_INITIALIZED"
        case 2: return "CUSOLVER_STATUS_ALLOC_FAILED"
        case 3: return "CUSOLVER_STATUS_INVALID_VALUE"
        case 4: return "CUSOLVER_STATUS_ARCH_MISMATCH"
        case 5: return "CUSOLVER_STATUS_MAPPING_ERROR"
        case 6: return "CUSOLVER_STATUS_EXECUTION_FAILED"
        case 7: return "CUSOLVER_STATUS_INTERNAL_ERROR"
        case 8: return "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED"
        case 9: return "CUSOLVER_STATUS_NOT_SUPPORTED"
        default: return "cuSOLVER status \(status)"
        }
    }
}

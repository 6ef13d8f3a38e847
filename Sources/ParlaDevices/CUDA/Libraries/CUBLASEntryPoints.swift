import CCUDADriver

/// The cuBLAS functions Parla calls, loaded from `libcublas` with `dlsym` (``load()``), or the
/// simulated ones (``SimulatedCUDA/cublasEntryPoints``). Every call goes through ``CUDALibraries``,
/// which checks its status. Handles are `cublasHandle_t`; device memory is passed as the address bits
/// of typed pointers, which the host never dereferences.
struct CUBLASEntryPoints: Sendable {
    typealias Create = @convention(c) (UnsafeMutablePointer<OpaquePointer?>?) -> Int32
    typealias Destroy = @convention(c) (OpaquePointer?) -> Int32
    typealias SetStream = @convention(c) (OpaquePointer?, CUstream?) -> Int32
    typealias SGEMM =
        @convention(c) (
            OpaquePointer?, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Float>?, UnsafePointer<Float>?, Int32,
            UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int32
        ) -> Int32
    typealias DGEMM =
        @convention(c) (
            OpaquePointer?, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Double>?, UnsafePointer<Double>?, Int32,
            UnsafePointer<Double>?, Int32, UnsafePointer<Double>?, UnsafeMutablePointer<Double>?, Int32
        ) -> Int32
    typealias SSYRK =
        @convention(c) (
            OpaquePointer?, Int32, Int32, Int32, Int32, UnsafePointer<Float>?, UnsafePointer<Float>?, Int32,
            UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int32
        ) -> Int32
    typealias DSYRK =
        @convention(c) (
            OpaquePointer?, Int32, Int32, Int32, Int32, UnsafePointer<Double>?, UnsafePointer<Double>?, Int32,
            UnsafePointer<Double>?, UnsafeMutablePointer<Double>?, Int32
        ) -> Int32
    typealias STRSM =
        @convention(c) (
            OpaquePointer?, Int32, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Float>?, UnsafePointer<Float>?,
            Int32,
            UnsafeMutablePointer<Float>?, Int32
        ) -> Int32
    typealias DTRSM =
        @convention(c) (
            OpaquePointer?, Int32, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Double>?, UnsafePointer<Double>?,
            Int32,
            UnsafeMutablePointer<Double>?, Int32
        ) -> Int32

    var create: Create
    var destroy: Destroy
    var setStream: SetStream
    var sgemm: SGEMM
    var dgemm: DGEMM
    var ssyrk: SSYRK
    var dsyrk: DSYRK
    var strsm: STRSM
    var dtrsm: DTRSM
    /// The library file, for messages.
    var path: String

    /// cuBLAS's names for its enumerations' cases, as the C headers number them.
    enum Constant {
        static let noTranspose: Int32 = 0
        static let transpose: Int32 = 1
        static let lower: Int32 = 0
        static let upper: Int32 = 1
        static let left: Int32 = 0
        static let right: Int32 = 1
        static let nonUnit: Int32 = 0
        static let unit: Int32 = 1
    }

    static let loader = CUDALibraryLoader(
        name: "cuBLAS",
        variable: "PARLA_CUBLAS",
        fileNames: ["libcublas.so", "libcublas.so.13", "libcublas.so.12"]
    )

    /// The functions of `libcublas`, or ``DeviceError/cudaUnavailable(reason:)`` saying what is missing.
    static func load() throws(DeviceError) -> CUBLASEntryPoints {
        let (handle, path) = try loader.open()
        func symbol<T>(_ name: String, as type: T.Type) throws(DeviceError) -> T {
            try loader.function(name, in: handle, path: path, as: type)
        }
        return CUBLASEntryPoints(
            create: try symbol("cublasCreate_v2", as: Create.self),
            destroy: try symbol("cublasDestroy_v2", as: Destroy.self),
            setStream: try symbol("cublasSetStream_v2", as: SetStream.self),
            sgemm: try symbol("cublasSgemm_v2", as: SGEMM.self),
            dgemm: try symbol("cublasDgemm_v2", as: DGEMM.self),
            ssyrk: try symbol("cublasSsyrk_v2", as: SSYRK.self),
            dsyrk: try symbol("cublasDsyrk_v2", as: DSYRK.self),
            strsm: try symbol("cublasStrsm_v2", as: STRSM.self),
            dtrsm: try symbol("cublasDtrsm_v2", as: DTRSM.self),
            path: path
        )
    }

    /// cuBLAS's name for a status code.
    static func statusName(_ status: Int32) -> String {
        switch status {
        case 0: return "CUBLAS_STATUS_SUCCESS"
        case 1: return "CUBLAS_STATUS_NOT_INITIALIZED"
        case 3: return "CUBLAS_STATUS_ALLOC_FAILED"
        case 7: return "CUBLAS_STATUS_INVALID_VALUE"
        case 8: return "CUBLAS_STATUS_ARCH_MISMATCH"
        case 11: return "CUBLAS_STATUS_MAPPING_ERROR"
        case 13: return "CUBLAS_STATUS_EXECUTION_FAILED"
        case 14: return "CUBLAS_STATUS_INTERNAL_ERROR"
        case 15: return "CUBLAS_STATUS_NOT_SUPPORTED"
        case 16: return "CUBLAS_STATUS_LICENSE_ERROR"
        default: return "cuBLAS status \(status)"
        }
    }
}

import ParlaDevices

#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS's CBLAS triangular routines and its LAPACK Cholesky factorization, found at run time
/// beside `cblas_?gemm` (``_OpenBLAS``); `nil` when no OpenBLAS loads (or `PARLA_BLAS=builtin`), and
/// the host then runs ``ReferenceLinearAlgebra``.
struct HostLAPACK: @unchecked Sendable {
    // @unchecked Sendable: immutable C function pointers into a library that is never unloaded.
    typealias SSYRK =
        @convention(c) (
            Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32, Float,
            UnsafeMutablePointer<Float>?, Int32
        ) -> Void
    typealias DSYRK =
        @convention(c) (
            Int32, Int32, Int32, Int32, Int32, Double, UnsafePointer<Double>?, Int32, Double,
            UnsafeMutablePointer<Double>?, Int32
        ) -> Void
    typealias STRSM =
        @convention(c) (
            Int32, Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
            UnsafeMutablePointer<Float>?, Int32
        ) -> Void
    typealias DTRSM =
        @convention(c) (
            Int32, Int32, Int32, Int32, Int32, Int32, Int32, Double, UnsafePointer<Double>?, Int32,
            UnsafeMutablePointer<Double>?, Int32
        ) -> Void
    /// LAPACK's Fortran `?potrf_(uplo, n, a, lda, info)`, every argument by reference, with the length
    /// of `uplo` after them (which gfortran's calling convention adds; OpenBLAS's own routine ignores it).
    typealias SPOTRF =
        @convention(c) (
            UnsafePointer<CChar>?, UnsafePointer<Int32>?, UnsafeMutablePointer<Float>?, UnsafePointer<Int32>?,
            UnsafeMutablePointer<Int32>?, Int
        ) -> Void
    typealias DPOTRF =
        @convention(c) (
            UnsafePointer<CChar>?, UnsafePointer<Int32>?, UnsafeMutablePointer<Double>?, UnsafePointer<Int32>?,
            UnsafeMutablePointer<Int32>?, Int
        ) -> Void

    let ssyrk: SSYRK
    let dsyrk: DSYRK
    let strsm: STRSM
    let dtrsm: DTRSM
    let spotrf: SPOTRF
    let dpotrf: DPOTRF

    /// CBLAS's and LAPACKE's constants.
    static let columnMajor: Int32 = 102
    static let noTranspose: Int32 = 111
    static let transpose: Int32 = 112
    static let upper: Int32 = 121
    static let lower: Int32 = 122
    static let nonUnit: Int32 = 131
    static let unit: Int32 = 132
    static let left: Int32 = 141
    static let right: Int32 = 142

    /// The loaded routines, or `nil`.
    static let shared: HostLAPACK? = {
        #if canImport(Glibc)
        if let setting = getenv("PARLA_BLAS"), String(cString: setting) == "builtin" { return nil }
        for name in ["libopenblas.so.0", "libopenblas.so"] {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            func symbol<T>(_ name: String, _ type: T.Type) -> T? {
                dlsym(handle, name).map { unsafeBitCast($0, to: type) }
            }
            guard let ssyrk = symbol("cblas_ssyrk", SSYRK.self), let dsyrk = symbol("cblas_dsyrk", DSYRK.self),
                let strsm = symbol("cblas_strsm", STRSM.self), let dtrsm = symbol("cblas_dtrsm", DTRSM.self),
                let spotrf = symbol("spotrf_", SPOTRF.self), let dpotrf = symbol("dpotrf_", DPOTRF.self)
            else {
                dlclose(handle)
                continue
            }
            return HostLAPACK(ssyrk: ssyrk, dsyrk: dsyrk, strsm: strsm, dtrsm: dtrsm, spotrf: spotrf, dpotrf: dpotrf)
        }
        #endif
        return nil
    }()
}

import CCUDADriver

#if canImport(Glibc)
import Glibc
#endif

/// The table of CUDA driver functions the backend calls: loaded from `libcuda.so.1` with `dlsym`
/// (``load()``), or the simulated driver's (``SimulatedCUDA/entryPoints``). Nothing else in Parla
/// holds a driver function; every call goes through ``CUDADriver``, which checks its result.
struct CUDADriverEntryPoints: Sendable {
    var cuInit: PFN_cuInit
    var cuDriverGetVersion: PFN_cuDriverGetVersion
    var cuDeviceGetCount: PFN_cuDeviceGetCount
    var cuDeviceGet: PFN_cuDeviceGet
    var cuDeviceGetName: PFN_cuDeviceGetName
    var cuDeviceGetAttribute: PFN_cuDeviceGetAttribute
    var cuDeviceTotalMem: PFN_cuDeviceTotalMem
    var cuDeviceCanAccessPeer: PFN_cuDeviceCanAccessPeer
    var cuDevicePrimaryCtxRetain: PFN_cuDevicePrimaryCtxRetain
    var cuCtxSetCurrent: PFN_cuCtxSetCurrent
    var cuCtxSynchronize: PFN_cuCtxSynchronize
    var cuCtxEnablePeerAccess: PFN_cuCtxEnablePeerAccess
    var cuMemGetInfo: PFN_cuMemGetInfo
    var cuMemAlloc: PFN_cuMemAlloc
    var cuMemFree: PFN_cuMemFree
    var cuMemAllocHost: PFN_cuMemAllocHost
    var cuMemFreeHost: PFN_cuMemFreeHost
    var cuMemcpyHtoDAsync: PFN_cuMemcpyHtoDAsync
    var cuMemcpyDtoHAsync: PFN_cuMemcpyDtoHAsync
    var cuMemcpyDtoDAsync: PFN_cuMemcpyDtoDAsync
    var cuMemcpyPeerAsync: PFN_cuMemcpyPeerAsync
    var cuStreamCreate: PFN_cuStreamCreate
    var cuStreamSynchronize: PFN_cuStreamSynchronize
    var cuStreamWaitEvent: PFN_cuStreamWaitEvent
    var cuEventCreate: PFN_cuEventCreate
    var cuEventRecord: PFN_cuEventRecord
    var cuEventSynchronize: PFN_cuEventSynchronize
    var cuEventQuery: PFN_cuEventQuery
    var cuEventDestroy: PFN_cuEventDestroy
    var cuModuleLoadData: PFN_cuModuleLoadData
    var cuModuleGetFunction: PFN_cuModuleGetFunction
    var cuLaunchKernel: PFN_cuLaunchKernel
    var cuGetErrorString: PFN_cuGetErrorString

    /// The functions of `libcuda.so.1`, by name (the `_v2` names where `cuda.h` maps the plain names
    /// to them), or ``DeviceError/cudaUnavailable(reason:)`` saying what is missing.
    static func load() throws(DeviceError) -> CUDADriverEntryPoints {
        let library = "libcuda.so.1"
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw .cudaUnavailable(reason: "\(library) cannot be loaded (\(reason))")
        }
        func symbol<T>(_ name: String, as type: T.Type) throws(DeviceError) -> T {
            guard let address = dlsym(handle, name) else {
                throw .cudaUnavailable(reason: "\(library) has no \(name); the driver is too old")
            }
            return unsafeBitCast(address, to: type)
        }
        return CUDADriverEntryPoints(
            cuInit: try symbol("cuInit", as: PFN_cuInit.self),
            cuDriverGetVersion: try symbol("cuDriverGetVersion", as: PFN_cuDriverGetVersion.self),
            cuDeviceGetCount: try symbol("cuDeviceGetCount", as: PFN_cuDeviceGetCount.self),
            cuDeviceGet: try symbol("cuDeviceGet", as: PFN_cuDeviceGet.self),
            cuDeviceGetName: try symbol("cuDeviceGetName", as: PFN_cuDeviceGetName.self),
            cuDeviceGetAttribute: try symbol("cuDeviceGetAttribute", as: PFN_cuDeviceGetAttribute.self),
            cuDeviceTotalMem: try symbol("cuDeviceTotalMem_v2", as: PFN_cuDeviceTotalMem.self),
            cuDeviceCanAccessPeer: try symbol("cuDeviceCanAccessPeer", as: PFN_cuDeviceCanAccessPeer.self),
            cuDevicePrimaryCtxRetain: try symbol("cuDevicePrimaryCtxRetain", as: PFN_cuDevicePrimaryCtxRetain.self),
            cuCtxSetCurrent: try symbol("cuCtxSetCurrent", as: PFN_cuCtxSetCurrent.self),
            cuCtxSynchronize: try symbol("cuCtxSynchronize", as: PFN_cuCtxSynchronize.self),
            cuCtxEnablePeerAccess: try symbol("cuCtxEnablePeerAccess", as: PFN_cuCtxEnablePeerAccess.self),
            cuMemGetInfo: try symbol("cuMemGetInfo_v2", as: PFN_cuMemGetInfo.self),
            cuMemAlloc: try symbol("cuMemAlloc_v2", as: PFN_cuMemAlloc.self),
            cuMemFree: try symbol("cuMemFree_v2", as: PFN_cuMemFree.self),
            cuMemAllocHost: try symbol("cuMemAllocHost_v2", as: PFN_cuMemAllocHost.self),
            cuMemFreeHost: try symbol("cuMemFreeHost", as: PFN_cuMemFreeHost.self),
            cuMemcpyHtoDAsync: try symbol("cuMemcpyHtoDAsync_v2", as: PFN_cuMemcpyHtoDAsync.self),
            cuMemcpyDtoHAsync: try symbol("cuMemcpyDtoHAsync_v2", as: PFN_cuMemcpyDtoHAsync.self),
            cuMemcpyDtoDAsync: try symbol("cuMemcpyDtoDAsync_v2", as: PFN_cuMemcpyDtoDAsync.self),
            cuMemcpyPeerAsync: try symbol("cuMemcpyPeerAsync", as: PFN_cuMemcpyPeerAsync.self),
            cuStreamCreate: try symbol("cuStreamCreate", as: PFN_cuStreamCreate.self),
            cuStreamSynchronize: try symbol("cuStreamSynchronize", as: PFN_cuStreamSynchronize.self),
            cuStreamWaitEvent: try symbol("cuStreamWaitEvent", as: PFN_cuStreamWaitEvent.self),
            cuEventCreate: try symbol("cuEventCreate", as: PFN_cuEventCreate.self),
            cuEventRecord: try symbol("cuEventRecord", as: PFN_cuEventRecord.self),
            cuEventSynchronize: try symbol("cuEventSynchronize", as: PFN_cuEventSynchronize.self),
            cuEventQuery: try symbol("cuEventQuery", as: PFN_cuEventQuery.self),
            cuEventDestroy: try symbol("cuEventDestroy_v2", as: PFN_cuEventDestroy.self),
            cuModuleLoadData: try symbol("cuModuleLoadData", as: PFN_cuModuleLoadData.self),
            cuModuleGetFunction: try symbol("cuModuleGetFunction", as: PFN_cuModuleGetFunction.self),
            cuLaunchKernel: try symbol("cuLaunchKernel", as: PFN_cuLaunchKernel.self),
            cuGetErrorString: try symbol("cuGetErrorString", as: PFN_cuGetErrorString.self)
        )
    }
}

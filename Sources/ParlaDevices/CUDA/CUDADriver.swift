import CCUDADriver

#if canImport(Glibc)
import Glibc
#endif

/// The CUDA driver API, loaded from `libcuda.so.1` at run time.
///
/// Nothing from CUDA is needed to build Parla: the functions are looked up by name with `dlsym`, using
/// the `_v2` names where `cuda.h` maps the plain names to them.
final class CUDADriver: @unchecked Sendable {
    // @unchecked Sendable: immutable after `init`; the driver API itself is thread-safe.

    let version: Int32
    let cuInit: PFN_cuInit
    let cuDeviceGetCount: PFN_cuDeviceGetCount
    let cuDeviceGet: PFN_cuDeviceGet
    let cuDeviceGetName: PFN_cuDeviceGetName
    let cuDeviceGetAttribute: PFN_cuDeviceGetAttribute
    let cuDeviceTotalMem: PFN_cuDeviceTotalMem
    let cuDeviceCanAccessPeer: PFN_cuDeviceCanAccessPeer
    let cuDevicePrimaryCtxRetain: PFN_cuDevicePrimaryCtxRetain
    let cuCtxSetCurrent: PFN_cuCtxSetCurrent
    let cuCtxSynchronize: PFN_cuCtxSynchronize
    let cuCtxEnablePeerAccess: PFN_cuCtxEnablePeerAccess
    let cuMemGetInfo: PFN_cuMemGetInfo
    let cuMemAlloc: PFN_cuMemAlloc
    let cuMemFree: PFN_cuMemFree
    let cuMemAllocHost: PFN_cuMemAllocHost
    let cuMemFreeHost: PFN_cuMemFreeHost
    let cuMemcpyHtoDAsync: PFN_cuMemcpyHtoDAsync
    let cuMemcpyDtoHAsync: PFN_cuMemcpyDtoHAsync
    let cuMemcpyDtoDAsync: PFN_cuMemcpyDtoDAsync
    let cuMemcpyPeerAsync: PFN_cuMemcpyPeerAsync
    let cuStreamCreate: PFN_cuStreamCreate
    let cuStreamSynchronize: PFN_cuStreamSynchronize
    let cuStreamWaitEvent: PFN_cuStreamWaitEvent
    let cuEventCreate: PFN_cuEventCreate
    let cuEventRecord: PFN_cuEventRecord
    let cuEventSynchronize: PFN_cuEventSynchronize
    let cuEventQuery: PFN_cuEventQuery
    let cuEventDestroy: PFN_cuEventDestroy
    let cuEventElapsedTime: PFN_cuEventElapsedTime
    let cuModuleLoadData: PFN_cuModuleLoadData
    let cuModuleGetFunction: PFN_cuModuleGetFunction
    let cuLaunchKernel: PFN_cuLaunchKernel
    let cuGetErrorString: PFN_cuGetErrorString

    /// Loads the driver and calls `cuInit`, or throws ``DeviceError/cudaUnavailable(reason:)`` saying why not.
    init() throws(DeviceError) {
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
        self.cuInit = try symbol("cuInit", as: PFN_cuInit.self)
        let cuDriverGetVersion = try symbol("cuDriverGetVersion", as: PFN_cuDriverGetVersion.self)
        self.cuDeviceGetCount = try symbol("cuDeviceGetCount", as: PFN_cuDeviceGetCount.self)
        self.cuDeviceGet = try symbol("cuDeviceGet", as: PFN_cuDeviceGet.self)
        self.cuDeviceGetName = try symbol("cuDeviceGetName", as: PFN_cuDeviceGetName.self)
        self.cuDeviceGetAttribute = try symbol("cuDeviceGetAttribute", as: PFN_cuDeviceGetAttribute.self)
        self.cuDeviceTotalMem = try symbol("cuDeviceTotalMem_v2", as: PFN_cuDeviceTotalMem.self)
        self.cuDeviceCanAccessPeer = try symbol("cuDeviceCanAccessPeer", as: PFN_cuDeviceCanAccessPeer.self)
        self.cuDevicePrimaryCtxRetain = try symbol("cuDevicePrimaryCtxRetain", as: PFN_cuDevicePrimaryCtxRetain.self)
        self.cuCtxSetCurrent = try symbol("cuCtxSetCurrent", as: PFN_cuCtxSetCurrent.self)
        self.cuCtxSynchronize = try symbol("cuCtxSynchronize", as: PFN_cuCtxSynchronize.self)
        self.cuCtxEnablePeerAccess = try symbol("cuCtxEnablePeerAccess", as: PFN_cuCtxEnablePeerAccess.self)
        self.cuMemGetInfo = try symbol("cuMemGetInfo_v2", as: PFN_cuMemGetInfo.self)
        self.cuMemAlloc = try symbol("cuMemAlloc_v2", as: PFN_cuMemAlloc.self)
        self.cuMemFree = try symbol("cuMemFree_v2", as: PFN_cuMemFree.self)
        self.cuMemAllocHost = try symbol("cuMemAllocHost_v2", as: PFN_cuMemAllocHost.self)
        self.cuMemFreeHost = try symbol("cuMemFreeHost", as: PFN_cuMemFreeHost.self)
        self.cuMemcpyHtoDAsync = try symbol("cuMemcpyHtoDAsync_v2", as: PFN_cuMemcpyHtoDAsync.self)
        self.cuMemcpyDtoHAsync = try symbol("cuMemcpyDtoHAsync_v2", as: PFN_cuMemcpyDtoHAsync.self)
        self.cuMemcpyDtoDAsync = try symbol("cuMemcpyDtoDAsync_v2", as: PFN_cuMemcpyDtoDAsync.self)
        self.cuMemcpyPeerAsync = try symbol("cuMemcpyPeerAsync", as: PFN_cuMemcpyPeerAsync.self)
        self.cuStreamCreate = try symbol("cuStreamCreate", as: PFN_cuStreamCreate.self)
        self.cuStreamSynchronize = try symbol("cuStreamSynchronize", as: PFN_cuStreamSynchronize.self)
        self.cuStreamWaitEvent = try symbol("cuStreamWaitEvent", as: PFN_cuStreamWaitEvent.self)
        self.cuEventCreate = try symbol("cuEventCreate", as: PFN_cuEventCreate.self)
        self.cuEventRecord = try symbol("cuEventRecord", as: PFN_cuEventRecord.self)
        self.cuEventSynchronize = try symbol("cuEventSynchronize", as: PFN_cuEventSynchronize.self)
        self.cuEventQuery = try symbol("cuEventQuery", as: PFN_cuEventQuery.self)
        self.cuEventDestroy = try symbol("cuEventDestroy_v2", as: PFN_cuEventDestroy.self)
        self.cuEventElapsedTime = try symbol("cuEventElapsedTime", as: PFN_cuEventElapsedTime.self)
        self.cuModuleLoadData = try symbol("cuModuleLoadData", as: PFN_cuModuleLoadData.self)
        self.cuModuleGetFunction = try symbol("cuModuleGetFunction", as: PFN_cuModuleGetFunction.self)
        self.cuLaunchKernel = try symbol("cuLaunchKernel", as: PFN_cuLaunchKernel.self)
        self.cuGetErrorString = try symbol("cuGetErrorString", as: PFN_cuGetErrorString.self)

        let initResult = self.cuInit(0)
        if initResult != PARLA_CUDA_SUCCESS {
            throw .cudaUnavailable(reason: "cuInit failed with CUDA error \(initResult)")
        }
        var version: Int32 = 0
        _ = cuDriverGetVersion(&version)
        self.version = version
    }

    /// The driver's text for an error code.
    func errorText(_ code: CUresult) -> String {
        var text: UnsafePointer<CChar>? = nil
        if self.cuGetErrorString(code, &text) == PARLA_CUDA_SUCCESS, let text {
            return String(cString: text)
        }
        return "unknown error"
    }

    /// Throws ``DeviceError/cudaCall(device:call:code:message:)`` unless `result` is success.
    @inline(__always)
    func check(_ result: CUresult, _ call: @autoclosure () -> String, device: Device? = nil) throws(DeviceError) {
        if result != PARLA_CUDA_SUCCESS {
            throw .cudaCall(device: device, call: call(), code: Int(result), message: self.errorText(result))
        }
    }
}

/// NVRTC, CUDA's run-time compiler, loaded at run time.
final class NVRTC: @unchecked Sendable {
    // @unchecked Sendable: immutable after `init`; NVRTC programs are used by one thread at a time.

    let version: (major: Int32, minor: Int32)
    let libraryPath: String
    let createProgram: PFN_nvrtcCreateProgram
    let compileProgram: PFN_nvrtcCompileProgram
    let getPTXSize: PFN_nvrtcGetPTXSize
    let getPTX: PFN_nvrtcGetPTX
    let getProgramLogSize: PFN_nvrtcGetProgramLogSize
    let getProgramLog: PFN_nvrtcGetProgramLog
    let destroyProgram: PFN_nvrtcDestroyProgram
    let getErrorString: PFN_nvrtcGetErrorString

    /// The places NVRTC is looked for, in order (`PARLA_NVRTC` first when set).
    static var candidatePaths: [String] {
        var paths: [String] = []
        if let custom = getenv("PARLA_NVRTC") { paths.append(String(cString: custom)) }
        paths += ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12"]
        for root in ["/usr/local/cuda", "/usr/local/cuda-13.0", "/usr/local/cuda-13", "/usr/local/cuda-12"] {
            paths.append("\(root)/targets/x86_64-linux/lib/libnvrtc.so")
            paths.append("\(root)/lib64/libnvrtc.so")
        }
        return paths
    }

    /// Loads NVRTC, or throws saying where it was looked for.
    init() throws(DeviceError) {
        var loaded: (UnsafeMutableRawPointer, String)? = nil
        for path in Self.candidatePaths {
            if let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) {
                loaded = (handle, path)
                break
            }
        }
        guard let (handle, path) = loaded else {
            throw .cudaUnavailable(
                reason:
                    "NVRTC (libnvrtc.so) cannot be loaded; looked for \(Self.candidatePaths.joined(separator: ", ")); set PARLA_NVRTC to its path"
            )
        }
        func symbol<T>(_ name: String, as type: T.Type) throws(DeviceError) -> T {
            guard let address = dlsym(handle, name) else {
                throw .cudaUnavailable(reason: "\(path) has no \(name)")
            }
            return unsafeBitCast(address, to: type)
        }
        self.libraryPath = path
        let nvrtcVersion = try symbol("nvrtcVersion", as: PFN_nvrtcVersion.self)
        self.createProgram = try symbol("nvrtcCreateProgram", as: PFN_nvrtcCreateProgram.self)
        self.compileProgram = try symbol("nvrtcCompileProgram", as: PFN_nvrtcCompileProgram.self)
        self.getPTXSize = try symbol("nvrtcGetPTXSize", as: PFN_nvrtcGetPTXSize.self)
        self.getPTX = try symbol("nvrtcGetPTX", as: PFN_nvrtcGetPTX.self)
        self.getProgramLogSize = try symbol("nvrtcGetProgramLogSize", as: PFN_nvrtcGetProgramLogSize.self)
        self.getProgramLog = try symbol("nvrtcGetProgramLog", as: PFN_nvrtcGetProgramLog.self)
        self.destroyProgram = try symbol("nvrtcDestroyProgram", as: PFN_nvrtcDestroyProgram.self)
        self.getErrorString = try symbol("nvrtcGetErrorString", as: PFN_nvrtcGetErrorString.self)
        var major: Int32 = 0
        var minor: Int32 = 0
        _ = nvrtcVersion(&major, &minor)
        self.version = (major, minor)
    }

    /// Compiles CUDA C `source` to PTX for `computeCapability` (e.g. 90), or throws with the compiler log.
    func compile(_ source: String, name: String, computeCapability: Int) throws(DeviceError) -> [CChar] {
        var program: nvrtcProgram? = nil
        var result = self.createProgram(&program, source, name, 0, nil, nil)
        guard result == 0, let program else {
            throw .cudaCall(
                device: nil,
                call: "nvrtcCreateProgram(\(name))",
                code: Int(result),
                message: self.errorText(result)
            )
        }
        defer {
            var doomed: nvrtcProgram? = program
            _ = self.destroyProgram(&doomed)
        }
        let options = ["--gpu-architecture=compute_\(computeCapability)", "--std=c++17", "-default-device"]
        let cOptions = options.map { strdup($0) }
        defer { for option in cOptions { free(option) } }
        result = cOptions.map { UnsafePointer($0) }.withUnsafeBufferPointer { buffer in
            self.compileProgram(program, Int32(buffer.count), buffer.baseAddress)
        }
        if result != 0 {
            var logSize = 0
            _ = self.getProgramLogSize(program, &logSize)
            var log = [CChar](repeating: 0, count: logSize + 1)
            _ = self.getProgramLog(program, &log)
            let text = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw .cudaCall(
                device: nil,
                call: "nvrtcCompileProgram(\(name))",
                code: Int(result),
                message: "\(self.errorText(result))\n\(text)\n--- source ---\n\(source)"
            )
        }
        var size = 0
        _ = self.getPTXSize(program, &size)
        var ptx = [CChar](repeating: 0, count: size + 1)
        _ = self.getPTX(program, &ptx)
        return ptx
    }

    private func errorText(_ result: nvrtcResult) -> String {
        self.getErrorString(result).map { String(cString: $0) } ?? "unknown NVRTC error"
    }
}

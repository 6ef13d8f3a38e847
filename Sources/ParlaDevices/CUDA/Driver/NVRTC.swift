import CCUDADriver

#if canImport(Glibc)
import Glibc
#endif

/// Compiles the CUDA C of Parla's kernels into a module image the driver loads: NVRTC on real GPUs,
/// ``SimulatedCUDA/Compiler`` on simulated ones.
protocol CUDAKernelCompiler: Sendable {
    /// Compiles `source` for `computeCapability` (90 for an H100), naming it `name` in messages; returns
    /// the image for `cuModuleLoadData`, or throws with the compiler's log.
    func compile(_ source: String, name: String, computeCapability: Int) throws(DeviceError) -> [CChar]
}

/// NVRTC, CUDA's run-time compiler, loaded at run time.
final class NVRTC: CUDAKernelCompiler, @unchecked Sendable {
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

    /// Where NVRTC is looked for: `PARLA_NVRTC`, its names on the loader's path, the usual CUDA folders.
    static let loader = CUDALibraryLoader(
        name: "NVRTC",
        variable: "PARLA_NVRTC",
        fileNames: ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12"]
    )

    /// Loads NVRTC, or throws saying where it was looked for.
    init() throws(DeviceError) {
        let (handle, path) = try Self.loader.open()
        func symbol<T>(_ name: String, as type: T.Type) throws(DeviceError) -> T {
            try Self.loader.function(name, in: handle, path: path, as: type)
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

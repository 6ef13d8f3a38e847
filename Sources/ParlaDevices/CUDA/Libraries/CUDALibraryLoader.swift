#if canImport(Glibc)
import Glibc
#endif

/// Finds one of CUDA's libraries at run time, as NVRTC is found: the path in a `PARLA_*` variable
/// first, then the library's names on the loader's path, then the usual CUDA install directories.
struct CUDALibraryLoader {
    /// What the library is called in messages (`"cuBLAS"`).
    let name: String
    /// The environment variable that names its path (`"PARLA_CUBLAS"`).
    let variable: String
    /// Its file names, newest first (`["libcublas.so", "libcublas.so.13", ...]`).
    let fileNames: [String]

    /// The places looked in, in order.
    var candidatePaths: [String] {
        var paths: [String] = []
        if let custom = getenv(self.variable) { paths.append(String(cString: custom)) }
        paths += self.fileNames
        for root in ["/usr/local/cuda", "/usr/local/cuda-13.0", "/usr/local/cuda-13", "/usr/local/cuda-12"] {
            for file in self.fileNames {
                paths.append("\(root)/targets/x86_64-linux/lib/\(file)")
                paths.append("\(root)/lib64/\(file)")
            }
        }
        return paths
    }

    /// Opens the library, or throws saying where it was looked for, why a copy found would not load,
    /// and how to point at it.
    func open() throws(DeviceError) -> (handle: UnsafeMutableRawPointer, path: String) {
        var failures: [String] = []
        for path in self.candidatePaths {
            if let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) { return (handle, path) }
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            if !reason.contains("No such file or directory") { failures.append(reason) }
        }
        let found = failures.isEmpty ? "" : " (found but not loadable: \(failures.joined(separator: "; ")))"
        throw .cudaUnavailable(
            reason:
                "\(self.name) (\(self.fileNames[0])) cannot be loaded\(found); looked for \(self.candidatePaths.joined(separator: ", ")); set \(self.variable) to its path"
        )
    }

    /// The function `symbol` of the library opened at `path`, as `type`.
    func function<T>(
        _ symbol: String,
        in handle: UnsafeMutableRawPointer,
        path: String,
        as type: T.Type
    )
        throws(DeviceError) -> T
    {
        guard let address = dlsym(handle, symbol) else {
            throw .cudaUnavailable(reason: "\(path) has no \(symbol); \(self.name) is too old")
        }
        return unsafeBitCast(address, to: type)
    }
}

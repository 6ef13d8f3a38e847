import Parla
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension DeviceCheckCommand {
    /// `cublasDscal_v2(handle, n, alpha, x, incx)`.
    private typealias Dscal =
        @convention(c) (
            OpaquePointer, Int32, UnsafePointer<Double>, UnsafeMutableRawPointer, Int32
        ) -> Int32

    /// On each real CUDA GPU: a task body calls a CUDA library itself, as the README shows: cuBLAS's
    /// `Dscal`, loaded by the program with `dlopen`, on the task's stream (``CurrentTask/streams``) and
    /// its declared array's device memory; a task on the CPU then reads the scaled values. Returns the
    /// number of failures.
    func checkUserLibraryCall(_ registry: DeviceRegistry) async throws -> Int {
        // (Real GPUs only: the simulated driver has no cuBLAS for a program to load.)
        if case .cudaSimulated = registry.selection { return 0 }
        guard registry.usesCUDA else { return 0 }
        print("\n== a task body calls cuBLAS itself, on the task's stream")
        let names = [getenv("PARLA_CUBLAS").map { String(cString: $0) }, "libcublas.so", "libcublas.so.13"]
        guard let library = names.compactMap({ $0 }).lazy.compactMap({ dlopen($0, RTLD_NOW) }).first,
            let symbol = dlsym(library, "cublasDscal_v2")
        else {
            print("cuBLAS not found (set PARLA_CUBLAS): skipped")
            return 0
        }
        let dscal = unsafeBitCast(symbol, to: Dscal.self)
        var failures = 0
        for device in registry.devices where device != .cpu {
            let x = PArray(NDArray<Double>.arange(1000))
            let result = Mutex<(status: Int32, stream: String, sum: Double)>((-1, "", 0))
            try await Parla.run(devices: registry.selection) {
                spawn(placement: device, inOut: [x]) {
                    guard let task = CurrentTask.current, let stream = task.streams.first else { return }
                    let handle = try stream.cublasHandle()  // bound to the task's stream
                    var alpha = 2.0
                    let status = x.array.withUnsafeDeviceAddress { address in
                        dscal(handle, Int32(x.shape[0]), &alpha, UnsafeMutableRawPointer(bitPattern: UInt(address))!, 1)
                    }
                    result.withLock {
                        $0.status = status
                        $0.stream = "\(task.streams.count) stream on \(stream.device)"
                    }
                }
                spawn(placement: cpu, input: [x]) {
                    let sum: Double = x.array.sum().item()
                    result.withLock { $0.sum = sum }
                }
            }
            let (status, stream, sum) = result.withLock { $0 }
            let ok = status == 0 && sum == 2 * 999 * 1000 / 2
            if !ok { failures += 1 }
            print(
                "\(device): cublasDscal_v2 on \(stream.isEmpty ? "NO STREAM" : stream) returned \(status); the CPU then reads a sum of \(format(sum)) (\(ok ? "right" : "WRONG: expected 999000"))"
            )
        }
        return failures
    }
}

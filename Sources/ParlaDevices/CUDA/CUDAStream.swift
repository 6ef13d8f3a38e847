/// The CUDA stream a task's work goes on, with cuBLAS and cuSOLVER handles bound to it: for calling
/// other CUDA libraries from a task, in order with the task's own kernels. The task completes when
/// everything queued on this stream by the end of its body has run.
///
/// Parla (Python) equivalent: `get_current_stream()` (a CuPy stream).
public struct CUDAStream: Sendable {
    /// The GPU.
    public let device: Device
    private let gpu: CUDAGPU
    /// The task's compute lane on the GPU (0: the compute stream), fixed when the stream was got.
    private let lane: Int

    /// The `CUstream` (a `cudaStream_t`: the runtime API takes the same handle): the GPU's compute
    /// stream, or the task's own stream when it shares the GPU (a task with `vcus` or `memory`).
    public var handle: OpaquePointer { self.gpu.stream(ofLane: self.lane) }

    /// The GPU's primary `CUcontext`, which the stream belongs to.
    public var context: OpaquePointer { self.gpu.context }

    /// The CUDA device ordinal (what `cudaSetDevice` takes).
    public var ordinal: Int { self.gpu.ordinal }

    /// The stream of the current task's device, or `nil` when that is not a CUDA GPU (the CPU, a
    /// virtual GPU). Work queued on it by the caller counts as the task's: the task completes after it.
    public static var current: CUDAStream? {
        guard let device = Device.taskDevice else { return nil }
        return CUDAStream.ofTask(on: device)
    }

    /// The stream the current task's work on `device` goes on, or `nil` when `device` is not a CUDA GPU
    /// of the current run. Work queued on it counts as the task's.
    package static func ofTask(on device: Device) -> CUDAStream? {
        // (The task's own run's devices: with several runs in progress, each has its own.)
        let registry = RunningTask.sink?.deviceRegistry ?? DeviceRegistry.current
        guard device.kind == .gpu, let gpu = try? registry.backend(for: device) as? CUDAGPU else { return nil }
        // The caller may queue work the runtime does not see: the task waits for the stream.
        gpu.noteQueuedOnComputeStream()
        return CUDAStream(device: device, gpu: gpu, lane: gpu.currentLane)
    }

    /// A cuBLAS handle (`cublasHandle_t`) bound to this stream, made on first use and shared by the
    /// GPU's tasks: set no other stream on it.
    public func cublasHandle() throws(DeviceError) -> OpaquePointer { try self.gpu.cublas(lane: self.lane).handle }

    /// A cuSOLVER dense handle (`cusolverDnHandle_t`) bound to this stream, made on first use and
    /// shared by the GPU's tasks.
    public func cusolverHandle() throws(DeviceError) -> OpaquePointer {
        try self.gpu.cusolver(lane: self.lane).handle
    }

    /// Makes the GPU's context current on the calling thread, for libraries that use the current one.
    public func makeContextCurrent() throws(DeviceError) { try self.gpu.makeCurrent() }
}

import CCUDADriver
import Synchronization

/// Discovers CUDA GPUs and makes their backends.
enum CUDASystem {
    /// The driver and compiler, loaded once per process (or the reason they cannot be).
    static let loaded: Result<(CUDADriver, NVRTC), DeviceError> = {
        do throws(DeviceError) {
            let driver = try CUDADriver()
            var count: Int32 = 0
            try driver.check(driver.cuDeviceGetCount(&count), "cuDeviceGetCount")
            if count == 0 { throw .cudaUnavailable(reason: "the CUDA driver reports no devices") }
            let nvrtc = try NVRTC()
            return .success((driver, nvrtc))
        } catch {
            return .failure(error)
        }
    }()

    /// The GPU backends, made once per process and shared by every registry (contexts, streams and
    /// compiled kernels are per process).
    static let gpus: Result<[CUDAGPU], DeviceError> = {
        do throws(DeviceError) {
            let (driver, nvrtc) = try loaded.get()
            var count: Int32 = 0
            try driver.check(driver.cuDeviceGetCount(&count), "cuDeviceGetCount")
            var gpus: [CUDAGPU] = []
            for ordinal in 0..<Int(count) {
                gpus.append(try CUDAGPU(ordinal: ordinal, driver: driver, nvrtc: nvrtc))
            }
            for gpu in gpus { gpu.connectPeers(gpus) }
            return .success(gpus)
        } catch {
            return .failure(error)
        }
    }()

    /// The host backend shared by CUDA registries: large host blocks are pinned.
    static let pinnedHost: Result<HostBackend, DeviceError> = {
        do throws(DeviceError) {
            let gpus = try gpus.get()
            return .success(HostBackend(pinning: PinnedMemoryPool(gpu: gpus[0])))
        } catch {
            return .failure(error)
        }
    }()

    /// A registry of every CUDA GPU, or ``DeviceError/cudaUnavailable(reason:)``.
    static func makeRegistry(selection: DeviceSelection) throws(DeviceError) -> DeviceRegistry {
        let gpus = try gpus.get()
        return DeviceRegistry(selection: selection, host: try pinnedHost.get(), gpus: gpus, usesCUDA: true)
    }
}

/// Page-locked host memory from `cuMemAllocHost`, kept in a cache of freed blocks by size, because
/// pinning memory costs far more than a `malloc`.
final class PinnedMemoryPool: HostMemoryPinning {
    private let gpu: CUDAGPU
    private struct State {
        var free: [Int: [UInt]] = [:]  // rounded size -> cached blocks
        var sizes: [UInt: Int] = [:]  // every pinned block this pool made -> its rounded size
        var cachedBytes = 0
    }
    private let state = Mutex(State())

    /// At most this many bytes of freed pinned blocks are kept for reuse.
    static let cacheLimit = 1 << 30

    init(gpu: CUDAGPU) { self.gpu = gpu }

    /// Sizes round up to a power of two (at most 2x waste) so that blocks are reused often.
    private static func rounded(_ byteCount: Int) -> Int {
        var size = 4096
        while size < byteCount { size <<= 1 }
        return size
    }

    func allocatePinned(byteCount: Int) -> UnsafeMutableRawPointer? {
        let size = Self.rounded(byteCount)
        let reused: UInt? = self.state.withLock { state in
            guard let address = state.free[size]?.popLast() else { return nil }
            state.cachedBytes -= size
            return address
        }
        if let reused { return UnsafeMutableRawPointer(bitPattern: reused) }
        guard let pointer = try? self.gpu.allocateHostPinned(byteCount: size) else { return nil }
        self.state.withLock { $0.sizes[UInt(bitPattern: pointer)] = size }
        return pointer
    }

    func freePinned(_ pointer: UnsafeMutableRawPointer) -> Bool {
        let address = UInt(bitPattern: pointer)
        let evict: Bool? = self.state.withLock { state in
            guard let size = state.sizes[address] else { return nil }
            if state.cachedBytes + size > Self.cacheLimit {
                state.sizes[address] = nil
                return true
            }
            state.free[size, default: []].append(address)
            state.cachedBytes += size
            return false
        }
        guard let evict else { return false }
        if evict { self.gpu.freeHostPinned(pointer) }
        return true
    }

    func isPinned(_ pointer: UnsafeMutableRawPointer) -> Bool {
        self.state.withLock { $0.sizes[UInt(bitPattern: pointer)] != nil }
    }
}

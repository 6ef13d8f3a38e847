import CCUDADriver

#if canImport(Glibc)
import Glibc
#endif

/// NVIDIA's multi-GPU dense Cholesky (cuSOLVERMg), loaded at run time: the baseline `parla app cholesky` measures against.
///
/// The matrix is laid out as cuSOLVERMg's only layout wants it: 1-D block-cyclic columns over a 1 × G grid of
/// the GPUs (``BlockCyclicColumns``), each GPU holding its column blocks one after another, column-major, with
/// `n` rows. cuSOLVERMg drives the GPUs through the CUDA runtime, which works in each device's primary
/// context: the contexts ``CUDAGPU`` retains and makes current, so the library and the driver calls here see
/// the same memory, and the peer access ``CUDAGPU`` enabled between those contexts serves the library's
/// GPU-to-GPU copies too.
package enum CUSOLVERMgBaseline {
    /// Whether libcusolverMg can be loaded: the path it was loaded from, or why it cannot be.
    package static func availability() -> Result<String, DeviceError> {
        CUSOLVERMgLibrary.shared.map(\.path)
    }

    /// Factorizes an n×n symmetric positive definite FP64 matrix distributed over `gpus` in 1-D block-cyclic
    /// columns of `blockColumns`, generated on the GPUs' side from `fill(row, column) -> Double` evaluated on the host per column tile,
    /// timing only the cusolverMgPotrf call (from just before it to the end of a synchronization of every GPU).
    /// Returns the seconds of the best of `repetitions` (re-filling the matrix before each), and checks `info == 0` (throwing otherwise).
    ///
    /// `fill` is evaluated for every element (both triangles), once per repetition, a column tile at a time;
    /// the factorization reads the lower triangle (`CUBLAS_FILL_MODE_LOWER`). A `blockColumns` larger than
    /// `n` is taken as `n` (one block). The GPUs must be real and distinct; the matrix, the per-GPU
    /// workspace and cuSOLVERMg's handle, grid and descriptor are made once and released on every path.
    ///
    /// - Throws: ``DeviceError/cudaUnavailable(reason:)`` without libcusolverMg or with simulated GPUs;
    ///   ``DeviceError/outOfMemory(device:requested:free:)`` when a GPU cannot hold its part;
    ///   ``DeviceError/cudaCall(device:call:code:message:)`` when a driver or cuSOLVERMg call fails, or when
    ///   `info` is not 0 (then `code` is `info`).
    package static func potrf(
        n: Int,
        blockColumns: Int,
        gpus: [CUDAGPU],
        repetitions: Int,
        fill: (Int, Int) -> Double
    ) throws(DeviceError) -> Double {
        parlaPrecondition(n > 0 && n <= Int(Int32.max), "cusolverMgPotrf needs 0 < n <= \(Int32.max) (n is \(n))")
        parlaPrecondition(blockColumns > 0, "the column blocks need at least one column (\(blockColumns) given)")
        parlaPrecondition(!gpus.isEmpty, "cusolverMgPotrf needs at least one GPU")
        parlaPrecondition(repetitions > 0, "at least one repetition is needed (\(repetitions) given)")
        parlaPrecondition(
            Set(gpus.map(\.ordinal)).count == gpus.count,
            "each GPU may be given once (ordinals \(gpus.map(\.ordinal)))"
        )
        let library = try CUSOLVERMgLibrary.shared.get()
        if let simulated = gpus.first(where: { $0.driver.isSimulated }) {
            throw .cudaUnavailable(
                reason: "cuSOLVERMg runs on real CUDA GPUs only; \(simulated.device) is simulated"
            )
        }
        let layout = BlockCyclicColumns(n: n, blockColumns: Swift.min(blockColumns, n), devices: gpus.count)
        let matrix = try BlockCyclicMatrix(layout: layout, gpus: gpus)
        return try library.timePotrf(matrix: matrix, repetitions: repetitions, fill: fill)
    }
}

// MARK: The layout

/// 1-D block-cyclic columns: an `n`×`n` matrix cut into column blocks of `blockColumns` (the last one
/// possibly narrower), global block `j` on device `j % devices`, as that device's local block `j / devices`.
/// Each device's local matrix has `n` rows (its leading dimension) and its blocks' columns side by side,
/// column-major: the layout cuSOLVERMg reads for a 1 × `devices` grid with `n`-row, `blockColumns`-column tiles.
struct BlockCyclicColumns: Hashable, Sendable {
    /// The matrix's order (its rows, its columns, and each local matrix's leading dimension).
    let n: Int
    /// The columns of a block.
    let blockColumns: Int
    /// The devices the blocks are dealt to.
    let devices: Int

    /// The number of column blocks, the last one possibly narrower.
    var blockCount: Int { (self.n + self.blockColumns - 1) / self.blockColumns }

    /// The device holding global column block `block`.
    func device(ofBlock block: Int) -> Int { block % self.devices }

    /// The index of global column block `block` among its device's blocks.
    func localIndex(ofBlock block: Int) -> Int { block / self.devices }

    /// The number of column blocks `device` holds.
    func blockCount(onDevice device: Int) -> Int {
        device < self.blockCount ? (self.blockCount - device + self.devices - 1) / self.devices : 0
    }

    /// The most blocks any device holds: every device's local matrix is given room for this many full
    /// blocks, as NVIDIA's samples allocate them.
    var localBlockCapacity: Int { (self.blockCount + self.devices - 1) / self.devices }

    /// The elements of one full block (`n` rows by `blockColumns`).
    var blockElements: Int { self.n * self.blockColumns }

    /// The elements of each device's local matrix: room for ``localBlockCapacity`` blocks (at least one).
    var localElements: Int { Swift.max(self.localBlockCapacity, 1) * self.blockElements }

    /// Where element (`row`, `column`) of the global matrix lies: its device, and its offset (in elements)
    /// in that device's local matrix.
    func location(row: Int, column: Int) -> (device: Int, offset: Int) {
        let block = column / self.blockColumns
        let localColumn = self.localIndex(ofBlock: block) * self.blockColumns + column % self.blockColumns
        return (self.device(ofBlock: block), localColumn * self.n + row)
    }
}

// MARK: The distributed matrix

/// An `n`×`n` FP64 matrix in device memory, in ``BlockCyclicColumns`` over some CUDA GPUs (one local matrix
/// each, allocated with the driver in the GPU's primary context), filled from the host a column block at a
/// time through one page-locked buffer. Everything is freed when it goes away.
final class BlockCyclicMatrix {
    /// How the columns are dealt to ``gpus``.
    let layout: BlockCyclicColumns
    /// The GPUs, in the order of the layout's devices.
    let gpus: [CUDAGPU]
    /// Each GPU's local matrix (``BlockCyclicColumns/localElements`` doubles).
    let locals: DeviceBlocks
    /// One full column block of doubles, page-locked (made with the first GPU's context current), where
    /// blocks are filled before they are copied up.
    private let staging: UnsafeMutablePointer<Double>

    /// Allocates the local matrices (not filled) and the staging buffer.
    init(layout: BlockCyclicColumns, gpus: [CUDAGPU]) throws(DeviceError) {
        parlaPrecondition(layout.devices == gpus.count, "\(layout.devices) devices in the layout, \(gpus.count) GPUs")
        self.layout = layout
        self.gpus = gpus
        self.locals = try DeviceBlocks(gpus: gpus, bytes: layout.localElements * MemoryLayout<Double>.stride)
        let raw = try gpus[0].allocateHostPinned(byteCount: layout.blockElements * MemoryLayout<Double>.stride)
        // Binding is safe: the block is fresh from cuMemAllocHost, untyped, sized and aligned (to a page)
        // for `blockElements` doubles, and is only ever used as doubles until `deinit` frees it.
        self.staging = raw.bindMemory(to: Double.self, capacity: layout.blockElements)
    }

    deinit {
        self.gpus[0].freeHostPinned(UnsafeMutableRawPointer(self.staging))
    }

    /// Writes `fill(row, column)` into every element, one column block at a time: each block is evaluated on
    /// the host into the staging buffer (the columns past `n` of a narrower last block as zeros) and copied to
    /// its GPU, waiting for the copy before the buffer is reused. The room past a device's last block (on
    /// devices holding fewer blocks than others) is zeroed, as NVIDIA's samples leave it. Returns when every
    /// copy has finished.
    func fill(_ fill: (Int, Int) -> Double) throws(DeviceError) {
        let layout = self.layout
        let staging = self.staging
        for block in 0..<layout.blockCount {
            let firstColumn = block * layout.blockColumns
            for local in 0..<layout.blockColumns {
                let column = firstColumn + local
                let base = local * layout.n
                if column < layout.n {
                    for row in 0..<layout.n { staging[base + row] = fill(row, column) }
                } else {
                    for row in 0..<layout.n { staging[base + row] = 0 }
                }
            }
            try self.copyStaging(
                toDevice: layout.device(ofBlock: block),
                localBlock: layout.localIndex(ofBlock: block),
                ", column block \(block) of a cuSOLVERMg matrix"
            )
        }
        staging.update(repeating: 0, count: layout.blockElements)
        for index in 0..<layout.devices {
            for local in layout.blockCount(onDevice: index)..<Swift.max(layout.localBlockCapacity, 1) {
                try self.copyStaging(toDevice: index, localBlock: local, ", zeros past a cuSOLVERMg local matrix")
            }
        }
    }

    /// Copies the staging buffer into local block `localBlock` of the layout's device `index`, and waits for
    /// the copy.
    private func copyStaging(
        toDevice index: Int,
        localBlock: Int,
        _ what: @autoclosure () -> String
    ) throws(DeviceError) {
        let gpu = self.gpus[index]
        let blockBytes = self.layout.blockElements * MemoryLayout<Double>.stride
        try gpu.makeCurrent()
        try gpu.driver.copyHostToDevice(
            self.locals.addresses[index] + CUdeviceptr(localBlock * blockBytes),
            from: UnsafeRawPointer(self.staging),
            bytes: blockBytes,
            on: gpu.stream(.hostToDevice),
            device: gpu.device,
            what()
        )
        try gpu.driver.synchronizeStream(gpu.stream(.hostToDevice), device: gpu.device)
    }

    /// A copy of the local matrix of the layout's device `index` (for tests).
    func localMatrix(ofDevice index: Int) throws(DeviceError) -> [Double] {
        let gpu = self.gpus[index]
        let values = StableHostArray([Double](repeating: .nan, count: self.layout.localElements))
        defer { withExtendedLifetime(values) {} }
        try gpu.makeCurrent()
        try gpu.driver.copyDeviceToHost(
            UnsafeMutableRawPointer(values.base),
            from: self.locals.addresses[index],
            bytes: values.count * MemoryLayout<Double>.stride,
            on: gpu.stream(.deviceToHost),
            device: gpu.device,
            ", a cuSOLVERMg local matrix"
        )
        // The copy writes `values` after the call that queued it returns: wait for it.
        try gpu.driver.synchronizeStream(gpu.stream(.deviceToHost), device: gpu.device)
        return Array(UnsafeBufferPointer(start: values.base, count: values.count))
    }
}

/// One device allocation of `bytes` on each of some CUDA GPUs, made with the driver in each GPU's context
/// (past Parla's caching allocator), and freed when this goes away.
final class DeviceBlocks {
    /// The GPUs, one allocation each.
    let gpus: [CUDAGPU]
    /// Each GPU's allocation, in the order of ``gpus``.
    let addresses: [CUdeviceptr]

    /// Allocates `bytes` (at least 1) on each GPU; on failure, frees what it had allocated and throws
    /// ``DeviceError/outOfMemory(device:requested:free:)`` or the driver's error.
    init(gpus: [CUDAGPU], bytes: Int) throws(DeviceError) {
        let bytes = Swift.max(bytes, 1)
        var addresses: [CUdeviceptr] = []
        do throws(DeviceError) {
            for gpu in gpus {
                try gpu.makeCurrent()
                var address = try gpu.driver.allocate(bytes, device: gpu.device)
                if address == nil {
                    // Out of memory: give back the blocks Parla's allocator keeps for reuse, and try once more.
                    try gpu.trimPool()
                    try gpu.makeCurrent()
                    address = try gpu.driver.allocate(bytes, device: gpu.device)
                }
                guard let address else {
                    throw .outOfMemory(device: gpu.device, requested: bytes, free: gpu.driver.memoryInfo().free)
                }
                addresses.append(address)
            }
        } catch {
            Self.free(addresses, on: gpus)
            throw error
        }
        self.gpus = gpus
        self.addresses = addresses
    }

    deinit { Self.free(self.addresses, on: self.gpus) }

    /// Frees `addresses[i]` on `gpus[i]` (every user of this type has waited for its GPUs by then).
    private static func free(_ addresses: [CUdeviceptr], on gpus: [CUDAGPU]) {
        for (gpu, address) in zip(gpus, addresses) {
            _ = try? gpu.makeCurrent()
            gpu.driver.free(address)
        }
    }

    /// The allocations as the host array of device pointers cuSOLVERMg takes (`void *array_d_X[]`).
    /// Device addresses are plain virtual addresses under unified addressing (as on every 64-bit CUDA
    /// platform), so a `CUdeviceptr` is the `void *` the CUDA runtime would have returned.
    func pointerArray() -> StableHostArray<UnsafeMutableRawPointer?> {
        StableHostArray(self.addresses.map { UnsafeMutableRawPointer(bitPattern: UInt($0)) })
    }
}

/// A host array at an address that stays put until the array goes away: what a C library is handed the
/// address of (a Swift array's storage is only pinned inside a `withUnsafe…` call). Keep it alive, with
/// `withExtendedLifetime`, for as long as the library may read it.
final class StableHostArray<Element> {
    /// The first element.
    let base: UnsafeMutablePointer<Element>
    /// The number of elements.
    let count: Int

    /// An array holding `elements`.
    init(_ elements: [Element]) {
        self.count = elements.count
        // Allocated and initialized here, deinitialized and freed in `deinit` only: this object owns it.
        self.base = .allocate(capacity: Swift.max(elements.count, 1))
        self.base.initialize(from: elements, count: elements.count)
    }

    deinit {
        self.base.deinitialize(count: self.count)
        self.base.deallocate()
    }
}

// MARK: The library

/// `cusolverStatus_t cusolverMgCreate(cusolverMgHandle_t *handle)`.
typealias PFN_cusolverMgCreate = @convention(c) (UnsafeMutablePointer<OpaquePointer?>?) -> Int32
/// `cusolverStatus_t cusolverMgDestroy(cusolverMgHandle_t handle)`.
typealias PFN_cusolverMgDestroy = @convention(c) (OpaquePointer?) -> Int32
/// `cusolverStatus_t cusolverMgDeviceSelect(cusolverMgHandle_t handle, int nbDevices, int deviceId[])`.
typealias PFN_cusolverMgDeviceSelect = @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<Int32>?) -> Int32
/// `cusolverStatus_t cusolverMgCreateDeviceGrid(cudaLibMgGrid_t *grid, int32_t numRowDevices,
/// int32_t numColDevices, const int32_t deviceId[], cusolverMgGridMapping_t mapping)`; `cudaLibMgGrid_t` is
/// `void *`.
typealias PFN_cusolverMgCreateDeviceGrid =
    @convention(c) (UnsafeMutablePointer<OpaquePointer?>?, Int32, Int32, UnsafePointer<Int32>?, Int32) -> Int32
/// `cusolverStatus_t cusolverMgDestroyGrid(cudaLibMgGrid_t grid)`.
typealias PFN_cusolverMgDestroyGrid = @convention(c) (OpaquePointer?) -> Int32
/// `cusolverStatus_t cusolverMgCreateMatrixDesc(cudaLibMgMatrixDesc_t *desc, int64_t numRows, int64_t numCols,
/// int64_t rowBlockSize, int64_t colBlockSize, cudaDataType dataType, const cudaLibMgGrid_t grid)`;
/// `cudaLibMgMatrixDesc_t` is `void *`.
typealias PFN_cusolverMgCreateMatrixDesc =
    @convention(c) (UnsafeMutablePointer<OpaquePointer?>?, Int64, Int64, Int64, Int64, Int32, OpaquePointer?) -> Int32
/// `cusolverStatus_t cusolverMgDestroyMatrixDesc(cudaLibMgMatrixDesc_t desc)`.
typealias PFN_cusolverMgDestroyMatrixDesc = @convention(c) (OpaquePointer?) -> Int32
/// `cusolverStatus_t cusolverMgPotrf_bufferSize(cusolverMgHandle_t handle, cublasFillMode_t uplo, int N,
/// void *array_d_A[], int IA, int JA, cudaLibMgMatrixDesc_t descrA, cudaDataType computeType, int64_t *lwork)`.
typealias PFN_cusolverMgPotrf_bufferSize =
    @convention(c) (
        OpaquePointer?, Int32, Int32, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, Int32, Int32, OpaquePointer?,
        Int32, UnsafeMutablePointer<Int64>?
    ) -> Int32
/// `cusolverStatus_t cusolverMgPotrf(cusolverMgHandle_t handle, cublasFillMode_t uplo, int N, void *array_d_A[],
/// int IA, int JA, cudaLibMgMatrixDesc_t descrA, cudaDataType computeType, void *array_d_work[], int64_t lwork,
/// int *h_info)`.
typealias PFN_cusolverMgPotrf =
    @convention(c) (
        OpaquePointer?, Int32, Int32, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, Int32, Int32, OpaquePointer?,
        Int32, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, Int64, UnsafeMutablePointer<Int32>?
    ) -> Int32

/// libcusolverMg's functions, loaded once per process with `dlopen` (never closed).
///
/// The C enumerations it takes are passed as `Int32` (C `enum`s are `int`-sized on the platforms CUDA runs on),
/// with the values of CUDA's headers: `cusolverMg.h` (grid mapping), `library_types.h` (data types),
/// `cublas_api.h` (fill mode) and `cusolver_common.h` (status).
struct CUSOLVERMgLibrary: Sendable {
    /// `CUSOLVER_STATUS_SUCCESS`.
    static let success: Int32 = 0
    /// `CUBLAS_FILL_MODE_LOWER` (`CUBLAS_FILL_MODE_UPPER` is 1, `CUBLAS_FILL_MODE_FULL` 2).
    static let fillModeLower: Int32 = 0
    /// `CUDA_R_64F` (`CUDA_R_32F` is 0).
    static let realFloat64: Int32 = 1
    /// `CUDALIBMG_GRID_MAPPING_COL_MAJOR` (`CUDALIBMG_GRID_MAPPING_ROW_MAJOR` is 1).
    static let gridMappingColumnMajor: Int32 = 0

    /// Where the library was loaded from.
    let path: String
    /// `cusolverMgCreate`: makes a handle.
    let create: PFN_cusolverMgCreate
    /// `cusolverMgDestroy`: releases a handle.
    let destroy: PFN_cusolverMgDestroy
    /// `cusolverMgDeviceSelect`: registers the devices (CUDA ordinals) a handle works on.
    let deviceSelect: PFN_cusolverMgDeviceSelect
    /// `cusolverMgCreateDeviceGrid`: a rows × columns grid of devices.
    let createDeviceGrid: PFN_cusolverMgCreateDeviceGrid
    /// `cusolverMgDestroyGrid`: releases a grid.
    let destroyGrid: PFN_cusolverMgDestroyGrid
    /// `cusolverMgCreateMatrixDesc`: describes a matrix's size, tiles, element type and grid.
    let createMatrixDesc: PFN_cusolverMgCreateMatrixDesc
    /// `cusolverMgDestroyMatrixDesc`: releases a matrix descriptor.
    let destroyMatrixDesc: PFN_cusolverMgDestroyMatrixDesc
    /// `cusolverMgPotrf_bufferSize`: the workspace potrf needs, in elements of the compute type per device.
    let potrfBufferSize: PFN_cusolverMgPotrf_bufferSize
    /// `cusolverMgPotrf`: the Cholesky factorization.
    let potrf: PFN_cusolverMgPotrf

    /// The library, or why it cannot be loaded; loaded on first use.
    static let shared: Result<CUSOLVERMgLibrary, DeviceError> = {
        do throws(DeviceError) {
            return .success(try load())
        } catch {
            return .failure(error)
        }
    }()

    /// Where libcusolverMg is looked for: `PARLA_CUSOLVERMG`, the sonames of CUDA 13 (cuSOLVER 12) and
    /// CUDA 11.1 to 12 (cuSOLVER 11), then the toolkit's usual folders.
    static let loader = CUDALibraryLoader(
        name: "cuSOLVERMg",
        variable: "PARLA_CUSOLVERMG",
        fileNames: ["libcusolverMg.so.12", "libcusolverMg.so.11", "libcusolverMg.so"]
    )

    /// Loads libcusolverMg, or throws ``DeviceError/cudaUnavailable(reason:)`` saying where it was looked for
    /// (and, for a copy that was found but would not load, why).
    static func load() throws(DeviceError) -> CUSOLVERMgLibrary {
        let (handle, path) = try loader.open()
        // Each `T` is the `@convention(c)` type of its function, declared above from cusolverMg.h.
        func symbol<T>(_ name: String, as type: T.Type) throws(DeviceError) -> T {
            try loader.function(name, in: handle, path: path, as: type)
        }
        return CUSOLVERMgLibrary(
            path: path,
            create: try symbol("cusolverMgCreate", as: PFN_cusolverMgCreate.self),
            destroy: try symbol("cusolverMgDestroy", as: PFN_cusolverMgDestroy.self),
            deviceSelect: try symbol("cusolverMgDeviceSelect", as: PFN_cusolverMgDeviceSelect.self),
            createDeviceGrid: try symbol("cusolverMgCreateDeviceGrid", as: PFN_cusolverMgCreateDeviceGrid.self),
            destroyGrid: try symbol("cusolverMgDestroyGrid", as: PFN_cusolverMgDestroyGrid.self),
            createMatrixDesc: try symbol("cusolverMgCreateMatrixDesc", as: PFN_cusolverMgCreateMatrixDesc.self),
            destroyMatrixDesc: try symbol("cusolverMgDestroyMatrixDesc", as: PFN_cusolverMgDestroyMatrixDesc.self),
            potrfBufferSize: try symbol("cusolverMgPotrf_bufferSize", as: PFN_cusolverMgPotrf_bufferSize.self),
            potrf: try symbol("cusolverMgPotrf", as: PFN_cusolverMgPotrf.self)
        )
    }

    /// The name and number of a `cusolverStatus_t` (`CUSOLVER_STATUS_INVALID_VALUE (3)`).
    static func statusText(_ status: Int32) -> String {
        let names = [
            "CUSOLVER_STATUS_SUCCESS", "CUSOLVER_STATUS_NOT_INITIALIZED", "CUSOLVER_STATUS_ALLOC_FAILED",
            "CUSOLVER_STATUS_INVALID_VALUE", "CUSOLVER_STATUS_ARCH_MISMATCH", "CUSOLVER_STATUS_MAPPING_ERROR",
            "CUSOLVER_STATUS_EXECUTION_FAILED", "CUSOLVER_STATUS_INTERNAL_ERROR",
            "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED", "CUSOLVER_STATUS_NOT_SUPPORTED",
            "CUSOLVER_STATUS_ZERO_PIVOT", "CUSOLVER_STATUS_INVALID_LICENSE",
        ]
        let name = names.indices.contains(Int(status)) ? names[Int(status)] : "cusolverStatus_t"
        return "\(name) (\(status))"
    }

    /// Throws ``DeviceError/cudaCall(device:call:code:message:)`` unless `status` is `CUSOLVER_STATUS_SUCCESS`.
    func check(_ status: Int32, _ call: @autoclosure () -> String) throws(DeviceError) {
        if status != Self.success {
            throw .cudaCall(device: nil, call: call(), code: Int(status), message: Self.statusText(status))
        }
    }

    /// Sets cuSOLVERMg up for `matrix` (a handle on its GPUs, a 1 × G grid, a descriptor of `n`-row,
    /// `blockColumns`-column tiles, and the workspace potrf asks for), then fills the matrix and times
    /// `cusolverMgPotrf` `repetitions` times; returns the best time in seconds. Every handle, grid and
    /// descriptor made is destroyed, and the workspace freed, however this returns.
    func timePotrf(
        matrix: BlockCyclicMatrix,
        repetitions: Int,
        fill: (Int, Int) -> Double
    ) throws(DeviceError) -> Double {
        let layout = matrix.layout
        let gpus = matrix.gpus
        let n = Int32(layout.n)
        let what = "(n: \(layout.n), \(layout.blockColumns)-column blocks, \(gpus.count) GPUs)"
        // The CUDA runtime inside cuSOLVERMg starts in whatever context is current: let it be a primary one.
        try gpus[0].makeCurrent()

        var handle: OpaquePointer? = nil
        try self.check(self.create(&handle), "cusolverMgCreate")
        defer { _ = self.destroy(handle) }
        // The devices by CUDA ordinal, in the order of every per-device array below (the layout's devices).
        let ordinals = StableHostArray(gpus.map { Int32($0.ordinal) })
        defer { withExtendedLifetime(ordinals) {} }
        try self.check(
            self.deviceSelect(handle, Int32(ordinals.count), ordinals.base),
            "cusolverMgDeviceSelect(\(gpus.map(\.ordinal)))"
        )

        var grid: OpaquePointer? = nil
        try self.check(
            self.createDeviceGrid(&grid, 1, Int32(ordinals.count), ordinals.base, Self.gridMappingColumnMajor),
            "cusolverMgCreateDeviceGrid(1 × \(ordinals.count))"
        )
        defer { _ = self.destroyGrid(grid) }

        var descriptor: OpaquePointer? = nil
        try self.check(
            self.createMatrixDesc(
                &descriptor,
                Int64(layout.n),
                Int64(layout.n),
                Int64(layout.n),
                Int64(layout.blockColumns),
                Self.realFloat64,
                grid
            ),
            "cusolverMgCreateMatrixDesc\(what)"
        )
        defer { _ = self.destroyMatrixDesc(descriptor) }

        let matrixPointers = matrix.locals.pointerArray()
        defer { withExtendedLifetime(matrixPointers) {} }
        var workspaceElements: Int64 = 0
        try self.check(
            self.potrfBufferSize(
                handle,
                Self.fillModeLower,
                n,
                matrixPointers.base,
                1,
                1,
                descriptor,
                Self.realFloat64,
                &workspaceElements
            ),
            "cusolverMgPotrf_bufferSize\(what)"
        )
        // `lwork` counts elements of the compute type (FP64) per device.
        let workspace = try DeviceBlocks(gpus: gpus, bytes: Int(workspaceElements) * MemoryLayout<Double>.stride)
        defer { withExtendedLifetime(workspace) {} }
        let workspacePointers = workspace.pointerArray()
        defer { withExtendedLifetime(workspacePointers) {} }
        // `h_info` is host memory the library writes: kept at a fixed address until every GPU has finished.
        let info = StableHostArray<Int32>([0])
        defer { withExtendedLifetime(info) {} }

        let clock = ContinuousClock()
        var best: Duration? = nil
        for _ in 0..<repetitions {
            try matrix.fill(fill)
            for gpu in gpus { try gpu.synchronize() }
            try gpus[0].makeCurrent()
            info.base.pointee = 0
            let start = clock.now
            let status = self.potrf(
                handle,
                Self.fillModeLower,
                n,
                matrixPointers.base,
                1,
                1,
                descriptor,
                Self.realFloat64,
                workspacePointers.base,
                workspaceElements,
                info.base
            )
            // Every GPU is waited for before anything is checked, so that nothing freed on the way out is
            // still in use.
            var synchronization: DeviceError? = nil
            for gpu in gpus {
                do throws(DeviceError) {
                    try gpu.synchronize()
                } catch {
                    synchronization = synchronization ?? error
                }
            }
            let elapsed = start.duration(to: clock.now)
            try self.check(status, "cusolverMgPotrf\(what)")
            if let synchronization { throw synchronization }
            let result = info.base.pointee
            if result != 0 {
                let meaning =
                    result > 0
                    ? "the leading minor of order \(result) is not positive definite"
                    : "parameter \(-result) is wrong"
                throw .cudaCall(
                    device: nil,
                    call: "cusolverMgPotrf\(what)",
                    code: Int(result),
                    message: "info = \(result): \(meaning)"
                )
            }
            best = best.map { Swift.min($0, elapsed) } ?? elapsed
        }
        let seconds = best ?? .zero
        return Double(seconds.components.seconds) + Double(seconds.components.attoseconds) * 1e-18
    }
}

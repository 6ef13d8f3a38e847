import CCUDADriver
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The CUDA driver, simulated in host memory: the same table of entry points the backend loads from
/// `libcuda.so.1` (``entryPoints``), so that the CUDA backend's own code runs, and is tested, on a
/// machine without a GPU. Selected with `PARLA_DEVICES=cuda-simulated:N` or
/// ``DeviceSelection/cudaSimulated(gpus:memory:faults:)``.
///
/// It keeps the driver's ownership rules, returning the driver's error where a program breaks one:
/// - each thread has a current context (`cuCtxSetCurrent`); allocations, streams, events and modules
///   belong to the context current when they are made, and without one a call fails with
///   `CUDA_ERROR_INVALID_CONTEXT`;
/// - a copy or a launch is queued on a stream of the current context and touches memory of that
///   context's device (`CUDA_ERROR_INVALID_CONTEXT`, `CUDA_ERROR_INVALID_VALUE` otherwise); a peer copy
///   touches its two contexts' memories and needs peer access enabled from the stream's context to
///   the other (`CUDA_ERROR_PEER_ACCESS_NOT_ENABLED`);
/// - an event is recorded only on a stream of its own context (`CUDA_ERROR_INVALID_HANDLE`);
/// - a kernel reads and writes only memory its context may access, inside live allocations
///   (`CUDA_ERROR_ILLEGAL_ADDRESS`).
///
/// Some rules are stricter than the real driver's (it accepts a copy between two devices' memories
/// through `cuMemcpyDtoDAsync` under unified addressing, for example): the backend keeps the stricter
/// rules, so it keeps the real ones. Device addresses are not host addresses (the host crashes on
/// one), and freed device memory is never handed out again, so that a use after free is an illegal
/// address. Work queued on a stream runs later, in order, on a thread of the stream's own;
/// `cuStreamWaitEvent` orders streams of any contexts; so a missing wait shows up as wrong data, as
/// on a GPU. Kernels (``SimulatedCUDA/Compiler`` images) run the host implementation of their
/// operation. A machine's ``DeviceFaults`` make chosen calls fail.
enum SimulatedCUDA {
    /// What a simulated machine has.
    struct Configuration: Hashable, Sendable {
        /// The number of GPUs.
        var gpus: Int
        /// Each GPU's memory in bytes (`nil`: ``defaultMemory``).
        var memory: Int?
        /// The calls made to fail.
        var faults: DeviceFaults?
    }

    /// A simulated GPU's memory when none is given.
    static let defaultMemory = 16 << 30
    /// The name simulated GPUs report.
    static let productName = "simulated CUDA GPU"

    /// A simulated machine: the driver ordinals of its GPUs, and its fault plan.
    final class Machine: Sendable {
        let ordinals: [Int]
        private let faults: Mutex<DeviceFaultState>

        init(configuration: Configuration, ordinals: [Int]) {
            self.ordinals = ordinals
            self.faults = Mutex(DeviceFaultState(plan: configuration.faults))
        }

        /// Whether this call of `operation` is made to fail.
        func shouldFail(_ operation: DeviceFaults.Operation) -> Bool {
            self.faults.withLock { $0.shouldFail(operation) }
        }

        /// How many calls were made to fail so far.
        var injectedFaults: Int { self.faults.withLock { $0.injected } }
    }

    /// A call the rules refuse, with the driver's error.
    struct Refusal: Error {
        let result: CUDAResult
        init(_ result: CUDAResult) { self.result = result }
    }

    // MARK: Objects

    /// Host memory standing for device memory (or pinned host memory), freed with the last reference:
    /// queued work keeps the blocks it touches alive.
    final class Block: @unchecked Sendable {
        // @unchecked Sendable: the pointer is immutable; the bytes are written only by work ordered by
        // streams and events, as device memory is.
        let pointer: UnsafeMutableRawPointer
        let size: Int

        init(size: Int) {
            self.size = size
            self.pointer = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(size, 1), alignment: 4096)
        }

        deinit { self.pointer.deallocate() }
    }

    /// One live device allocation.
    struct Allocation {
        let base: UInt64
        let size: Int
        let block: Block
    }

    /// A simulated GPU: its memory, its context's peer access and streams.
    struct DeviceState {
        let ordinal: Int
        let machine: Machine
        let capacity: Int
        var used = 0
        var allocations: [UInt64: Allocation] = [:]
        /// The allocations' base addresses, ascending (addresses only grow).
        var bases: [UInt64] = []
        var nextAddress: UInt64
        var contextRetained = false
        /// The ordinals whose memory this device's context may access (peer access enabled).
        var peers: Set<Int> = []
        var streams: [Stream] = []
        /// Whether the device's streams are held (new ones start held).
        var streamsHeld = false

        /// The allocation holding `address ..< address + bytes`, and the offset of `address` in it.
        func resolve(_ address: UInt64, bytes: Int) -> (Block, Int)? {
            var low = 0
            var high = self.bases.count
            while low < high {
                let middle = (low + high) / 2
                if self.bases[middle] <= address { low = middle + 1 } else { high = middle }
            }
            guard low > 0, let allocation = self.allocations[self.bases[low - 1]] else { return nil }
            let offset = Int(address - allocation.base)
            guard offset + bytes <= allocation.size else { return nil }
            return (allocation.block, offset)
        }
    }

    /// A stream: a serial queue of the work put on it.
    final class Stream: Sendable {
        let ordinal: Int
        private let queue: DispatchQueue
        /// Work queued and not finished (an event recorded when there is none has completed).
        private let pending = Atomic<Int>(0)

        init(ordinal: Int, number: UInt) {
            self.ordinal = ordinal
            self.queue = DispatchQueue(label: "parla.simulated-cuda.\(ordinal).stream-\(number)")
        }

        /// Whether the stream is held (see `SimulatedCUDA+Holding.swift`), and so its queue suspended.
        private let held = Mutex(false)

        /// Suspends or resumes the stream's queue (once per change).
        func setHeld(_ hold: Bool) {
            self.held.withLock { held in
                guard held != hold else { return }
                held = hold
                if hold { self.queue.suspend() } else { self.queue.resume() }
            }
        }

        /// Queues `work` after everything queued before.
        func enqueue(_ work: @escaping @Sendable () -> Void) {
            self.pending.add(1, ordering: .relaxed)
            self.queue.async {
                work()
                self.pending.subtract(1, ordering: .releasing)
            }
        }

        /// Whether everything queued has finished.
        var isIdle: Bool { self.pending.load(ordering: .acquiring) == 0 }

        /// Waits for everything queued so far.
        func synchronize() { self.queue.sync {} }
    }

    /// An event: the completion of the work before its latest record.
    final class Event: Sendable {
        let ordinal: Int
        let recorded = Mutex<DispatchGroup?>(nil)
        init(ordinal: Int) { self.ordinal = ordinal }
    }

    /// A loaded module: one kernel.
    final class Module: Sendable {
        let ordinal: Int
        let kernel: CUDAKernelKey
        init(ordinal: Int, kernel: CUDAKernelKey) {
            self.ordinal = ordinal
            self.kernel = kernel
        }
    }

    /// An object a handle names.
    enum Object {
        case stream(Stream)
        case event(Event)
        case module(Module)
        case function(Module)
    }

    /// Everything the simulated driver knows, behind one lock. Queued work never takes it.
    struct World: ~Copyable {
        var initialized = false
        var devices: [DeviceState] = []
        var objects: [UInt: Object] = [:]
        var nextHandle: UInt = 1
        /// Pinned host blocks by address.
        var pinned: [UInt: Block] = [:]

        /// A new handle for `object`.
        mutating func register(_ object: Object) -> OpaquePointer {
            let number = self.nextHandle
            self.nextHandle += 1
            self.objects[number] = object
            return OpaquePointer(bitPattern: number << 4)!
        }

        func object(_ handle: OpaquePointer?) -> Object? {
            guard let handle else { return nil }
            return self.objects[UInt(bitPattern: handle) >> 4]
        }

        func stream(_ handle: OpaquePointer?) throws(Refusal) -> Stream {
            guard case .stream(let stream)? = self.object(handle) else { throw Refusal(.invalidHandle) }
            return stream
        }

        func event(_ handle: OpaquePointer?) throws(Refusal) -> Event {
            guard case .event(let event)? = self.object(handle) else { throw Refusal(.invalidHandle) }
            return event
        }

        /// The device of a context handle.
        func context(_ handle: OpaquePointer?) throws(Refusal) -> Int {
            guard let handle else { throw Refusal(.invalidContext) }
            let ordinal = Int(UInt(bitPattern: handle) >> 4) - 1
            guard ordinal >= 0, ordinal < self.devices.count, self.devices[ordinal].contextRetained else {
                throw Refusal(.invalidContext)
            }
            return ordinal
        }

        /// The device of the calling thread's current context.
        func currentContext() throws(Refusal) -> Int {
            let raw = Int(bitPattern: pthread_getspecific(SimulatedCUDA.currentContextKey))
            guard raw > 0, raw - 1 < self.devices.count else { throw Refusal(.invalidContext) }
            return raw - 1
        }

        /// A stream of the current context.
        func streamOfCurrentContext(_ handle: OpaquePointer?) throws(Refusal) -> Stream {
            let current = try self.currentContext()
            let stream = try self.stream(handle)
            guard stream.ordinal == current else { throw Refusal(.invalidContext) }
            return stream
        }

        /// The device memory `address ..< address + bytes` of device `ordinal`.
        func memory(_ address: UInt64, bytes: Int, on ordinal: Int) throws(Refusal) -> (Block, Int) {
            guard let found = self.devices[ordinal].resolve(address, bytes: bytes) else {
                throw Refusal(.invalidValue)
            }
            return found
        }

        /// The pinned host block `host ..< host + bytes` lies in, if it does.
        func pinnedBlock(_ host: UnsafeRawPointer, bytes: Int) -> Block? {
            let address = UInt(bitPattern: host)
            let found = self.pinned.first { base, block in
                base <= address && address + UInt(bytes) <= base + UInt(block.size)
            }
            return found?.value
        }
    }

    static let world = Mutex(World())

    /// The calling thread's current context, as its device ordinal + 1 (0: none).
    static let currentContextKey: pthread_key_t = {
        var key = pthread_key_t()
        parlaPrecondition(
            pthread_key_create(&key, nil) == 0,
            "cannot create the simulated CUDA driver's thread-local key"
        )
        return key
    }()

    /// The handle of device `ordinal`'s primary context.
    static func contextHandle(_ ordinal: Int) -> OpaquePointer {
        OpaquePointer(bitPattern: UInt(ordinal + 1) << 4)!
    }

    /// The first device address of device `ordinal`: far outside the host's address space.
    static func addressBase(_ ordinal: Int) -> UInt64 {
        0x8000_0000_0000_0000 | (UInt64(ordinal) << 44) | 0x1_0000
    }

    // MARK: Machines

    /// Adds the GPUs of a new machine to the simulated driver.
    static func addMachine(_ configuration: Configuration) -> Machine {
        parlaPrecondition(
            configuration.gpus >= 1,
            "a simulated machine needs at least one GPU, not \(configuration.gpus)"
        )
        return world.withLock { world in
            let first = world.devices.count
            let machine = Machine(configuration: configuration, ordinals: Array(first..<first + configuration.gpus))
            for ordinal in machine.ordinals {
                world.devices.append(
                    DeviceState(
                        ordinal: ordinal,
                        machine: machine,
                        capacity: configuration.memory ?? defaultMemory,
                        nextAddress: addressBase(ordinal)
                    )
                )
            }
            return machine
        }
    }

    private static let sharedDriver = Mutex<CUDADriver?>(nil)

    /// The driver over the simulated entry points (one per process).
    static func driver() throws(DeviceError) -> CUDADriver {
        try sharedDriver.withLock { (driver) throws(DeviceError) -> CUDADriver in
            if let driver { return driver }
            let made = try CUDADriver(entryPoints: entryPoints, isSimulated: true)
            driver = made
            return made
        }
    }

    /// Runs a call's rules and work, returning its result code.
    @inline(__always)
    static func call(_ body: () throws(Refusal) -> Void) -> CUresult {
        do {
            try body()
            return CUDAResult.success.rawValue
        } catch {
            return error.result.rawValue
        }
    }

    // MARK: The compiler

    /// Compiles nothing: the image of a kernel names it, and the simulated driver runs its host
    /// implementation when it is launched.
    struct Compiler: CUDAKernelCompiler {
        /// What every simulated image starts with.
        static let imagePrefix = "parla-simulated-kernel:"

        func compile(_ source: String, name: String, computeCapability: Int) throws(DeviceError) -> [CChar] {
            let kernel = name.hasSuffix(".cu") ? String(name.dropLast(3)) : name
            guard CUDAKernelKey(name: kernel) != nil else {
                throw .cudaCall(device: nil, call: "nvrtcCompileProgram(\(name))", code: 6, message: "unknown kernel")
            }
            return Array((Self.imagePrefix + kernel).utf8CString)
        }
    }
}

import CCUDADriver
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension SimulatedCUDA {
    /// The simulated driver's table: the functions the backend would otherwise load from `libcuda.so.1`.
    static let entryPoints = CUDADriverEntryPoints(
        cuInit: { _ in initialize() },
        cuDriverGetVersion: { version in
            version?.pointee = 13000
            return CUDAResult.success.rawValue
        },
        cuDeviceGetCount: { count in deviceCount(count) },
        cuDeviceGet: { device, ordinal in deviceGet(device, ordinal) },
        cuDeviceGetName: { name, length, device in deviceName(name, length, device) },
        cuDeviceGetAttribute: { value, attribute, device in deviceAttribute(value, attribute, device) },
        cuDeviceTotalMem: { bytes, device in deviceTotalMemory(bytes, device) },
        cuDeviceCanAccessPeer: { canAccess, device, peer in canAccessPeer(canAccess, device, peer) },
        cuDevicePrimaryCtxRetain: { context, device in retainPrimaryContext(context, device) },
        cuCtxSetCurrent: { context in setCurrent(context) },
        cuCtxSynchronize: { synchronizeCurrentContext() },
        cuCtxEnablePeerAccess: { peer, flags in enablePeerAccess(peer, flags) },
        cuMemGetInfo: { free, total in memoryInfo(free, total) },
        cuMemAlloc: { address, bytes in allocate(address, bytes) },
        cuMemFree: { address in free(address) },
        cuMemAllocHost: { pointer, bytes in allocateHost(pointer, bytes) },
        cuMemFreeHost: { pointer in freeHost(pointer) },
        cuMemcpyHtoDAsync: { destination, source, bytes, stream in
            copyHostToDevice(destination, source, bytes, stream)
        },
        cuMemcpyDtoHAsync: { destination, source, bytes, stream in
            copyDeviceToHost(destination, source, bytes, stream)
        },
        cuMemcpyDtoDAsync: { destination, source, bytes, stream in
            copyDeviceToDevice(destination, source, bytes, stream)
        },
        cuMemcpyPeerAsync: { destination, destinationContext, source, sourceContext, bytes, stream in
            copyPeer(destination, destinationContext, source, sourceContext, bytes, stream)
        },
        cuStreamCreate: { stream, _ in createStream(stream) },
        cuStreamSynchronize: { stream in synchronizeStream(stream) },
        cuStreamWaitEvent: { stream, event, flags in streamWaitEvent(stream, event, flags) },
        cuEventCreate: { event, _ in createEvent(event) },
        cuEventRecord: { event, stream in recordEvent(event, stream) },
        cuEventSynchronize: { event in synchronizeEvent(event) },
        cuEventQuery: { event in queryEvent(event) },
        cuEventDestroy: { event in destroyEvent(event) },
        cuModuleLoadData: { module, image in loadModule(module, image) },
        cuModuleGetFunction: { function, module, name in moduleFunction(function, module, name) },
        cuLaunchKernel: { function, gx, gy, gz, bx, by, bz, shared, stream, parameters, extra in
            launchKernel(function, (gx, gy, gz), (bx, by, bz), shared, stream, parameters, extra)
        },
        cuGetErrorString: { code, text in errorString(code, text) }
    )

    // MARK: Initialization and devices

    static func initialize() -> CUresult {
        world.withLock { $0.initialized = true }
        return CUDAResult.success.rawValue
    }

    /// Rejects calls before `cuInit`, and unknown device handles.
    static func checkDevice(_ device: CUdevice, in world: borrowing World) throws(Refusal) -> Int {
        guard world.initialized else { throw Refusal(.notInitialized) }
        guard device >= 0, Int(device) < world.devices.count else { throw Refusal(.invalidDevice) }
        return Int(device)
    }

    /// The ordinal of `device`, checked under the lock.
    static func requireDevice(_ device: CUdevice) throws(Refusal) -> Int {
        try world.withLock { (world) throws(Refusal) in try checkDevice(device, in: world) }
    }

    static func deviceCount(_ count: UnsafeMutablePointer<Int32>?) -> CUresult {
        call { () throws(Refusal) in
            let devices = try world.withLock { (world) throws(Refusal) -> Int in
                guard world.initialized else { throw Refusal(.notInitialized) }
                return world.devices.count
            }
            count?.pointee = Int32(devices)
        }
    }

    static func deviceGet(_ device: UnsafeMutablePointer<CUdevice>?, _ ordinal: Int32) -> CUresult {
        call { () throws(Refusal) in
            _ = try requireDevice(ordinal)
            device?.pointee = ordinal
        }
    }

    static func deviceName(_ name: UnsafeMutablePointer<CChar>?, _ length: Int32, _ device: CUdevice) -> CUresult {
        call { () throws(Refusal) in
            _ = try requireDevice(device)
            guard let name, length > 0 else { throw Refusal(.invalidValue) }
            let text = Array(productName.utf8.prefix(Int(length) - 1))
            for (index, byte) in text.enumerated() { name[index] = CChar(bitPattern: byte) }
            name[text.count] = 0
        }
    }

    static func deviceAttribute(
        _ value: UnsafeMutablePointer<Int32>?,
        _ attribute: Int32,
        _ device: CUdevice
    )
        -> CUresult
    {
        call { () throws(Refusal) in
            _ = try requireDevice(device)
            switch attribute {
            case Int32(PARLA_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT): value?.pointee = 132
            case Int32(PARLA_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR): value?.pointee = 9
            case Int32(PARLA_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR): value?.pointee = 0
            default: throw Refusal(.invalidValue)
            }
        }
    }

    static func deviceTotalMemory(_ bytes: UnsafeMutablePointer<Int>?, _ device: CUdevice) -> CUresult {
        call { () throws(Refusal) in
            let capacity = try world.withLock { (world) throws(Refusal) -> Int in
                world.devices[try checkDevice(device, in: world)].capacity
            }
            bytes?.pointee = capacity
        }
    }

    static func canAccessPeer(
        _ canAccess: UnsafeMutablePointer<Int32>?,
        _ device: CUdevice,
        _ peer: CUdevice
    )
        -> CUresult
    {
        call { () throws(Refusal) in
            let allowed = try world.withLock { (world) throws(Refusal) -> Bool in
                let first = try checkDevice(device, in: world)
                let second = try checkDevice(peer, in: world)
                return first != second && world.devices[first].machine === world.devices[second].machine
            }
            canAccess?.pointee = allowed ? 1 : 0
        }
    }

    // MARK: Contexts

    static func retainPrimaryContext(_ context: UnsafeMutablePointer<CUcontext?>?, _ device: CUdevice) -> CUresult {
        call { () throws(Refusal) in
            let ordinal = try world.withLock { (world) throws(Refusal) -> Int in
                let ordinal = try checkDevice(device, in: world)
                world.devices[ordinal].contextRetained = true
                return ordinal
            }
            context?.pointee = contextHandle(ordinal)
        }
    }

    static func setCurrent(_ context: CUcontext?) -> CUresult {
        call { () throws(Refusal) in
            guard let context else {
                pthread_setspecific(currentContextKey, nil)
                return
            }
            let ordinal = try world.withLock { (world) throws(Refusal) in try world.context(context) }
            pthread_setspecific(currentContextKey, UnsafeRawPointer(bitPattern: ordinal + 1))
        }
    }

    static func synchronizeCurrentContext() -> CUresult {
        call { () throws(Refusal) in
            let streams = try world.withLock { (world) throws(Refusal) -> [Stream] in
                world.devices[try world.currentContext()].streams
            }
            for stream in streams { stream.synchronize() }
        }
    }

    static func enablePeerAccess(_ peer: CUcontext?, _ flags: UInt32) -> CUresult {
        call { () throws(Refusal) in
            try world.withLock { (world) throws(Refusal) in
                let current = try world.currentContext()
                let other = try world.context(peer)
                guard flags == 0, other != current else { throw Refusal(.invalidValue) }
                guard world.devices[current].machine === world.devices[other].machine else {
                    throw Refusal(.invalidDevice)
                }
                guard world.devices[current].peers.insert(other).inserted else {
                    throw Refusal(.peerAccessAlreadyEnabled)
                }
            }
        }
    }

    // MARK: Memory

    static func memoryInfo(_ free: UnsafeMutablePointer<Int>?, _ total: UnsafeMutablePointer<Int>?) -> CUresult {
        call { () throws(Refusal) in
            let (used, capacity) = try world.withLock { (world) throws(Refusal) -> (Int, Int) in
                let device = world.devices[try world.currentContext()]
                return (device.used, device.capacity)
            }
            free?.pointee = capacity - used
            total?.pointee = capacity
        }
    }

    static func allocate(_ address: UnsafeMutablePointer<CUdeviceptr>?, _ bytes: Int) -> CUresult {
        call { () throws(Refusal) in
            let base = try world.withLock { (world) throws(Refusal) -> UInt64 in
                let ordinal = try world.currentContext()
                guard bytes > 0 else { throw Refusal(.invalidValue) }
                if world.devices[ordinal].machine.shouldFail(.allocation) { throw Refusal(.outOfMemory) }
                guard world.devices[ordinal].used + bytes <= world.devices[ordinal].capacity else {
                    throw Refusal(.outOfMemory)
                }
                let base = world.devices[ordinal].nextAddress
                // A gap after each block: an access past its end is an illegal address.
                world.devices[ordinal].nextAddress += UInt64((bytes + 511) / 256 * 256)
                world.devices[ordinal].allocations[base] = Allocation(
                    base: base,
                    size: bytes,
                    block: Block(size: bytes)
                )
                world.devices[ordinal].bases.append(base)
                world.devices[ordinal].used += bytes
                return base
            }
            address?.pointee = base
        }
    }

    static func free(_ address: CUdeviceptr) -> CUresult {
        call { () throws(Refusal) in
            try world.withLock { (world) throws(Refusal) in
                _ = try world.currentContext()
                guard
                    let ordinal = world.devices.firstIndex(where: { $0.allocations[address] != nil }),
                    let allocation = world.devices[ordinal].allocations.removeValue(forKey: address)
                else { throw Refusal(.invalidValue) }
                world.devices[ordinal].bases.removeAll { $0 == address }
                world.devices[ordinal].used -= allocation.size
            }
        }
    }

    static func allocateHost(_ pointer: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ bytes: Int) -> CUresult {
        call { () throws(Refusal) in
            let block = try world.withLock { (world) throws(Refusal) -> Block in
                _ = try world.currentContext()
                guard bytes > 0 else { throw Refusal(.invalidValue) }
                let block = Block(size: bytes)
                world.pinned[UInt(bitPattern: block.pointer)] = block
                return block
            }
            pointer?.pointee = block.pointer
        }
    }

    static func freeHost(_ pointer: UnsafeMutableRawPointer?) -> CUresult {
        call { () throws(Refusal) in
            try world.withLock { (world) throws(Refusal) in
                guard let pointer, world.pinned.removeValue(forKey: UInt(bitPattern: pointer)) != nil else {
                    throw Refusal(.invalidValue)
                }
            }
        }
    }

    // MARK: Copies

    /// Queues `work` on `stream`; pageable host memory is copied before the call returns, as the real
    /// driver does (so the caller may reuse it at once).
    static func enqueue(_ work: @escaping @Sendable () -> Void, on stream: Stream, synchronously: Bool) {
        stream.enqueue(work)
        if synchronously { stream.synchronize() }
    }

    static func copyHostToDevice(
        _ destination: CUdeviceptr,
        _ source: UnsafeRawPointer?,
        _ bytes: Int,
        _ stream: CUstream?
    ) -> CUresult {
        guard let source else { return CUDAResult.invalidValue.rawValue }
        return copyWithHost(
            device: destination,
            host: UnsafeMutableRawPointer(mutating: source),
            bytes,
            stream,
            .copyToDevice
        )
    }

    static func copyDeviceToHost(
        _ destination: UnsafeMutableRawPointer?,
        _ source: CUdeviceptr,
        _ bytes: Int,
        _ stream: CUstream?
    ) -> CUresult {
        guard let destination else { return CUDAResult.invalidValue.rawValue }
        return copyWithHost(device: source, host: destination, bytes, stream, .copyToHost)
    }

    /// A copy between host memory and device memory of the current context, in the direction
    /// `operation` names.
    static func copyWithHost(
        device address: CUdeviceptr,
        host: UnsafeMutableRawPointer,
        _ bytes: Int,
        _ stream: CUstream?,
        _ operation: DeviceFaults.Operation
    ) -> CUresult {
        call { () throws(Refusal) in
            let (queue, block, offset, pinned) = try world.withLock {
                (world) throws(Refusal) -> (Stream, Block, Int, Block?) in
                let queue = try world.streamOfCurrentContext(stream)
                let (block, offset) = try world.memory(address, bytes: bytes, on: queue.ordinal)
                if world.devices[queue.ordinal].machine.shouldFail(operation) { throw Refusal(.unknown) }
                return (queue, block, offset, world.pinnedBlock(host, bytes: bytes))
            }
            let hostAddress = UInt(bitPattern: host)
            let toDevice = operation == .copyToDevice
            enqueue(
                {
                    // (A pinned host block stays alive until the copy has run, as the driver keeps it.)
                    withExtendedLifetime(pinned) {
                        let host = UnsafeMutableRawPointer(bitPattern: hostAddress)!
                        if toDevice {
                            memcpy(block.pointer + offset, host, bytes)
                        } else {
                            memcpy(host, block.pointer + offset, bytes)
                        }
                    }
                },
                on: queue,
                synchronously: pinned == nil
            )
        }
    }

    static func copyDeviceToDevice(
        _ destination: CUdeviceptr,
        _ source: CUdeviceptr,
        _ bytes: Int,
        _ stream: CUstream?
    )
        -> CUresult
    {
        call { () throws(Refusal) in
            let (queue, to, toOffset, from, fromOffset) = try world.withLock {
                (world) throws(Refusal) -> (Stream, Block, Int, Block, Int) in
                let queue = try world.streamOfCurrentContext(stream)
                let (to, toOffset) = try world.memory(destination, bytes: bytes, on: queue.ordinal)
                let (from, fromOffset) = try world.memory(source, bytes: bytes, on: queue.ordinal)
                if world.devices[queue.ordinal].machine.shouldFail(.copyBetweenDevices) { throw Refusal(.unknown) }
                return (queue, to, toOffset, from, fromOffset)
            }
            enqueue(
                { memmove(to.pointer + toOffset, from.pointer + fromOffset, bytes) },
                on: queue,
                synchronously: false
            )
        }
    }

    static func copyPeer(
        _ destination: CUdeviceptr,
        _ destinationContext: CUcontext?,
        _ source: CUdeviceptr,
        _ sourceContext: CUcontext?,
        _ bytes: Int,
        _ stream: CUstream?
    ) -> CUresult {
        call { () throws(Refusal) in
            let (queue, to, toOffset, from, fromOffset) = try world.withLock {
                (world) throws(Refusal) -> (Stream, Block, Int, Block, Int) in
                let queue = try world.streamOfCurrentContext(stream)
                let target = try world.context(destinationContext)
                let origin = try world.context(sourceContext)
                let (to, toOffset) = try world.memory(destination, bytes: bytes, on: target)
                let (from, fromOffset) = try world.memory(source, bytes: bytes, on: origin)
                guard queue.ordinal == target || queue.ordinal == origin else { throw Refusal(.invalidContext) }
                let other = queue.ordinal == target ? origin : target
                guard other == queue.ordinal || world.devices[queue.ordinal].peers.contains(other) else {
                    throw Refusal(.peerAccessNotEnabled)
                }
                if world.devices[queue.ordinal].machine.shouldFail(.copyBetweenDevices) { throw Refusal(.unknown) }
                return (queue, to, toOffset, from, fromOffset)
            }
            enqueue(
                { memmove(to.pointer + toOffset, from.pointer + fromOffset, bytes) },
                on: queue,
                synchronously: false
            )
        }
    }

    // MARK: Streams and events

    static func createStream(_ stream: UnsafeMutablePointer<CUstream?>?) -> CUresult {
        call { () throws(Refusal) in
            let handle = try world.withLock { (world) throws(Refusal) -> OpaquePointer in
                let ordinal = try world.currentContext()
                let made = Stream(ordinal: ordinal, number: world.nextHandle)
                if world.devices[ordinal].streamsHeld { made.setHeld(true) }
                world.devices[ordinal].streams.append(made)
                return world.register(.stream(made))
            }
            stream?.pointee = handle
        }
    }

    static func synchronizeStream(_ stream: CUstream?) -> CUresult {
        call { () throws(Refusal) in
            let queue = try world.withLock { (world) throws(Refusal) in try world.stream(stream) }
            queue.synchronize()
        }
    }

    static func streamWaitEvent(_ stream: CUstream?, _ event: CUevent?, _ flags: UInt32) -> CUresult {
        call { () throws(Refusal) in
            // The event may belong to any context; the wait is for its latest record.
            let (queue, waited) = try world.withLock { (world) throws(Refusal) -> (Stream, Event) in
                (try world.stream(stream), try world.event(event))
            }
            guard flags == 0 else { throw Refusal(.invalidValue) }
            if let group = waited.recorded.withLock({ $0 }) {
                queue.enqueue { group.wait() }
            }
        }
    }

    static func createEvent(_ event: UnsafeMutablePointer<CUevent?>?) -> CUresult {
        call { () throws(Refusal) in
            let handle = try world.withLock { (world) throws(Refusal) -> OpaquePointer in
                world.register(.event(Event(ordinal: try world.currentContext())))
            }
            event?.pointee = handle
        }
    }

    static func recordEvent(_ event: CUevent?, _ stream: CUstream?) -> CUresult {
        call { () throws(Refusal) in
            let (recorded, queue) = try world.withLock { (world) throws(Refusal) -> (Event, Stream) in
                let recorded = try world.event(event)
                let queue = try world.stream(stream)
                // The rule the multi-GPU copies once broke: an event is recorded on its own context's streams.
                guard recorded.ordinal == queue.ordinal else { throw Refusal(.invalidHandle) }
                return (recorded, queue)
            }
            let group = DispatchGroup()
            if !queue.isIdle {
                group.enter()
                queue.enqueue { group.leave() }
            }
            recorded.recorded.withLock { $0 = group }
        }
    }

    static func synchronizeEvent(_ event: CUevent?) -> CUresult {
        call { () throws(Refusal) in
            let waited = try world.withLock { (world) throws(Refusal) in try world.event(event) }
            waited.recorded.withLock { $0 }?.wait()
        }
    }

    static func queryEvent(_ event: CUevent?) -> CUresult {
        call { () throws(Refusal) in
            let queried = try world.withLock { (world) throws(Refusal) in try world.event(event) }
            if let group = queried.recorded.withLock({ $0 }), group.wait(timeout: .now()) != .success {
                throw Refusal(.notReady)
            }
        }
    }

    static func destroyEvent(_ event: CUevent?) -> CUresult {
        call { () throws(Refusal) in
            try world.withLock { (world) throws(Refusal) in
                _ = try world.event(event)
                world.objects[UInt(bitPattern: event!) >> 4] = nil
            }
        }
    }

    // MARK: Modules and launches

    static func loadModule(_ module: UnsafeMutablePointer<CUmodule?>?, _ image: UnsafeRawPointer?) -> CUresult {
        call { () throws(Refusal) in
            guard let image else { throw Refusal(.invalidValue) }
            let text = String(cString: image.assumingMemoryBound(to: CChar.self))
            guard text.hasPrefix(Compiler.imagePrefix),
                let kernel = CUDAKernelKey(name: String(text.dropFirst(Compiler.imagePrefix.count)))
            else { throw Refusal(.invalidImage) }
            let handle = try world.withLock { (world) throws(Refusal) -> OpaquePointer in
                world.register(.module(Module(ordinal: try world.currentContext(), kernel: kernel)))
            }
            module?.pointee = handle
        }
    }

    static func moduleFunction(
        _ function: UnsafeMutablePointer<CUfunction?>?,
        _ module: CUmodule?,
        _ name: UnsafePointer<CChar>?
    ) -> CUresult {
        call { () throws(Refusal) in
            let handle = try world.withLock { (world) throws(Refusal) -> OpaquePointer in
                guard case .module(let loaded)? = world.object(module) else { throw Refusal(.invalidHandle) }
                guard let name, String(cString: name) == "parla_kernel" else { throw Refusal(.notFound) }
                return world.register(.function(loaded))
            }
            function?.pointee = handle
        }
    }

    static func launchKernel(
        _ function: CUfunction?,
        _ grid: (UInt32, UInt32, UInt32),
        _ block: (UInt32, UInt32, UInt32),
        _ sharedBytes: UInt32,
        _ stream: CUstream?,
        _ parameters: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
        _ extra: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    ) -> CUresult {
        call { () throws(Refusal) in
            guard let parameters, extra == nil else { throw Refusal(.invalidValue) }
            guard grid.0 > 0, grid.1 > 0, grid.2 > 0, block.0 > 0, block.1 > 0, block.2 > 0,
                block.0 * block.1 * block.2 <= 1024
            else { throw Refusal(.invalidValue) }
            let (queue, work) = try world.withLock { (world) throws(Refusal) -> (Stream, @Sendable () -> Void) in
                let queue = try world.streamOfCurrentContext(stream)
                guard case .function(let module)? = world.object(function) else { throw Refusal(.invalidHandle) }
                guard module.ordinal == queue.ordinal else { throw Refusal(.invalidHandle) }
                let work = try SimulatedKernel.prepare(
                    module.kernel,
                    parameters: parameters,
                    on: queue.ordinal,
                    in: world
                )
                if world.devices[queue.ordinal].machine.shouldFail(.launch) { throw Refusal(.launchFailed) }
                return (queue, work)
            }
            queue.enqueue(work)
        }
    }

    // MARK: Errors

    static func errorString(_ code: CUresult, _ text: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> CUresult {
        let message: StaticString
        switch CUDAResult(rawValue: code) {
        case .success: message = "no error"
        case .invalidValue: message = "invalid argument"
        case .outOfMemory: message = "out of memory"
        case .notInitialized: message = "initialization error"
        case .invalidDevice: message = "invalid device ordinal"
        case .invalidImage: message = "device kernel image is invalid"
        case .invalidContext: message = "invalid device context"
        case .invalidHandle: message = "invalid resource handle"
        case .notFound: message = "named symbol not found"
        case .notReady: message = "device not ready"
        case .illegalAddress: message = "an illegal memory access was encountered"
        case .peerAccessAlreadyEnabled: message = "peer access is already enabled"
        case .peerAccessNotEnabled: message = "peer access has not been enabled"
        case .launchFailed: message = "unspecified launch failure"
        case .unknown: message = "unknown error"
        default:
            text?.pointee = nil
            return CUDAResult.invalidValue.rawValue
        }
        text?.pointee = UnsafeRawPointer(message.utf8Start).assumingMemoryBound(to: CChar.self)
        return CUDAResult.success.rawValue
    }
}

import CCUDADriver
import Synchronization

/// cuBLAS and cuSOLVER, simulated: the same tables of functions the backend loads from the CUDA
/// installation, computing with ``ReferenceLinearAlgebra`` on the simulated devices' memory, queued on
/// the stream a handle is bound to. They keep the libraries' rules that a program can break: a handle
/// belongs to the device current when it was made and is used with that device current; its stream is
/// one of that device's; every matrix lies inside live memory of that device; a workspace is as large
/// as the size query said. A broken rule returns the library's error status, as the real ones do.
extension SimulatedCUDA {
    /// A cuBLAS or cuSOLVER handle: its device and the stream its work goes on.
    final class LibraryHandle: Sendable {
        let ordinal: Int
        /// The bits of the `CUstream` set by `SetStream` (0: none).
        let stream = Mutex<UInt>(0)
        init(ordinal: Int) { self.ordinal = ordinal }
    }

    /// A call a library refuses, with its status.
    struct LibraryRefusal: Error {
        let status: Int32
    }

    /// Status codes: cuBLAS's and cuSOLVER's numbers for the refusals the simulation makes.
    enum LibraryStatus {
        static let cublasNotInitialized: Int32 = 1
        static let cublasInvalidValue: Int32 = 7
        static let cublasExecutionFailed: Int32 = 13
        static let cusolverNotInitialized: Int32 = 1
        static let cusolverInvalidValue: Int32 = 3
        static let cusolverExecutionFailed: Int32 = 6
    }

    /// Runs a library call's rules and queues its work, returning its status.
    static func libraryCall(_ body: () throws(LibraryRefusal) -> Void) -> Int32 {
        do {
            try body()
            return 0
        } catch {
            return error.status
        }
    }

    /// A new handle for the device current on the calling thread.
    static func createLibraryHandle(_ handle: UnsafeMutablePointer<OpaquePointer?>?, notInitialized: Int32) -> Int32 {
        libraryCall { () throws(LibraryRefusal) in
            guard let handle else { throw LibraryRefusal(status: notInitialized) }
            let ordinal = try world.withLock { (world) throws(LibraryRefusal) in
                do throws(Refusal) { return try world.currentContext() } catch {
                    throw LibraryRefusal(status: notInitialized)
                }
            }
            // Retained until the handle is destroyed (`destroyLibraryHandle`): the library owns it.
            handle.pointee = OpaquePointer(Unmanaged.passRetained(LibraryHandle(ordinal: ordinal)).toOpaque())
        }
    }

    /// The handle behind `pointer` (made by `createLibraryHandle` and not destroyed).
    static func libraryHandle(_ pointer: OpaquePointer?, invalid: Int32) throws(LibraryRefusal) -> LibraryHandle {
        guard let pointer else { throw LibraryRefusal(status: invalid) }
        // The handle was retained when made and is released only by its destroy call.
        return Unmanaged<LibraryHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }

    static func destroyLibraryHandle(_ pointer: OpaquePointer?) -> Int32 {
        guard let pointer else { return LibraryStatus.cublasNotInitialized }
        // Balances the retain of `createLibraryHandle`.
        Unmanaged<LibraryHandle>.fromOpaque(UnsafeRawPointer(pointer)).release()
        return 0
    }

    /// A matrix of a library call: its memory on the handle's device, checked to lie inside one live
    /// allocation.
    struct LibraryMatrix<T>: @unchecked Sendable {
        // @unchecked Sendable: the block is kept alive by this value and written only by work the
        // handle's stream orders, as device memory is.
        let block: Block
        let offset: Int
        let leadingDimension: Int
        var pointer: UnsafeMutablePointer<T> {
            (self.block.pointer + self.offset).assumingMemoryBound(to: T.self)
        }
    }

    /// The stream of `handle`, which must be one of the current context's (the handle's device's), and
    /// the memory of each matrix (address, rows, columns, leading dimension) on that device.
    static func resolve<T: Sendable>(
        _ handle: LibraryHandle,
        matrices: [(UnsafeMutablePointer<T>?, rows: Int, columns: Int, leadingDimension: Int)],
        invalidValue: Int32,
        executionFailed: Int32
    ) throws(LibraryRefusal) -> (Stream, [LibraryMatrix<T>]) {
        try world.withLock { (world) throws(LibraryRefusal) -> (Stream, [LibraryMatrix<T>]) in
            let queue: Stream
            do throws(Refusal) {
                guard try world.currentContext() == handle.ordinal else { throw Refusal(.invalidContext) }
                queue = try world.streamOfCurrentContext(OpaquePointer(bitPattern: handle.stream.withLock { $0 }))
            } catch {
                throw LibraryRefusal(status: executionFailed)
            }
            var resolved: [LibraryMatrix<T>] = []
            for (pointer, rows, columns, leadingDimension) in matrices {
                guard rows >= 0, columns >= 0, leadingDimension >= Swift.max(1, rows) else {
                    throw LibraryRefusal(status: invalidValue)
                }
                let elements = rows == 0 || columns == 0 ? 1 : (columns - 1) * leadingDimension + rows
                let address = UInt64(UInt(bitPattern: pointer))
                do throws(Refusal) {
                    let (block, offset) = try world.memory(
                        address,
                        bytes: elements * MemoryLayout<T>.stride,
                        on: handle.ordinal
                    )
                    resolved.append(LibraryMatrix(block: block, offset: offset, leadingDimension: leadingDimension))
                } catch {
                    throw LibraryRefusal(status: executionFailed)
                }
            }
            return (queue, resolved)
        }
    }
}

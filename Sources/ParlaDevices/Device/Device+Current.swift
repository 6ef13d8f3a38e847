#if canImport(Glibc)
import Glibc
#endif

extension Device {
    /// The device of the task whose asynchronous body is running (set by the runtime).
    @TaskLocal
    public static var _asyncTaskDevice: Device? = nil

    /// Inside a task, the device it runs on; outside any task, `cpu`.
    ///
    /// Parla (Python) equivalent: `get_current_devices()[0]`.
    public static var current: Device {
        if let device = Device._asyncTaskDevice { return device }
        return _WorkerThreadDevice.get() ?? .cpu
    }
}

/// The device of the synchronous task body running on this thread, kept in thread-local storage
/// (cheaper than binding a task-local around every body on the runtime's worker threads).
public enum _WorkerThreadDevice {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        parlaPrecondition(pthread_key_create(&key, nil) == 0, "cannot create the thread-local key for Device.current")
        return key
    }()

    /// The device set on this thread, if any.
    @inline(__always)
    public static func get() -> Device? {
        // Stored as index + 2, so that 0 (no value) is distinct from the CPU (-1) and gpu(0).
        let raw = Int(bitPattern: pthread_getspecific(key))
        switch raw {
        case 0: return nil
        case 1: return .cpu
        default: return .gpu(raw - 2)
        }
    }

    /// Sets (or, with `nil`, clears) the device of this thread.
    @inline(__always)
    public static func set(_ device: Device?) {
        let raw = device.map { $0.index + 2 } ?? 0
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: raw))
    }
}

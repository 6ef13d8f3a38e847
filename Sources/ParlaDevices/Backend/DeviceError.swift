/// Why a device operation failed. Every case names the device (and the sizes) it is about.
public enum DeviceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// An allocation asked for more than the device has free.
    case outOfMemory(device: Device, requested: Int, free: Int)
    /// A device that the current selection does not have.
    case noSuchDevice(Device, available: [Device])
    /// `.cuda` was asked for, but no CUDA GPU can be used; `reason` says why.
    case cudaUnavailable(reason: String)
    /// A CUDA driver, NVRTC or cuSOLVERMg call failed (for a cuSOLVERMg call, `code` is its
    /// `cusolverStatus_t`, or the `info` it reported, and `message` says which).
    case cudaCall(device: Device?, call: String, code: Int, message: String)
    /// A call that a ``DeviceFaults`` plan made fail on a virtual GPU; `operation` says which.
    case injectedFault(device: Device, operation: String)
    /// A device selection that cannot be understood (for example a bad `PARLA_DEVICES`).
    case invalidSelection(String)

    public var description: String {
        switch self {
        case .outOfMemory(let device, let requested, let free):
            return "out of memory on \(device): asked for \(requested) bytes, \(free) bytes free"
        case .noSuchDevice(let device, let available):
            return
                "no device \(device) in this run; the devices are \(available.map(\.description).joined(separator: ", "))"
        case .cudaUnavailable(let reason):
            return "no CUDA GPU can be used: \(reason)"
        case .cudaCall(let device, let call, let code, let message):
            let on = device.map { " on \($0)" } ?? ""
            if call.hasPrefix("cusolver") { return "\(call) failed\(on): \(message)" }
            let name = call.hasPrefix("nvrtc") ? "NVRTC error \(code)" : CUDAResult(rawValue: Int32(code)).description
            return "\(call) failed\(on) with \(name): \(message)"
        case .injectedFault(let device, let operation):
            return "\(operation) failed on \(device) (an injected fault)"
        case .invalidSelection(let text):
            return "invalid device selection: \(text)"
        }
    }
}

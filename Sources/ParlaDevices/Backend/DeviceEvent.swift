import Dispatch

/// The completion of asynchronous device work (a copy or a kernel).
///
/// Parla (Python) equivalent: a CUDA event recorded on a stream.
public struct DeviceEvent: Sendable {
    @usableFromInline
    enum _Kind: Sendable {
        case complete
        case group(DispatchGroup)
        case custom(wait: @Sendable () throws(DeviceError) -> Void, query: @Sendable () -> Bool)
    }

    @usableFromInline
    let _kind: _Kind

    /// An event that has already completed.
    public static let completed = DeviceEvent(_kind: .complete)

    @usableFromInline
    init(_kind: _Kind) { self._kind = _kind }

    /// An event that completes when every block entered into `group` has left it.
    public init(group: DispatchGroup) { self._kind = .group(group) }

    /// An event with its own waiting and polling functions (used for CUDA events).
    public init(wait: @escaping @Sendable () throws(DeviceError) -> Void, query: @escaping @Sendable () -> Bool) {
        self._kind = .custom(wait: wait, query: query)
    }

    /// Blocks the calling thread until the work has finished; throws when the device reports an error.
    public func wait() throws(DeviceError) {
        switch self._kind {
        case .complete: return
        case .group(let group): group.wait()
        case .custom(let wait, _): try wait()
        }
    }

    /// Whether the event is known to have completed without asking the device: one made completed
    /// (``completed``); `false` for a device's event, whatever its state.
    public var hasCompleted: Bool {
        if case .complete = self._kind { return true }
        return false
    }

    /// Whether the work has finished, without waiting.
    public var isComplete: Bool {
        switch self._kind {
        case .complete: return true
        case .group(let group): return group.wait(timeout: .now()) == .success
        case .custom(_, let query): return query()
        }
    }
}

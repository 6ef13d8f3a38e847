import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Ends the process when a check runs past its time: a run that hangs is a failure, reported (with the
/// seed that replays it) instead of waited for forever.
public final class Watchdog: Sendable {
    private let stopped = Atomic<Bool>(false)

    /// Starts the watch: unless ``stop()`` is called within `seconds`, prints `report()` to standard
    /// error and exits with status 1.
    public init(seconds: Double, report: @escaping @Sendable () -> String) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            guard !self.stopped.load(ordering: .acquiring) else { return }
            let line = Array("watchdog: \(report())\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            exit(1)
        }
    }

    /// Ends the watch.
    public func stop() { self.stopped.store(true, ordering: .releasing) }
}

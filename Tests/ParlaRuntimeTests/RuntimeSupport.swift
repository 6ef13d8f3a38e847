import Synchronization

@testable import Parla

/// A thread-safe log of events, for checking orders.
final class EventLog: Sendable {
    private let events = Mutex<[String]>([])

    func append(_ event: String) { self.events.withLock { $0.append(event) } }

    var all: [String] { self.events.withLock { $0 } }

    /// The position of `event` in the log.
    func position(_ event: String) -> Int? { self.all.firstIndex(of: event) }
}

/// Counts how many bodies run at once, and the most seen.
final class ConcurrencyGauge: Sendable {
    private let state = Mutex((current: 0, peak: 0))

    func enter() {
        self.state.withLock {
            $0.current += 1
            $0.peak = max($0.peak, $0.current)
        }
    }
    func leave() { self.state.withLock { $0.current -= 1 } }
    var peak: Int { self.state.withLock { $0.peak } }
}

/// Parla.run scopes are process-wide; tests that open one run one at a time.
let virtualDevices = DeviceSelection.virtual(gpus: 4)

import Synchronization

@testable import Parla

#if canImport(Glibc)
import Glibc
#endif

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

/// Four virtual GPUs.
let virtualDevices = DeviceSelection.virtual(gpus: 4)

/// A one-way gate for tests: tasks wait until the test opens it (no timing involved).
final class Gate: Sendable {
    private let opened = Atomic<Bool>(false)

    func open() { self.opened.store(true, ordering: .releasing) }

    /// Blocks the calling thread (a task body's) until the gate opens.
    func waitUntilOpen() {
        while !self.opened.load(ordering: .acquiring) { sched_yield() }
    }

    /// Suspends the calling Swift task until the gate opens.
    func wait() async {
        while !self.opened.load(ordering: .acquiring) { await Task.yield() }
    }
}

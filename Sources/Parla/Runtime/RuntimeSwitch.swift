import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A behaviour of the runtime that is on unless its environment variable is `0` (`PARLA_RUNAHEAD`,
/// `PARLA_TASK_STREAMS`), and that benchmarks turn off and on to compare the two in one process.
final class RuntimeSwitch: Sendable {
    private let state: Atomic<Bool>

    /// On unless the environment variable `name` is `0`.
    init(environment name: String) {
        #if canImport(Glibc)
        if let value = getenv(name) {
            self.state = Atomic(String(cString: value) != "0")
            return
        }
        #endif
        self.state = Atomic(true)
    }

    /// Whether the behaviour is on now.
    var isOn: Bool { self.state.load(ordering: .relaxed) }

    /// Runs `body` with the behaviour `on` or off for what it starts, then puts the setting back. Not
    /// for runs in progress at once with others that expect the setting.
    func with<R>(_ on: Bool, _ body: () async throws -> R) async rethrows -> R {
        let saved = self.state.exchange(on, ordering: .relaxed)
        defer { self.state.store(saved, ordering: .relaxed) }
        return try await body()
    }
}

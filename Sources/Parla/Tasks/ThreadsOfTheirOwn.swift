#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(index)` for each index below `count`, all at the same time, each on a new thread of its
/// own, and returns when all have returned. (Not on a shared pool, whose threads may all be busy or
/// blocked: the calls of a multi-device task's loop over its devices may wait for each other.) Where
/// a thread cannot be started, that call runs on the calling thread, after the others have started.
func runOnThreadsOfTheirOwn(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Call: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
    var threads: [pthread_t] = []
    var inline: [Int] = []
    for index in 0..<count {
        // Retained for the thread, which releases it.
        let call = Unmanaged.passRetained(Call { body(index) })
        var thread = pthread_t()
        let result = pthread_create(
            &thread,
            nil,
            { argument in
                Unmanaged<Call>.fromOpaque(argument!).takeRetainedValue().run()
                return nil
            },
            call.toOpaque()
        )
        if result == 0 {
            threads.append(thread)
        } else {
            call.release()
            inline.append(index)
        }
    }
    for index in inline { body(index) }
    for thread in threads { pthread_join(thread, nil) }
}

import Dispatch
import Testing

@testable import ParlaDevices

@Suite("adaptive mutex")
struct AdaptiveMutexTests {
    @Test("threads taking the lock at once lose no update, and a throwing body releases it")
    func excludes() {
        let counter = AdaptiveMutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<20_000 { counter.withLock { $0 += 1 } }
        }
        #expect(counter.withLock { $0 } == 160_000)
        struct Refused: Error {}
        #expect(throws: Refused.self) { try counter.withLock { _ throws(Refused) in throw Refused() } }
        #expect(counter.withLock { $0 } == 160_000)  // (taken again: the throw released it)
    }
}

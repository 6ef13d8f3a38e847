import Synchronization
import Testing

@testable import Parla
@testable import ParlaDevices

#if canImport(Glibc)
import Glibc
#endif

// The checks exist only in builds with internal checks (debug builds; see Package.swift).
#if PARLA_INTERNAL_CHECKS
/// Each internal invariant check fires when its rule is broken on purpose (in builds with internal
/// checks, which `swift test` builds are; see `InternalChecks.swift`).
@Suite("internal invariant checks")
struct InternalChecksTests {
    /// What a child process that stopped printed.
    private static func text(_ result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    /// Hands the calling thread's context to a new thread, which sets its device.
    private static func useThisThreadsContextOnAnother() {
        let context = Unmanaged.passRetained(ThreadContext.current).toOpaque()
        var thread = pthread_t()
        pthread_create(
            &thread,
            nil,
            { argument in
                let context = Unmanaged<ThreadContext>.fromOpaque(argument!).takeRetainedValue()
                context.enterTaskBody(device: .gpu(0), task: Unmanaged.passUnretained(context))
                return nil
            },
            context
        )
        pthread_join(thread, nil)
    }

    /// Hands the calling thread's task record cache to a new thread, which takes a record from it.
    private static func useThisThreadsRecordCacheOnAnother() {
        let cache = Unmanaged.passRetained(TaskRecordCache.current).toOpaque()
        var thread = pthread_t()
        pthread_create(
            &thread,
            nil,
            { argument in
                let cache = Unmanaged<TaskRecordCache>.fromOpaque(argument!).takeRetainedValue()
                _ = cache.take()
                return nil
            },
            cache
        )
        pthread_join(thread, nil)
    }

    @Test("a thread using another thread's task record cache stops")
    func recordCacheOwner() async {
        let text = Self.text(
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                Self.useThisThreadsRecordCacheOnAnother()
            }
        )
        #expect(text.contains("another thread's task record cache"))
    }

    @Test("a thread using another thread's context stops")
    func threadContextOwner() async {
        let text = Self.text(
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                Self.useThisThreadsContextOnAnother()
            }
        )
        #expect(text.contains("internal invariant broken") && text.contains("another thread's ThreadContext"))
    }

    @Test("a thread taking a lock it holds stops (withLock is not reentrant)")
    func reentrantLock() async {
        let text = Self.text(
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                let lock = AdaptiveMutex(0)
                lock.withLock { _ in lock.withLock { $0 += 1 } }
            }
        )
        #expect(text.contains("took a lock it already holds"))
    }

    @Test("copies made with an array's lock held stop, naming the array")
    func copiesUnderTheLock() async {
        let text = Self.text(
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                let A = PArray(NDArray<Double>.zeros([4]))
                A.storage.state.withLock { _ in A.storage.checkLockNotHeld(copying: "a region") }
            }
        )
        #expect(text.contains("copies of a region of PArray #") && text.contains("with the array's lock held"))
    }

    /// A finished record of an unnamed task.
    private static func finishedRecord(in scope: RunScope) -> TypedTaskRecord<Void> {
        let record = TypedTaskRecord<Void>.madeByHand(in: scope)
        scope.accounting.taskSpawned()
        record.makeNeverReady()
        scope.accounting.taskBecameActive()
        record.complete(failure: nil)
        return record
    }

    @Test("a record completed twice stops")
    func completedTwice() async {
        let text = Self.text(
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                try? await Parla.run(devices: .virtual(gpus: 1)) {
                    let scope = RunScope.current!
                    let record = Self.finishedRecord(in: scope)
                    record.complete(failure: nil)
                }
            }
        )
        #expect(text.contains("went from completed to completed"))
    }

    @Test("reusing a record that no cache kept (a new generation of a live task) stops")
    func reuseWithoutCache() async {
        let text = Self.text(
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                try? await Parla.run(devices: .virtual(gpus: 1)) {
                    let scope = RunScope.current!
                    let record = Self.finishedRecord(in: scope)
                    _ = record.reset(scope: scope, placement: .one(.cpu), origin: #fileID, originLine: #line)
                }
            }
        )
        #expect(text.contains("went from completed to pending"))
    }

    @Test("caching a record whose task has not finished stops")
    func cachingUnfinished() async {
        let text = Self.text(
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                try? await Parla.run(devices: .virtual(gpus: 1)) {
                    let scope = RunScope.current!
                    let record = TypedTaskRecord<Void>.madeByHand(in: scope)
                    TaskRecordCache.current.put(record)
                }
            }
        )
        #expect(text.contains("went from pending to cached"))
    }

    @Test("the coherence protocol's pieces: overlapping, uncovered, holderless and miscounted ones are found")
    func coherenceViolations() {
        let fresh = CoherenceProtocol(shape: [4, 4], home: .cpu)
        #expect(fresh.invariantViolation(around: nil) == nil)

        var overlapping = fresh
        overlapping.index.insert(Box(lower: [0, 0], upper: [1, 4]), DeviceSet(.gpu(0)))
        #expect(overlapping.invariantViolation(around: nil)?.contains("overlap") == true)

        var holderless = fresh
        _ = holderless.index.remove(intersecting: holderless.whole) { _, _ in true }
        holderless.index.insert(holderless.whole, DeviceSet())
        #expect(holderless.invariantViolation(around: nil)?.contains("no valid copy anywhere") == true)

        var uncovered = fresh
        _ = uncovered.index.remove(intersecting: uncovered.whole) { _, _ in true }
        uncovered.index.insert(Box(lower: [0, 0], upper: [2, 4]), DeviceSet(.cpu))
        #expect(uncovered.invariantViolation(around: nil)?.contains("cover 8 of the 16 elements") == true)

        var miscounted = fresh
        _ = miscounted.index.remove(intersecting: miscounted.whole) { _, _ in true }
        miscounted.index.insert(miscounted.whole, DeviceSet(.gpu(1)))
        #expect(miscounted.invariantViolation(around: nil)?.contains("is counted as holding 0 elements") == true)
    }

    @Test("a change that leaves the pieces broken stops, naming the array's shape")
    func coherenceCheckStops() async {
        let text = Self.text(
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                var broken = CoherenceProtocol(shape: [4, 4], home: .cpu)
                broken.index.insert(Box(lower: [0, 0], upper: [1, 4]), DeviceSet(.gpu(0)))
                _ = broken.access(Box(lower: [2, 0], upper: [3, 4]), on: .gpu(1), mode: .input)
            }
        )
        #expect(text.contains("coherence protocol of shape [4, 4]") && text.contains("overlap"))
    }

    @Test("two threads changing one node of a box index at once stop")
    func boxTreeChangedTwice() async {
        let text = Self.text(
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                var tree = BoxTree<Int>(rank: 1)
                tree.insert(Box(lower: [0], upper: [1]), 0)
                // Another thread is changing the root (as a tree shared without copy-on-write would be).
                tree.root.changer.store(1, ordering: .relaxed)
                tree.insert(Box(lower: [1], upper: [2]), 1)
            }
        )
        #expect(text.contains("two threads changed one node of a box index at once"))
    }
}
#endif

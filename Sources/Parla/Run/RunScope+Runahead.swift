import Dispatch
import ParlaDevices
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The tasks of one GPU whose work was still queued on the device when their bodies returned, waiting
/// for it in launch order on a thread of their own, so that no worker waits for a device.
///
/// Work on a GPU runs in the order it is queued on the device's stream. One thread finishes the
/// entries in the order they were added, each once its event has fired (sleeping in the driver's wait
/// meanwhile). Two unrelated tasks may be added in the other order than their work was queued (on two
/// workers): the later one then only completes a little late. A task released early by another is
/// always added after it (its body starts after the other's entry is added), and so completes after it.
final class LaunchedWorkQueue: Sendable {
    /// Whether GPU tasks complete by event (the default), or by their worker waiting (`PARLA_RUNAHEAD=0`,
    /// to compare); read when a run starts.
    static let runahead = RuntimeSwitch(environment: "PARLA_RUNAHEAD")

    /// A task waiting for its work: the event after it, and what finishes the task (told the event's
    /// error, if waiting for it failed).
    struct Entry: Sendable {
        let completion: DeviceEvent
        let finish: @Sendable (DeviceError?) -> Void
    }

    private struct Pending: ~Copyable {
        var entries: [Entry] = []
        /// Whether a drain is scheduled or running (it ends when it finds nothing pending).
        var draining = false
    }

    private let pending = Mutex(Pending())
    /// Where drains run, one at a time: its thread sleeps in the driver's waits.
    private let queue: DispatchQueue

    init(device: Device) {
        self.queue = DispatchQueue(label: "parla.launched-work.\(device)", qos: .userInitiated)
    }

    /// Adds a task whose work `completion` follows; `finish` runs once it has completed.
    func add(_ entry: Entry) {
        let startDrain = self.pending.withLock { pending in
            pending.entries.append(entry)
            defer { pending.draining = true }
            return !pending.draining
        }
        if startDrain { self.queue.async { self.drain() } }
    }

    /// Finishes the pending tasks, in order, until none is left: each as soon as its own work has run
    /// (a task that others on other devices wait for, such as a factorization, is not held back by the
    /// work queued behind it).
    private func drain() {
        while true {
            let batch = self.pending.withLock { pending -> [Entry] in
                if pending.entries.isEmpty { pending.draining = false }
                defer { pending.entries.removeAll(keepingCapacity: true) }
                return pending.entries
            }
            if batch.isEmpty { return }
            for entry in batch {
                var error: DeviceError? = nil
                do throws(DeviceError) { try entry.completion.wait() } catch let failure { error = failure }
                entry.finish(error)
            }
        }
    }
}

extension RunScope {
    /// After `record`'s body returned on the asynchronous device at `slot`: when the work it queued is
    /// still running, releases its successors now (runahead) and finishes it on the device's
    /// launched-work queue once that work has completed; returns `false` then. Returns `true` when the
    /// work had finished already or runahead is off (the caller finishes the task as before).
    func finishWhenDeviceWorkCompletes(_ record: TaskRecord, on device: Device, slot: Int) -> Bool {
        guard let launched = self.launchedWork[slot] else { return true }
        let completion: DeviceEvent
        do {
            // (The launched-work queue's thread sleeps in its waits: polling the device would slow
            // the workers' launches.)
            completion = try self.registry.backend(for: device).completionOfQueuedWork(waiterSleeps: true)
        } catch {
            self.finish(record, slot: slot, failure: Self.waitFailure(of: record, on: device, error))
            return false
        }
        // (An event just recorded is taken as pending: asking the driver costs a call, and the answer is
        // almost always no.)
        if completion.hasCompleted && record.state.withLock({ $0.runaheadPredecessors.isEmpty }) { return true }
        // The successors are released and counted as able to progress before the completion is queued
        // (it could otherwise finish this task, and leave the run looking idle, before they are
        // counted), and submitted after it is (a successor that runs on this GPU and queues work behind
        // this task's then also waits behind it here).
        let ready = record.releaseSuccessorsAtLaunch()
        for _ in ready { self.accounting.taskBecameActive() }
        launched.add(
            LaunchedWorkQueue.Entry(completion: completion) { error in
                var failure: (any Error)? = error.map { Self.waitFailure(of: record, on: device, $0) }
                if failure == nil { failure = record.failedRunaheadPredecessor() }
                if failure == nil { failure = self.deviceWorkCheckFailure(of: record, on: device) }
                self.finish(record, slot: slot, failure: failure, onWorkerLoop: false)
            }
        )
        record.markLaunched()
        // The worker goes back to its loop right after, and runs the first one itself, waking nobody.
        for (position, successor) in ready.enumerated() {
            self.pool.submit(successor, submitterRunsItNext: position == 0)
        }
        return false
    }

    /// The task's failure for an error of the device while its queued work was awaited.
    static func waitFailure(of record: TaskRecord, on device: Device, _ error: DeviceError) -> ParlaError {
        .deviceFailed(
            task: record.name,
            device: device,
            operation: "waiting for the work the task queued on \(device)",
            error: error
        )
    }

    /// Before placing `record`: whether its early predecessors let it run now, and where.
    func runaheadDecision(for record: TaskRecord) -> RunaheadDecision {
        record.runaheadDecision { device in
            switch record.placement {
            case .any: return true
            case .one(let only): return only == device
            case .several(let candidates): return candidates.contains(device)
            // (A multi-device task waits for its predecessors' device work: it does not queue behind it.)
            case .groups: return false
            }
        }
    }
}

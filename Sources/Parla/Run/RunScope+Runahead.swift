import Dispatch
import ParlaDevices

#if canImport(Glibc)
import Glibc
#endif

/// The tasks of one GPU whose work was still queued on the device when their bodies returned, waiting
/// for it in launch order on a queue of their own, so that no worker waits for a device.
///
/// Work on a GPU runs in the order it is queued on the device's stream, and tasks are added here in
/// the order they queued theirs: each entry's completion event fires after the previous one's, so one
/// thread waiting for each in turn completes them in order (a task released early by another on the
/// same GPU completes after it).
final class LaunchedWorkQueue: Sendable {
    /// Whether GPU tasks complete by event (the default), or by their worker waiting (`PARLA_RUNAHEAD=0`,
    /// to compare).
    static let isEnabled: Bool = {
        #if canImport(Glibc)
        if let setting = getenv("PARLA_RUNAHEAD") { return String(cString: setting) != "0" }
        #endif
        return true
    }()

    /// One serial queue: its thread blocks in each event's wait (the driver's synchronization), one
    /// after the other.
    let queue: DispatchQueue

    init(device: Device) {
        self.queue = DispatchQueue(label: "parla.launched-work.\(device)", qos: .userInitiated)
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
        if completion.isComplete && record.state.withLock({ $0.runaheadPredecessors.isEmpty }) { return true }
        // The successors are released and counted as able to progress before the completion is queued
        // (it could otherwise finish this task, and leave the run looking idle, before they are
        // counted), and submitted after it is (a successor that runs on this GPU and queues work behind
        // this task's then also waits behind it here).
        let ready = record.releaseSuccessorsAtLaunch()
        for _ in ready { self.accounting.taskBecameActive() }
        launched.queue.async {
            var failure: (any Error)? = nil
            do throws(DeviceError) {
                try completion.wait()
            } catch {
                failure = Self.waitFailure(of: record, on: device, error)
            }
            if failure == nil { failure = record.failedRunaheadPredecessor() }
            if failure == nil { failure = self.deviceWorkCheckFailure(of: record, on: device) }
            self.finish(record, slot: slot, failure: failure, onWorkerLoop: false)
        }
        record.markLaunched()
        for successor in ready { self.pool.submit(successor) }
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
            }
        }
    }
}

import ParlaDevices

/// A task's spawn: its number, when (ticks of the recorder's clock), its id's slot (`nil`: an unnamed
/// task; retained by the recorder until it discards its events), and where in the program.
struct TaskSpawned: Sendable {
    var number: Int
    var time: UInt64
    var slot: Unmanaged<TaskSlot>?
    var origin: StaticString
    var originLine: UInt
}

/// A task's start (at `started`) and the moment its data was in (at `dataIn`), on `worker` (`nil`: an
/// asynchronous body, run by Swift's threads). Ticks of the recorder's clock.
struct TaskStarted: Sendable {
    var number: Int
    var started: UInt64
    var dataIn: UInt64
    var worker: Int?
}

/// A task's end, on `device` (ticks of the recorder's clock). A multi-device task has one per device,
/// the one of the device it was placed on first.
struct TaskEnded: Sendable {
    var number: Int
    var ended: UInt64
    var device: Device
}

/// Task `to` waited for task `from` (by their trace numbers).
struct TracedDependency: Sendable {
    var from: Int
    var to: Int
}

/// A copy between two devices' buffers (ticks of the recorder's clock while recorded, nanoseconds of
/// the monotonic clock once written).
struct TracedCopy: Sendable {
    var source: Device
    var destination: Device
    var bytes: Int
    var started: UInt64
    var ended: UInt64
}

/// A traced task as the trace gives it: its times (nanoseconds of the monotonic clock), places and
/// name (made only when the trace is written).
struct TracedTask: Sendable {
    var spawn: TaskSpawned
    var spawned: UInt64
    var started: UInt64
    var dataIn: UInt64
    var ended: UInt64
    var device: Device
    /// A multi-device task's other devices (empty for a task of one device).
    var otherDevices: [Device]
    /// The worker that ran it (`nil`: an asynchronous body, run by Swift's threads).
    var worker: Int?

    var number: Int { self.spawn.number }

    /// The task's name, as messages give it.
    var name: String {
        self.spawn.slot?.takeUnretainedValue().name
            ?? TaskRecord.unnamedTaskName(origin: "\(self.spawn.origin)", line: self.spawn.originLine)
    }

    /// Its task space's name (empty for an unnamed task).
    var space: String { self.spawn.slot?.takeUnretainedValue().spaceName ?? "" }
}

import ParlaDevices

// The events of tasks are kept small (32, 32 and 24 bytes): a task writes all three, and on a machine of
// many cores the memory they fill costs more than the instructions that fill it.

/// A task's spawn: its number, when (ticks of the recorder's clock), and who it is: its id's slot for
/// a named task (retained by the recorder until it discards its events), else where in the program it
/// was spawned.
struct TaskSpawned: Sendable {
    var number: Int
    var time: UInt64
    /// The address of the slot, retained (a named task), or of the start of the file's null-terminated
    /// UTF-8 text (a `StaticString` of the program, which never moves; 0 for a file given as a lone
    /// scalar).
    private var subject: UInt
    var originLine: UInt32
    private var isNamed: Bool

    /// - Parameter slot: the id's slot, already retained for the recorder.
    init(number: Int, time: UInt64, slot: Unmanaged<TaskSlot>?, origin: StaticString, originLine: UInt) {
        self.number = number
        self.time = time
        self.isNamed = slot != nil
        if let slot {
            self.subject = UInt(bitPattern: slot.toOpaque())
        } else {
            self.subject = origin.hasPointerRepresentation ? UInt(bitPattern: origin.utf8Start) : 0
        }
        self.originLine = UInt32(clamping: originLine)
    }

    /// The id's slot of a named task (retained by the recorder), `nil` for an unnamed one.
    var slot: Unmanaged<TaskSlot>? {
        guard self.isNamed, let subject = UnsafeRawPointer(bitPattern: self.subject) else { return nil }
        return Unmanaged.fromOpaque(subject)
    }

    /// An unnamed task's file: where its text is (0 for a named task), for telling files apart.
    var originFileAddress: UInt { self.isNamed ? 0 : self.subject }

    /// An unnamed task's file, as `#fileID` gave it.
    var originFile: String {
        guard !self.isNamed, let text = UnsafePointer<UInt8>(bitPattern: self.subject) else { return "?" }
        return String(cString: text)
    }
}

/// A task's start (at `started`) and the moment its data was in (at `dataIn`), on `worker` (`nil`: an
/// asynchronous body, run by Swift's threads). Ticks of the recorder's clock.
struct TaskStarted: Sendable {
    var number: Int
    var started: UInt64
    var dataIn: UInt64
    /// The worker's number, -1 for none.
    private var workerNumber: Int32

    init(number: Int, started: UInt64, dataIn: UInt64, worker: Int?) {
        self.number = number
        self.started = started
        self.dataIn = dataIn
        self.workerNumber = worker.map { Int32(clamping: $0) } ?? -1
    }

    /// The worker that ran it (`nil`: an asynchronous body).
    var worker: Int? { self.workerNumber < 0 ? nil : Int(self.workerNumber) }
}

/// A task's end, on `device` (ticks of the recorder's clock). A multi-device task has one per device,
/// the one of the device it was placed on first.
struct TaskEnded: Sendable {
    var number: Int
    var ended: UInt64
    /// The device's index: -1 for the CPU, i for GPU i.
    private var deviceIndex: Int32

    init(number: Int, ended: UInt64, device: Device) {
        self.number = number
        self.ended = ended
        self.deviceIndex = Int32(clamping: device.index)
    }

    var device: Device { self.deviceIndex < 0 ? .cpu : .gpu(Int(self.deviceIndex)) }
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
            ?? TaskRecord.unnamedTaskName(origin: self.spawn.originFile, line: UInt(self.spawn.originLine))
    }

    /// Its task space's name (empty for an unnamed task).
    var space: String { self.spawn.slot?.takeUnretainedValue().spaceName ?? "" }
}

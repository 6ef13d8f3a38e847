extension Device {
    /// Inside a task, the device it runs on; outside any task, `cpu`.
    ///
    /// Parla (Python) equivalent: `get_current_devices()[0]`.
    public static var current: Device { Device.taskDevice ?? .cpu }

    /// The device of the task whose body is running here (an asynchronous body's ``TaskContext``, else
    /// the synchronous body's ``ThreadContext``), or `nil` outside task bodies.
    @inline(__always)
    package static var taskDevice: Device? {
        if let device = TaskContext.current?.device { return device }
        return ThreadContext.unretained?._withUnsafeGuaranteedRef { $0.device }
    }
}

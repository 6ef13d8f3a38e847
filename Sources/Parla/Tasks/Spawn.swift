import ParlaDevices

/// Spawns a task with a synchronous body; it runs on a worker thread once its dependencies have
/// finished, on a device its placement allows.
///
/// Parla (Python) equivalent: `@spawn(taskid, dependencies, placement=..., memory=..., vcus=...)`.
///
/// - Parameters:
///   - id: the task's id (`T[1]`); spawning one id twice fails the second task.
///   - dependencies: tasks that must finish first: ids, sets, spaces, task handles, also ones spawned
///     later.
///   - placement: a device, an architecture, or an array of them meaning any one; several devices at
///     once with a ``DeviceGroup`` (`gpu * 2`); default any device.
///   - input: `PArray`s (or regions) the task reads; valid on its device when it starts (for a
///     multi-device task, a plain region on each of its devices, `A.forDevice(i)` on its `i`-th).
///   - output: regions it overwrites entirely without reading (nothing is copied in).
///   - inOut: regions it reads and writes.
///   - memory: bytes the task needs on its device (on each, for a ``DeviceGroup``), reserved while it
///     runs.
///   - vcus: the fraction of a device it occupies; tasks whose `vcus` add up to at most 1 share one.
///     A task with `vcus` or `memory` on a CUDA GPU runs its body on a stream of its own, so that
///     the kernels of tasks sharing the GPU overlap.
///   - file: where `spawn` is called (filled in), to name an unnamed task in messages.
///   - line: the line of that call (filled in).
///   - body: the work; its result is the task's ``ParlaTask/value``.
/// - Precondition: called inside `Parla.run`.
@discardableResult
public func spawn<R: Sendable>(
    _ id: TaskID? = nil,
    dependencies: [any TaskDependency] = [],
    placement: any Placement = AnyDevice(),
    input: [any PArrayAccess] = [],
    output: [any PArrayAccess] = [],
    inOut: [any PArrayAccess] = [],
    memory: Int? = nil,
    vcus: Double? = nil,
    file: StaticString = #fileID,
    line: UInt = #line,
    _ body: @escaping @Sendable () throws -> R
) -> ParlaTask<R> {
    spawnTask(
        id,
        dependencies: dependencies,
        placement: placement,
        input: input,
        output: output,
        inOut: inOut,
        memory: memory,
        vcus: vcus,
        file: file,
        line: line,
        synchronous: body,
        asynchronous: nil
    )
}

/// Spawns a task with an asynchronous body: its `await`s (on other tasks, barriers, anything) suspend
/// it without holding a worker thread.
///
/// Parla (Python) equivalent: `@spawn(...)` on an `async def`.
///
/// - Precondition: called inside `Parla.run`.
@discardableResult
public func spawn<R: Sendable>(
    _ id: TaskID? = nil,
    dependencies: [any TaskDependency] = [],
    placement: any Placement = AnyDevice(),
    input: [any PArrayAccess] = [],
    output: [any PArrayAccess] = [],
    inOut: [any PArrayAccess] = [],
    memory: Int? = nil,
    vcus: Double? = nil,
    file: StaticString = #fileID,
    line: UInt = #line,
    _ body: @escaping @Sendable () async throws -> R
) -> ParlaTask<R> {
    spawnTask(
        id,
        dependencies: dependencies,
        placement: placement,
        input: input,
        output: output,
        inOut: inOut,
        memory: memory,
        vcus: vcus,
        file: file,
        line: line,
        synchronous: nil,
        asynchronous: body
    )
}

import ParlaDevices

/// Tasks that share a CUDA GPU (those that declare `vcus` or `memory`, and so say they expect company
/// there) run their bodies on compute lanes: streams of their own, forked from the GPU's compute stream
/// when the body starts and joined into it when the body returns (see `CUDAGPU+Lanes.swift`). Their
/// kernels then overlap with each other's; the rest of the task (its data moves, its completion) goes
/// as any task's. Other tasks, and multi-device tasks, use the compute stream. `PARLA_TASK_STREAMS=0`
/// puts every task on the compute stream (to compare).
///
/// Parla (Python) equivalent: lesson 5's colocated tasks, each on its own CuPy stream.
extension RunScope {
    /// A task body's lane on its GPU.
    struct ComputeLane {
        let gpu: CUDAGPU
        let lane: Int

        /// The lane as the body's context gives it.
        var tag: ComputeLaneTag { self.gpu.laneTag(self.lane) }
    }

    /// Whether tasks sharing a GPU get streams of their own (`PARLA_TASK_STREAMS=0`: no); read as each
    /// task starts.
    static let taskStreams = RuntimeSwitch(environment: "PARLA_TASK_STREAMS")

    /// Opens a lane for `record`'s body on `device`, when it gets one (`nil`: the compute stream).
    func openLane(for record: TaskRecord, on device: Device, slot: Int) throws(ParlaError) -> ComputeLane? {
        guard record.vcus > 0 || record.memory > 0, record.groupDevices.isEmpty, self.completesAsynchronously[slot],
            Self.taskStreams.isOn,
            let gpu = try? self.registry.backend(for: device) as? CUDAGPU
        else { return nil }
        do {
            let lane = try gpu.openLane()
            return lane == 0 ? nil : ComputeLane(gpu: gpu, lane: lane)
        } catch {
            throw .deviceFailed(
                task: record.name,
                device: device,
                operation: "starting the task's stream",
                error: error
            )
        }
    }

    /// Joins the body's lane into its GPU's compute stream; returns the task's failure if that fails.
    func closeLane(_ lane: ComputeLane, of record: TaskRecord) -> ParlaError? {
        do {
            try lane.gpu.closeLane(lane.lane)
            return nil
        } catch {
            return .deviceFailed(
                task: record.name,
                device: lane.gpu.device,
                operation: "joining the task's stream into the compute stream",
                error: error
            )
        }
    }
}

/// Holding a simulated GPU's streams: work queued on them waits until they are let go, as work waits
/// behind a long kernel on a real GPU. Tests use it to see what runs ahead of the device.
extension SimulatedCUDA {
    /// Suspends (or resumes) every stream of the devices with `ordinals`, including streams made later
    /// while held.
    static func setStreamsHeld(_ held: Bool, ordinals: [Int]) {
        let streams = world.withLock { world in
            ordinals.flatMap { ordinal in
                world.devices[ordinal].streamsHeld = held
                return world.devices[ordinal].streams
            }
        }
        for stream in streams { stream.setHeld(held) }
    }

    /// Suspends (or resumes) the one stream `handle` names: work queued on it waits until it is let go,
    /// while the device's other streams run.
    static func setStreamHeld(_ held: Bool, handle: OpaquePointer) {
        let stream = world.withLock { world in try? world.stream(handle) }
        stream?.setHeld(held)
    }
}

extension DeviceRegistry {
    /// Holds (or lets go of) the streams of this registry's simulated CUDA GPUs: queued work waits
    /// until they are let go. Stops when the GPUs are not simulated CUDA GPUs.
    package func holdSimulatedStreams(_ held: Bool) {
        let gpus = self.gpus.compactMap { $0 as? CUDAGPU }
        parlaPrecondition(
            !gpus.isEmpty && gpus.allSatisfy(\.driver.isSimulated),
            "only simulated CUDA GPUs' streams can be held"
        )
        SimulatedCUDA.setStreamsHeld(held, ordinals: gpus.map(\.ordinal))
    }
}

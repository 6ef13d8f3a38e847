import CCUDADriver

#if canImport(Glibc)
import Glibc
#endif

extension CUDAGPU {
    public func copy(
        from source: DeviceAllocation,
        at sourceOffset: Int,
        to destination: DeviceAllocation,
        at destinationOffset: Int,
        byteCount: Int
    ) throws(DeviceError) -> DeviceEvent {
        try self.copy(
            from: source,
            at: sourceOffset,
            to: destination,
            at: destinationOffset,
            byteCount: byteCount,
            sourceIsSettled: false
        )
    }

    public func copy(
        from source: DeviceAllocation,
        at sourceOffset: Int,
        to destination: DeviceAllocation,
        at destinationOffset: Int,
        byteCount: Int,
        sourceIsSettled: Bool
    ) throws(DeviceError) -> DeviceEvent {
        if byteCount == 0 { return .completed }
        // A later copy into the source waits for this one (see `waitForWork(on:on:)`).
        source.noteDeviceUse()
        switch (source.backend as? CUDAGPU, destination.backend as? CUDAGPU) {
        case (nil, .some(let target)):
            parlaPrecondition(target === self, "a host-to-GPU copy is carried out by the destination GPU")
            return try self.copyIn(
                from: source,
                at: sourceOffset,
                to: destination,
                at: destinationOffset,
                byteCount: byteCount
            )
        case (.some(let origin), nil):
            parlaPrecondition(origin === self, "a GPU-to-host copy is carried out by the source GPU")
            return try self.copyOut(
                from: source.address + UInt64(sourceOffset),
                to: destination,
                at: destinationOffset,
                byteCount: byteCount,
                sourceIsSettled: sourceIsSettled
            )
        case (.some(let origin), .some(let target)):
            parlaPrecondition(target === self, "a copy between GPUs is carried out by the destination GPU")
            return try self.copyBetweenGPUs(
                from: origin,
                source.address + UInt64(sourceOffset),
                to: destination,
                at: destinationOffset,
                byteCount: byteCount,
                sourceIsSettled: sourceIsSettled
            )
        case (nil, nil):
            parlaPreconditionFailure("\(self.device) cannot copy between two host blocks")
        }
    }

    /// Host → this GPU: directly from pinned memory, else staged through the pinned buffers.
    private func copyIn(
        from source: DeviceAllocation,
        at offset: Int,
        to destination: DeviceAllocation,
        at destinationOffset: Int,
        byteCount: Int
    ) throws(DeviceError) -> DeviceEvent {
        guard let host = source.hostPointer.map({ $0 + offset }) else {
            parlaPreconditionFailure("host memory without a host pointer")
        }
        let address = destination.address + UInt64(destinationOffset)
        // Earlier work on the destination block finishes before it is overwritten.
        try self.waitForWork(on: destination, on: .hostToDevice)
        if (source.backend as? HostBackend)?.isPinned(source) ?? false {
            try self.makeCurrent()
            try self.driver.copyHostToDevice(
                address,
                from: host,
                bytes: byteCount,
                on: self.stream(.hostToDevice),
                device: self.device,
                ""
            )
        } else {
            try self.staging.withLock { (buffers) throws(DeviceError) in
                try self.staged(byteCount, through: buffers) { (done, chunk, buffer) throws(DeviceError) in
                    memcpy(buffer, host + done, chunk)
                    try self.makeCurrent()
                    try self.driver.copyHostToDevice(
                        address + UInt64(done),
                        from: buffer,
                        bytes: chunk,
                        on: self.stream(.hostToDevice),
                        device: self.device,
                        ", staged"
                    )
                    return try self.record(on: .hostToDevice)
                }
            }
        }
        let finished = try self.record(on: .hostToDevice)
        try self.makeStream(.compute, wait: finished)
        return finished.deviceEvent.keeping(source)
    }

    /// This GPU → host: directly into pinned memory, else staged through the pinned buffers (then the
    /// copy has finished when this returns).
    private func copyOut(
        from address: CUdeviceptr,
        to destination: DeviceAllocation,
        at offset: Int,
        byteCount: Int,
        sourceIsSettled: Bool
    ) throws(DeviceError) -> DeviceEvent {
        guard let host = destination.hostPointer.map({ $0 + offset }) else {
            parlaPreconditionFailure("host memory without a host pointer")
        }
        // The kernels that produce the data finish before it is read.
        if !sourceIsSettled { try self.order(.deviceToHost, after: .compute) }
        if (destination.backend as? HostBackend)?.isPinned(destination) ?? false {
            try self.makeCurrent()
            try self.driver.copyDeviceToHost(
                host,
                from: address,
                bytes: byteCount,
                on: self.stream(.deviceToHost),
                device: self.device,
                ""
            )
            let finished = try self.record(on: .deviceToHost)
            // Later kernels may write this block once it is freed and reused: they wait for the read.
            try self.makeStream(.compute, wait: finished)
            return finished.deviceEvent.keeping(destination)
        }
        try self.staging.withLock { (buffers) throws(DeviceError) in
            try self.staged(
                byteCount,
                through: buffers,
                enqueue: { (done, chunk, buffer) throws(DeviceError) in
                    try self.makeCurrent()
                    try self.driver.copyDeviceToHost(
                        buffer,
                        from: address + UInt64(done),
                        bytes: chunk,
                        on: self.stream(.deviceToHost),
                        device: self.device,
                        ", staged"
                    )
                    return try self.record(on: .deviceToHost)
                },
                drain: { done, chunk, buffer in memcpy(host + done, buffer, chunk) }
            )
        }
        return .completed
    }

    /// `origin` → this GPU (or within this GPU): over the peer link when it is enabled, else through the
    /// source's pinned staging buffers. Queued on this GPU's peer stream after the kernels pending on
    /// both GPUs; both compute streams wait for the copy.
    private func copyBetweenGPUs(
        from origin: CUDAGPU,
        _ source: CUdeviceptr,
        to destination: DeviceAllocation,
        at destinationOffset: Int,
        byteCount: Int,
        sourceIsSettled: Bool
    ) throws(DeviceError) -> DeviceEvent {
        let address = destination.address + UInt64(destinationOffset)
        if origin === self {
            try self.makeCurrent()
            try self.driver.copyDeviceToDevice(
                address,
                from: source,
                bytes: byteCount,
                on: self.launchStream,
                device: self.device
            )
            self.noteQueuedOnComputeStream()
            return try self.record(on: .compute).deviceEvent
        }
        // The source's pending kernels finish before its memory is read (an event of the source's
        // context, recorded on the source's stream), unless none produces it; earlier work on the
        // destination block before it is written.
        let sourceReady = sourceIsSettled ? nil : try origin.record(on: .compute)
        try self.waitForWork(on: destination, on: .peer)
        if let sourceReady { try self.makeStream(.peer, wait: sourceReady) }
        if self.copiesDirectly(from: origin) {
            try self.makeCurrent()
            try self.driver.copyPeer(
                address,
                in: self.context,
                from: source,
                in: origin.context,
                bytes: byteCount,
                on: self.stream(.peer),
                "\(origin.device) -> \(self.device)",
                device: self.device
            )
        } else {
            // No peer link: down into the source's pinned staging buffers, then up from them.
            if let sourceReady { try origin.makeStream(.deviceToHost, wait: sourceReady) }
            try origin.staging.withLock { (buffers) throws(DeviceError) in
                try self.staged(byteCount, through: buffers) { (done, chunk, buffer) throws(DeviceError) in
                    try origin.makeCurrent()
                    try origin.driver.copyDeviceToHost(
                        buffer,
                        from: source + UInt64(done),
                        bytes: chunk,
                        on: origin.stream(.deviceToHost),
                        device: origin.device,
                        ", staged for \(self.device)"
                    )
                    try self.makeStream(.peer, wait: try origin.record(on: .deviceToHost))
                    try self.driver.copyHostToDevice(
                        address + UInt64(done),
                        from: buffer,
                        bytes: chunk,
                        on: self.stream(.peer),
                        device: self.device,
                        ", staged from \(origin.device)"
                    )
                    return try self.record(on: .peer)
                }
            }
        }
        let finished = try self.record(on: .peer)
        try self.makeStream(.compute, wait: finished)
        // The source block may be freed and reused by the source GPU's kernels: they wait for the read.
        try origin.makeStream(.compute, wait: finished)
        return finished.deviceEvent
    }

    /// Makes later work on stream `role` wait for the device work that may still use `destination`:
    /// everything queued on the compute stream when work may have used it since it was allocated (a
    /// kernel reading it, queued ahead, must not see it overwritten); else only the work queued on its
    /// memory before it was freed and handed out again (nothing, for a block used for the first time).
    func waitForWork(on destination: DeviceAllocation, on role: StreamRole) throws(DeviceError) {
        if destination.mayBeInUseByDeviceWork {
            try self.order(role, after: .compute)
        } else if let fence = destination.reuseFence as? CUDAEvent {
            try self.makeStream(role, wait: fence)
        }
    }

    /// Whether copies from `origin` go directly over the peer link (this GPU has peer access to it).
    func copiesDirectly(from origin: CUDAGPU) -> Bool {
        self.peers.withLock { $0[origin.device.index]?.direct ?? false }
    }

    /// Moves `byteCount` bytes in chunks through two pinned staging buffers, alternating between them,
    /// so that one chunk's transfer overlaps the next one's. `enqueue(offset, count, buffer)` queues
    /// one chunk's transfers through `buffer` and returns the event after which the buffer is free again
    /// (and filled, for a copy out of a GPU); `drain`, when given, is then run on that chunk, in order.
    /// Returns when every chunk has been through; nothing is queued on the buffers afterwards (also when
    /// a call throws), so that the caller may hand them to the next copy.
    func staged(
        _ byteCount: Int,
        through buffers: StagingBuffers,
        enqueue: (_ offset: Int, _ count: Int, _ buffer: UnsafeMutableRawPointer) throws(DeviceError) -> CUDAEvent,
        drain: ((_ offset: Int, _ count: Int, _ buffer: UnsafeMutableRawPointer) -> Void)? = nil
    ) throws(DeviceError) {
        var pending: [(event: CUDAEvent, offset: Int, count: Int)?] = [nil, nil]
        var slot = 0
        // On a failure, whatever is still queued on the buffers finishes before they are let go.
        defer { for entry in pending { _ = try? entry?.event.wait() } }
        func retire(_ slot: Int) throws(DeviceError) {
            guard let entry = pending[slot] else { return }
            try entry.event.wait()
            pending[slot] = nil
            drain?(entry.offset, entry.count, buffers[slot])
        }
        var done = 0
        while done < byteCount {
            try retire(slot)
            let chunk = Swift.min(StagingBuffers.size, byteCount - done)
            pending[slot] = (try enqueue(done, chunk, buffers[slot]), done, chunk)
            done += chunk
            slot = 1 - slot
        }
        // The older chunk is in `slot`.
        try retire(slot)
        try retire(1 - slot)
    }
}

extension DeviceEvent {
    /// The same event, keeping `object` alive until it is dropped (memory a pending copy uses).
    func keeping(_ object: AnyObject & Sendable) -> DeviceEvent {
        DeviceEvent(
            wait: { () throws(DeviceError) in
                try withExtendedLifetime(object) { () throws(DeviceError) in try self.wait() }
            },
            query: { self.isComplete }
        )
    }
}

import CCUDADriver
import Synchronization

/// Pinned host words into which a GPU copies the status a library call leaves in device memory
/// (cuSOLVER's `info`), on the compute stream right after the call: once the work queued so far has
/// run, the status is in host memory, and reading it takes no driver call and waits for nothing else.
struct StatusWords: @unchecked Sendable {
    // @unchecked Sendable: a pinned block owned by the GPU for the life of the process, and the list of
    // its free words, used under the GPU's `statusWords` lock.
    /// How many words a GPU has.
    static let count = 4096
    var block: UnsafeMutablePointer<Int32>? = nil
    var free: [Int] = []
}

extension CUDAGPU {
    /// A status word of this GPU's, or `nil` when all are in use (the caller reads the status another
    /// way).
    func takeStatusWord() throws(DeviceError) -> Int? {
        try self.statusWords.withLock { (words) throws(DeviceError) -> Int? in
            if words.block == nil {
                try self.makeCurrent()
                let raw = try self.driver.allocateHost(StatusWords.count * 4, device: self.device)
                words.block = raw.bindMemory(to: Int32.self, capacity: StatusWords.count)
                words.free = Array((0..<StatusWords.count).reversed())
            }
            return words.free.popLast()
        }
    }

    /// The status a word holds (once the work that copies into it has run), giving the word back.
    func readStatusWord(_ index: Int) -> Int {
        self.statusWords.withLock { words in
            words.free.append(index)
            return Int(words.block![index])
        }
    }

    /// Queues, on the compute stream, a copy of the 32-bit status at `device` into a status word, and
    /// returns what reads it: after waiting for `completion` (an event after the copy), unless the
    /// caller knows the work has run. Falls back to a synchronous read when no word is free.
    func statusAfterQueuedWork(at allocation: DeviceAllocation) throws(DeviceError) -> FactorizationStatus {
        guard let index = try self.takeStatusWord() else {
            return FactorizationStatus { () throws(DeviceError) in try self.readInt32(allocation) }
        }
        let word = self.statusWords.withLock { $0.block! + index }
        try self.makeCurrent()
        try self.driver.copyDeviceToHost(
            UnsafeMutableRawPointer(word),
            from: allocation.address,
            bytes: 4,
            on: self.launchStream,
            device: self.device,
            ", a status word"
        )
        self.noteQueuedOnComputeStream()
        let copied = try self.record(on: .compute)
        // The word is given back once read; a status never read keeps its word (a task always reads
        // the statuses its body made, when it completes).
        return FactorizationStatus { () throws(DeviceError) in
            try withExtendedLifetime(allocation) { () throws(DeviceError) in try copied.wait() }
            return self.readStatusWord(index)
        }
    }
}

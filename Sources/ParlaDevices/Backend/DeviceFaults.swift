/// Failures injected into a device's calls, to test that a failing allocation, copy or kernel launch
/// fails the task that made it (with a ``DeviceError`` naming the call and the device) and never the
/// process or an array's data.
///
/// Given to simulated devices: ``DeviceSelection/cudaSimulated(gpus:memory:faults:)`` (every kind of
/// call; each plan gets a simulated machine of its own, so faults never reach another selection's
/// calls) and ``DeviceSelection/virtualWithFaults(gpus:memory:faults:)`` (allocations and copies:
/// virtual GPUs run their kernels on the host, with no launch to fail).
public struct DeviceFaults: Hashable, Sendable, CustomStringConvertible {
    /// A kind of driver call that can be made to fail.
    public enum Operation: String, Hashable, Sendable, CaseIterable {
        /// An allocation (`cuMemAlloc`): fails with `CUDA_ERROR_OUT_OF_MEMORY`, or, on a virtual GPU,
        /// ``DeviceError/outOfMemory(device:requested:free:)``.
        case allocation
        /// A copy from the host (`cuMemcpyHtoDAsync`): fails with `CUDA_ERROR_UNKNOWN`, or, on a virtual
        /// GPU, ``DeviceError/injectedFault(device:operation:)``.
        case copyToDevice
        /// A copy to the host (`cuMemcpyDtoHAsync`): fails like ``copyToDevice``.
        case copyToHost
        /// A copy between GPUs (`cuMemcpyPeerAsync`, `cuMemcpyDtoDAsync`): fails like ``copyToDevice``.
        case copyBetweenDevices
        /// A kernel launch (`cuLaunchKernel`, simulated CUDA only): fails with `CUDA_ERROR_LAUNCH_FAILED`.
        case launch

        /// Every kind of copy.
        public static let copies: Set<Operation> = [.copyToDevice, .copyToHost, .copyBetweenDevices]
    }

    /// Which calls can fail.
    public var operations: Set<Operation>
    /// Calls that fail, by their position among the machine's calls of that kind (1 is the first);
    /// `nil` to choose at random with ``probability``.
    public var occurrences: Set<Int>?
    /// The chance that a call of ``operations`` fails, when ``occurrences`` is `nil`.
    public var probability: Double
    /// The seed of the random choices (the same seed fails the same calls of the same sequence).
    public var seed: UInt64

    /// Fails the `occurrence`-th call (1 is the first) of `operation` on the machine, and no other.
    public static func failing(_ operation: Operation, occurrence: Int) -> DeviceFaults {
        .failing(operation, occurrences: [occurrence])
    }

    /// Fails the calls of `operation` at these positions (1 is the first), and no other.
    public static func failing(_ operation: Operation, occurrences: Set<Int>) -> DeviceFaults {
        parlaPrecondition(
            occurrences.allSatisfy { $0 >= 1 },
            "the first call of a kind is occurrence 1, not \(occurrences.min()!)"
        )
        return DeviceFaults(operations: [operation], occurrences: occurrences, probability: 0, seed: 0)
    }

    /// Fails each call of `operations` with chance `probability`, chosen by a generator seeded with `seed`.
    public static func random(
        probability: Double,
        seed: UInt64,
        operations: Set<Operation> = Set(Operation.allCases)
    ) -> DeviceFaults {
        parlaPrecondition((0...1).contains(probability), "a fault probability is between 0 and 1, not \(probability)")
        return DeviceFaults(operations: operations, occurrences: nil, probability: probability, seed: seed)
    }

    /// `copy #3` or `copy, launch with probability 0.01 (seed 7)`.
    public var description: String {
        let kinds = self.operations.map(\.rawValue).sorted().joined(separator: ", ")
        if let occurrences = self.occurrences {
            return "\(kinds) #\(occurrences.sorted().map(String.init).joined(separator: ", #"))"
        }
        return "\(kinds) with probability \(self.probability) (seed \(self.seed))"
    }
}

/// The fault plan of one simulated machine (or virtual GPU) as calls come: counts per kind and the random generator.
struct DeviceFaultState {
    let plan: DeviceFaults?
    private var counts: [DeviceFaults.Operation: Int] = [:]
    private var generator: SplitMix
    /// How many calls were made to fail.
    private(set) var injected = 0

    init(plan: DeviceFaults?) {
        self.plan = plan
        self.generator = SplitMix(state: plan?.seed ?? 0)
    }

    /// Whether this call of `operation` fails; every call counts.
    mutating func shouldFail(_ operation: DeviceFaults.Operation) -> Bool {
        guard let plan, plan.operations.contains(operation) else { return false }
        let occurrence = self.counts[operation, default: 0] + 1
        self.counts[operation] = occurrence
        let fails: Bool
        if let occurrences = plan.occurrences {
            fails = occurrences.contains(occurrence)
        } else {
            fails = Double(self.generator.next() >> 11) / Double(1 << 53) < plan.probability
        }
        if fails { self.injected += 1 }
        return fails
    }

}

/// Failures the simulated CUDA driver injects into a simulated machine's calls, to test that a failing
/// driver call fails the task that made it (with a ``DeviceError`` naming the call, the device and the
/// error) and never the process or an array's data.
///
/// Part of a ``DeviceSelection/cudaSimulated(gpus:memory:faults:)`` selection: each plan gets a
/// simulated machine of its own, so faults never reach another selection's calls.
public struct SimulatedCUDAFaults: Hashable, Sendable, CustomStringConvertible {
    /// A kind of driver call that can be made to fail.
    public enum Operation: String, Hashable, Sendable, CaseIterable {
        /// `cuMemAlloc`: fails with `CUDA_ERROR_OUT_OF_MEMORY`.
        case allocation
        /// `cuMemcpyHtoDAsync`: fails with `CUDA_ERROR_UNKNOWN`.
        case copyToDevice
        /// `cuMemcpyDtoHAsync`: fails with `CUDA_ERROR_UNKNOWN`.
        case copyToHost
        /// `cuMemcpyPeerAsync` and `cuMemcpyDtoDAsync`: fail with `CUDA_ERROR_UNKNOWN`.
        case copyBetweenDevices
        /// `cuLaunchKernel`: fails with `CUDA_ERROR_LAUNCH_FAILED`.
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
    public static func failing(_ operation: Operation, occurrence: Int) -> SimulatedCUDAFaults {
        .failing(operation, occurrences: [occurrence])
    }

    /// Fails the calls of `operation` at these positions (1 is the first), and no other.
    public static func failing(_ operation: Operation, occurrences: Set<Int>) -> SimulatedCUDAFaults {
        parlaPrecondition(
            occurrences.allSatisfy { $0 >= 1 },
            "the first call of a kind is occurrence 1, not \(occurrences.min()!)"
        )
        return SimulatedCUDAFaults(operations: [operation], occurrences: occurrences, probability: 0, seed: 0)
    }

    /// Fails each call of `operations` with chance `probability`, chosen by a generator seeded with `seed`.
    public static func random(
        probability: Double,
        seed: UInt64,
        operations: Set<Operation> = Set(Operation.allCases)
    ) -> SimulatedCUDAFaults {
        parlaPrecondition((0...1).contains(probability), "a fault probability is between 0 and 1, not \(probability)")
        return SimulatedCUDAFaults(operations: operations, occurrences: nil, probability: probability, seed: seed)
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

/// The fault plan of one simulated machine as calls come: counts per kind and the random generator.
struct SimulatedFaultState {
    let plan: SimulatedCUDAFaults?
    private var counts: [SimulatedCUDAFaults.Operation: Int] = [:]
    private var generator: UInt64
    /// How many calls were made to fail.
    private(set) var injected = 0

    init(plan: SimulatedCUDAFaults?) {
        self.plan = plan
        self.generator = plan?.seed ?? 0
    }

    /// Whether this call of `operation` fails; every call counts.
    mutating func shouldFail(_ operation: SimulatedCUDAFaults.Operation) -> Bool {
        guard let plan, plan.operations.contains(operation) else { return false }
        let occurrence = self.counts[operation, default: 0] + 1
        self.counts[operation] = occurrence
        let fails: Bool
        if let occurrences = plan.occurrences {
            fails = occurrences.contains(occurrence)
        } else {
            fails = Double(self.nextRandom() >> 11) / Double(1 << 53) < plan.probability
        }
        if fails { self.injected += 1 }
        return fails
    }

    /// SplitMix64.
    private mutating func nextRandom() -> UInt64 {
        self.generator &+= 0x9E37_79B9_7F4A_7C15
        var z = self.generator
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

import ArgumentParser
import Parla
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `parla bench movement`: a PArray moved host → GPU → host by tasks, gpu(0) → gpu(1), and from the host
/// to every GPU at once, each beside raw copies of the same bytes in the same run; and the bookkeeping
/// cost of declaring an array that is already valid.
struct MovementBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "movement",
        abstract: "PArray movement by tasks beside raw copies of the same bytes, and the per-access bookkeeping."
    )

    @Option(help: "Bytes in the array.")
    var bytes = 256 << 20

    @Option(help: "Timed repetitions; the fastest is reported.")
    var repetitions = 5

    @Option(help: "Tasks in the bookkeeping measurement.")
    var tasks = 20_000

    @Option(help: "Bytes of the array read on every GPU at once (default: 4 GiB on CUDA GPUs, else 64 MiB).")
    var everyGPUBytes: Int?

    @Option(
        help:
            "Fail when a task declaring an already-valid array makes more heap allocations than this (a CI check; use a release build)."
    )
    var allocationBudget: Double?

    @OptionGroup var options: DeviceOptions
    @OptionGroup var traceOptions: TraceOptions

    func run() async throws {
        try await self.traceOptions.tracing { try await self.runTraced() }
    }

    /// The command, its runs traced when `--trace` asks.
    private func runTraced() async throws {
        AllocationCounter.preloadIfPossible()
        let registry = try options.installRegistry()
        let selection = registry.selection
        guard let gpuBackend = registry.gpus.first else {
            throw ValidationError("the movement benchmark needs a GPU (real or virtual)")
        }
        let count = bytes / MemoryLayout<Float>.stride
        let data = NDArray<Float>.full([count], value: 1.5)  // on the host (pinned when CUDA is in use)
        let isCUDA = !gpuBackend.isHostAddressable
        print(
            "PArray movement of \(formatBytes(count * 4)) host -> gpu(0) -> host, \(gpuBackend.name), best of \(repetitions)"
        )

        // Raw: the same bytes, host -> device -> host, with the device's copy function (cuMemcpyAsync on
        // pinned memory for CUDA) or memcpy between separate host blocks (virtual GPUs).
        let hostBlock = try data.hostBlock(registry)
        let hostBack = try registry.host.allocate(byteCount: count * 4)
        let deviceBlock = try gpuBackend.allocate(byteCount: count * 4)
        var raw = Double.infinity
        for _ in 0...repetitions {
            let clock = ContinuousClock()
            let start = clock.now
            if isCUDA {
                try DeviceCopies.copy(from: hostBlock, to: deviceBlock, byteCount: count * 4).wait()
                try DeviceCopies.copy(from: deviceBlock, to: hostBack, byteCount: count * 4).wait()
            } else {
                memcpy(deviceBlock.hostPointer!, hostBlock.hostPointer!, count * 4)
                memcpy(hostBack.hostPointer!, deviceBlock.hostPointer!, count * 4)
            }
            raw = min(raw, seconds(start.duration(to: clock.now)))
        }

        // By tasks: gpu(0) reads and writes the array (host -> gpu), then the CPU reads it (gpu -> host).
        // One run, so that device memory is reused between repetitions as it is within a program.
        let times = Mutex<[Double]>([])
        let statesRight = Mutex(true)
        let repetitions = self.repetitions
        try await Parla.run(devices: selection) {
            for repetition in 0...repetitions {
                let A = PArray(data.astype(Float.self))  // a copy of its own, made before the clock starts
                let T = TaskSpace("T\(repetition)")
                let clock = ContinuousClock()
                let start = clock.now
                spawn(T[0], placement: gpu(0), inOut: [A]) {}
                spawn(T[1], placement: cpu, input: [A]) {}
                try await T[1].wait()
                times.withLock { $0.append(seconds(start.duration(to: clock.now))) }
                let right = A.state(on: cpu) == .shared && A.state(on: gpu(0)) == .shared
                statesRight.withLock { $0 = $0 && right }
            }
        }
        let byTasks = times.withLock { $0.dropFirst().min() ?? .infinity }
        let checked = statesRight.withLock { $0 }
        let rawRate = 2 * Double(count * 4) / raw / 1e9
        let taskRate = 2 * Double(count * 4) / byTasks / 1e9
        print(
            "raw copies: \(format(raw * 1e3)) ms = \(format(rawRate)) GB/s; by tasks: \(format(byTasks * 1e3)) ms = \(format(taskRate)) GB/s; ratio \(format(taskRate / rawRate)) (target >= 0.9)\(checked ? "" : " [states wrong]")"
        )

        if registry.gpus.count > 1 {
            try await self.measureGPUToGPU(registry, data: data)
            let onHost = gpuBackend.diagnostics.runsOnHost
            try await self.measureReadOnEveryGPU(registry, bytes: everyGPUBytes ?? (onHost ? 64 << 20 : 4 << 30))
        }

        // Bookkeeping: tasks declaring an array that is already valid on their device, against the same
        // tasks declaring nothing.
        let small = PArray(NDArray<Float>.zeros([16]))
        let n = tasks
        func timed(_ declare: Bool, countAllocations: Bool = false) async throws -> (Double, Double) {
            let clock = ContinuousClock()
            let start = clock.now
            try await Parla.run(devices: selection) {
                if countAllocations { AllocationCounter.start() }
                for _ in 0..<n {
                    if declare { spawn(placement: gpu(0), input: [small]) {} } else { spawn(placement: gpu(0)) {} }
                }
            }
            let allocations = countAllocations ? Double(AllocationCounter.stop()) / Double(n) : 0
            return (seconds(start.duration(to: clock.now)) / Double(n) * 1e6, allocations)
        }
        // Warm-up: brings the array to gpu(0), and has `n` tasks alive at once (all wait for a gate), so
        // that the runtime's caches hold as many task records as the measured runs can need: what is
        // counted is the steady state, not the first growth of the caches.
        try await runEmptyTasks(n, devices: selection, on: gpu(0), input: [small])
        var with = Double.infinity
        var without = Double.infinity
        var allocationsWith = 0.0
        var allocationsWithout = 0.0
        for repetition in 0..<repetitions {
            let count = repetition == 0 && AllocationCounter.isAvailable
            let (timeWith, countedWith) = try await timed(true, countAllocations: count)
            let (timeWithout, countedWithout) = try await timed(false, countAllocations: count)
            with = min(with, timeWith)
            without = min(without, timeWithout)
            if count {
                allocationsWith = countedWith
                allocationsWithout = countedWithout
            }
        }
        print(
            "bookkeeping with the data already valid: \(format(with)) µs per task declaring one array, \(format(without)) µs without; \(format(with - without)) µs per declared array (target <= 1)"
        )
        if AllocationCounter.isAvailable {
            print(
                "heap allocations per task: \(format(allocationsWith)) declaring one array, \(format(allocationsWithout)) without"
            )
        }
        if let budget = allocationBudget {
            guard AllocationCounter.isAvailable else {
                print("allocation budget given, but allocations could not be counted")
                throw ExitCode.failure
            }
            let within = allocationsWith <= budget
            print(
                "a task declaring one array made \(format(allocationsWith)) heap allocations, \(within ? "within" : "OVER") the budget of \(format(budget))"
            )
            if !within { throw ExitCode.failure }
        }
        withExtendedLifetime((hostBlock, hostBack, deviceBlock)) {}
    }
}

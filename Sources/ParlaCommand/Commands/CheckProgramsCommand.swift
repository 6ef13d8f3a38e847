import ArgumentParser
import Parla
import ParlaChecks

/// `parla check-programs`: random PArray programs run on the selected devices (real GPUs when there
/// are any), each compared with the same program run sequentially.
struct CheckProgramsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-programs",
        abstract: "Run random PArray programs on the devices; compare each with the program run sequentially.",
        discussion: """
            Each program makes tasks that read or write random, often overlapping regions of one array on \
            random devices (all the GPUs and the CPU), in random modes, with inferred dependencies (even \
            seeds) or explicit ones (odd seeds). Reading tasks check what they see; the array is compared \
            whole at the end. Exits with a non-zero status on any difference, printing the seed that \
            replays it.

            With --faults RATE (virtual or cuda-simulated devices), each device call (allocation, copy, \
            kernel launch) fails with that chance, drawn from the program's seed. Every task must then \
            complete with the right values or fail with a named error, no run may hang (a watchdog ends \
            the check after --timeout seconds), and the array must end as the sequential program does \
            with only the writes of the tasks that completed.

            With --eviction (virtual GPUs), each program instead makes tasks on four \
            to six arrays of one size, each task declaring one to three of them (or regions) in random \
            modes, placed on one GPU, the CPU, any GPU or either of two GPUs, and each GPU gets room for \
            only about three of the arrays (the memory of --devices is replaced): copies must keep giving \
            way. No task's own data exceeds a GPU's memory, so every task must complete with the \
            sequential program's values, and no run may hang.
            """
    )

    @Option(help: "How many programs to run.")
    var programs = 400

    @Option(help: "The first program's seed (the others follow).")
    var seed: UInt64 = 1

    @Option(help: "The chance that each device call fails (an injected fault), for virtual or cuda-simulated devices.")
    var faults: Double?

    @Flag(help: "Run programs on several arrays with room on each GPU for about three of them (eviction).")
    var eviction = false

    @Option(help: "Seconds a program may run before it counts as hung.")
    var timeout: Double = 120

    @OptionGroup var options: DeviceOptions
    @OptionGroup var traceOptions: TraceOptions

    func run() async throws {
        try await self.traceOptions.tracing { try await self.runTraced() }
    }

    /// The command, its runs traced when `--trace` asks.
    private func runTraced() async throws {
        let registry = try options.installRegistry()
        let gpus = registry.gpus.count
        guard gpus > 0 else { throw ValidationError("the selected devices have no GPU (real or virtual)") }
        let selection = registry.selection
        let names = registry.gpus.map(\.name)
        if eviction {
            try await self.runEvictionPrograms(on: selection, gpus: gpus, names: names)
            return
        }
        print("random PArray programs on \(gpus) GPU(s) (\(names.joined(separator: ", "))) and the CPU")
        if let faults, !(0...1).contains(faults) {
            throw ValidationError("--faults is a probability between 0 and 1, not \(faults)")
        }
        if faults != nil && selection.withRandomFaults(seed: 0, rate: 0) == nil {
            throw ValidationError("--faults needs virtual or cuda-simulated devices (--devices virtual:N)")
        }
        if let faults { print("injecting faults: each allocation, copy and kernel launch fails with chance \(faults)") }
        let clock = ContinuousClock()
        let start = clock.now
        var tasks = 0
        var failedTasks = 0
        var injected = 0
        var failed: [String] = []
        var progress = ProgressLine("programs", total: programs)
        for index in 0..<programs {
            let seed = self.seed + UInt64(index)
            let mode: DependencyMode = seed % 2 == 0 ? .inferred : .explicit
            let devices = faults.flatMap { selection.withRandomFaults(seed: seed, rate: $0) } ?? selection
            let watchdog = Watchdog(seconds: self.timeout) {
                "program \(seed) (\(mode) dependencies, \(devices)) did not finish within \(self.timeout) s: it hangs"
            }
            let outcome = try await RandomPArrayProgram(seed: seed, dependencies: mode).run(
                gpuCounts: gpus...gpus,
                faultsExpected: faults != nil,
                on: { _ in devices }
            )
            watchdog.stop()
            tasks += outcome.tasks
            failedTasks += outcome.failedTasks
            injected += outcome.faultsInjected
            failed += outcome.mismatches
            let faultsDone = faults == nil ? "" : ", \(injected) faults injected, \(failedTasks) tasks failed"
            progress.update(index + 1, "\(tasks) tasks\(faultsDone), \(failed.count) difference(s)")
        }
        progress.finish()
        let elapsed = seconds(start.duration(to: clock.now))
        if !failed.isEmpty {
            for line in failed.prefix(20) { print(line) }
            print("\(failed.count) difference(s) from the sequential programs")
            throw ExitCode.failure
        }
        if faults != nil {
            print(
                "all \(programs) programs (\(tasks) tasks; \(injected) injected faults failed \(failedTasks) of them, each with a named error) agree with the sequential model of the completed writes (\(format(elapsed)) s)"
            )
        } else {
            print("all \(programs) programs (\(tasks) tasks) agree with the sequential model (\(format(elapsed)) s)")
        }
    }
}

extension CheckProgramsCommand {
    /// `--eviction`: random programs on several arrays, with room on each GPU for about three of them.
    func runEvictionPrograms(on selection: DeviceSelection, gpus: Int, names: [String]) async throws {
        if faults != nil { throw ValidationError("--eviction and --faults cannot be combined") }
        guard selection.withGPUMemory(0) != nil else {
            throw ValidationError("--eviction needs virtual GPUs (--devices virtual:N)")
        }
        print(
            "random programs on 4-6 PArrays on \(gpus) GPU(s) (\(names.joined(separator: ", "))) and the CPU, each GPU with room for about 3 of them"
        )
        let clock = ContinuousClock()
        let start = clock.now
        var tasks = 0
        var failed: [String] = []
        var progress = ProgressLine("programs", total: programs)
        for index in 0..<programs {
            let seed = self.seed + UInt64(index)
            let mode: DependencyMode = seed % 2 == 0 ? .inferred : .explicit
            let watchdog = Watchdog(seconds: self.timeout) {
                "eviction program \(seed) (\(mode) dependencies, \(selection)) did not finish within \(self.timeout) s: it hangs"
            }
            let outcome = try await RandomEvictionProgram(seed: seed, dependencies: mode).run(
                gpuCounts: gpus...gpus,
                on: { _, memory in selection.withGPUMemory(memory) ?? selection }
            )
            watchdog.stop()
            tasks += outcome.tasks
            failed += outcome.mismatches
            progress.update(index + 1, "\(tasks) tasks, \(failed.count) difference(s) or failure(s)")
        }
        progress.finish()
        let elapsed = seconds(start.duration(to: clock.now))
        if !failed.isEmpty {
            for line in failed.prefix(20) { print(line) }
            print("\(failed.count) difference(s) or failure(s) against the sequential programs")
            throw ExitCode.failure
        }
        print(
            "all \(programs) eviction programs (\(tasks) tasks) agree with the sequential model, no task failed (\(format(elapsed)) s)"
        )
    }
}

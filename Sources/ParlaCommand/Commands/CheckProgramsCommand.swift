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
            """
    )

    @Option(help: "How many programs to run.")
    var programs = 400

    @Option(help: "The first program's seed (the others follow).")
    var seed: UInt64 = 1

    @OptionGroup var options: DeviceOptions

    func run() async throws {
        let registry = try options.installRegistry()
        let gpus = registry.gpus.count
        guard gpus > 0 else { throw ValidationError("the selected devices have no GPU (real or virtual)") }
        let selection = registry.selection
        let names = registry.gpus.map(\.name)
        print("random PArray programs on \(gpus) GPU(s) (\(names.joined(separator: ", "))) and the CPU")
        let clock = ContinuousClock()
        let start = clock.now
        var tasks = 0
        var failed: [String] = []
        for index in 0..<programs {
            let seed = self.seed + UInt64(index)
            let mode: DependencyMode = seed % 2 == 0 ? .inferred : .explicit
            let outcome = try await RandomPArrayProgram(seed: seed, dependencies: mode).run(
                gpuCounts: gpus...gpus,
                on: { _ in selection }
            )
            tasks += outcome.tasks
            failed += outcome.mismatches
            if (index + 1) % 100 == 0 || index + 1 == programs {
                print("  \(index + 1) programs, \(tasks) tasks, \(failed.count) difference(s)")
            }
        }
        let elapsed = seconds(start.duration(to: clock.now))
        if !failed.isEmpty {
            for line in failed.prefix(20) { print(line) }
            print("\(failed.count) difference(s) from the sequential programs")
            throw ExitCode.failure
        }
        print("all \(programs) programs (\(tasks) tasks) agree with the sequential model (\(format(elapsed)) s)")
    }
}

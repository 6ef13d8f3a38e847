import ArgumentParser
import Parla

/// The `parla` command-line tool: demonstrations, benchmarks and checks.
@main
struct ParlaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parla",
        abstract: "Parla for Swift: task-parallel computing with automatic data movement across CPU and GPUs.",
        subcommands: [
            DemoCommand.self, LessonCommand.self, DevicesCommand.self, DeviceCheckCommand.self,
            CheckProgramsCommand.self,
            BenchCommand.self, AppCommand.self, TraceCommand.self,
        ],
        defaultSubcommand: LessonCommand.self
    )
}

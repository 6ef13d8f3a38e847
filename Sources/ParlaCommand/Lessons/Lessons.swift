import ArgumentParser
import Parla
import Synchronization

/// The Parla tutorial's lessons, rewritten in Swift. Each prints through `emit`, so that tests can read
/// what it printed.
enum Lessons {
    /// Lines printed by a lesson, in order; safe to call from any task.
    typealias Emit = @Sendable (String) -> Void

    /// A lesson: its number, title and program.
    typealias Lesson = (
        number: Int, title: String, run: @Sendable (DeviceSelection, @escaping Emit) async throws -> Void
    )

    /// The lessons by number, with a title.
    static let all: [Lesson] = [
        (0, "Hello World", lesson0),
        (1, "Task spaces, dependencies and barriers", lesson1),
        (2, "Capturing values and returning results", lesson2),
        (3, "Devices and architectures", lesson3),
        (4, "Partitioning and automatic movement", lesson4),
        (5, "Task constraints", lesson5),
        (6, "Automatic data movement with PArray", lesson6),
    ]
}

/// `parla lesson N`: runs one of the tutorial's lessons.
struct LessonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lesson",
        abstract: "Run a lesson of the Parla tutorial, rewritten in Swift (0 to 6; 6 by default)."
    )

    @Argument(help: "The lesson's number.")
    var number: Int = 6

    @OptionGroup var options: DeviceOptions
    @OptionGroup var traceOptions: TraceOptions

    func run() async throws {
        try await self.traceOptions.tracing { try await self.runTraced() }
    }

    /// The command, its runs traced when `--trace` asks.
    private func runTraced() async throws {
        guard let lesson = Lessons.all.first(where: { $0.number == number }) else {
            throw ValidationError(
                "there is no lesson \(number); the lessons are \(Lessons.all.map { String($0.number) }.joined(separator: ", "))"
            )
        }
        let selection =
            try options.devices.map { try DeviceSelection(parsing: $0) } ?? DeviceSelection.fromEnvironment() ?? .auto
        print("Lesson \(lesson.number): \(lesson.title)")
        try await lesson.run(selection) { line in print(line) }
    }
}

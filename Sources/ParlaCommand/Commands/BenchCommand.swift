import ArgumentParser

/// `parla bench`: benchmarks that print our figure beside a reference measured in the same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks, each reported beside a reference measured in the same run.",
        subcommands: [ArraysBenchmark.self, OverheadBenchmark.self, MovementBenchmark.self, RegionsBenchmark.self]
    )
}

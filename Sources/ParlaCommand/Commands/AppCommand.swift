import ArgumentParser
import Parla

/// `parla app`: whole programs written with Parla.
struct AppCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app",
        abstract: "Whole programs written with Parla, timed beside the vendor libraries.",
        subcommands: [CholeskyCommand.self]
    )
}

/// `parla app cholesky`: Parla's blocked Cholesky (see ``BlockedCholesky``).
struct CholeskyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cholesky",
        abstract: "Blocked FP64 Cholesky of an N×N matrix in B×B PArray blocks, on the GPUs.",
        discussion: """
            Times the factorization with the data starting on the GPUs (block row i on GPU i mod g, as \
            Parla's example) and end to end (the matrix in host memory, the factor brought back), checks \
            ‖A − L·Lᵀ‖/‖A‖, and prints cuSOLVER's single-GPU potrf and cuSOLVERMg's potrf on the same GPUs \
            from the same run.
            """
    )

    /// Where the matrix starts.
    enum Start: String, ExpressibleByArgument, CaseIterable {
        /// The blocks already on the GPUs.
        case gpu
        /// The matrix in host memory, the factor brought back there.
        case host
        /// Both, one after the other.
        case both
    }

    @OptionGroup var options: DeviceOptions
    @OptionGroup var traceOptions: TraceOptions

    @Option(help: "The order of the matrix.")
    var n = 4096

    @Option(help: "The order of a block (it divides N).")
    var block = 512

    @Option(help: "Task placement: auto (the runtime chooses a GPU) or cyclic (block row i on GPU i mod g).")
    var placement: BlockedCholesky.Mapping = .auto

    @Option(help: "Where the matrix starts: gpu, host or both.")
    var start: Start = .both

    @Option(help: "Runs of each kind; the best is reported.")
    var repetitions = 3

    @Option(help: "cuSOLVERMg's column block (default: 512 up to N=32768, else 1024).")
    var mgBlock: Int?

    @Flag(help: "Skip cuSOLVER's and cuSOLVERMg's runs.")
    var skipBaselines = false

    @Flag(help: "Skip the residual check.")
    var skipCheck = false

    func validate() throws {
        guard n > 0, block > 0, n % block == 0 else {
            throw ValidationError("the block order (\(block)) must divide N (\(n))")
        }
        guard repetitions > 0 else { throw ValidationError("--repetitions must be at least 1") }
    }

    func run() async throws {
        try await self.traceOptions.tracing { try await self.runTraced() }
    }

    /// The command, its runs traced when `--trace` asks.
    private func runTraced() async throws {
        let registry = try options.installRegistry()
        let gpus = registry.devices.filter { $0.kind == .gpu }
        guard !gpus.isEmpty else { throw ValidationError("the blocked Cholesky runs on GPUs; none is selected") }
        let program = BlockedCholesky(n: n, block: block, gpus: gpus, mapping: placement)
        let kind = registry.usesCUDA ? "CUDA" : "virtual"
        print(
            "blocked Cholesky, N=\(n), \(block)×\(block) blocks (\(program.blockCount)×\(program.blockCount)), FP64, \(gpus.count) \(kind) GPU\(gpus.count == 1 ? "" : "s"), placement \(placement.rawValue)"
        )
        let clock = ContinuousClock()
        let generation = clock.now
        let host = program.hostBlocks()
        print("matrix made on the host in \(duration(seconds(generation.duration(to: clock.now))))")
        let flops = BlockedCholesky.flops(n)
        let starts = [Start.gpu, .host].filter { self.start == .both || self.start == $0 }
        // The residual is computed by the last run, on its devices: simulated GPUs belong to the run
        // that made them, and the factor's copies on them are that run's.
        var residual: Double? = nil
        var progress = ProgressLine("factorizations", total: starts.count * repetitions)
        for start in starts {
            var runs: [FactorizationRun] = []
            for repetition in 0..<repetitions {
                let step = starts.firstIndex(of: start)! * repetitions + repetition
                let from = start == .gpu ? "data on the GPUs" : "host to host"
                progress.update(step, "\(from), run \(repetition + 1) of \(repetitions)", now: true)
                let a = BlockedCholesky.parrays(host)
                var run = FactorizationRun()
                let checks = !skipCheck && start == starts.last && repetition == repetitions - 1
                try await Parla.run(devices: registry.selection) {
                    if start == .gpu { try await program.distribute(a) }
                    let movedBefore = DataMovementLog.currentRun
                    let evictionsBefore = DataMovementLog.currentRunEvictions
                    let begin = clock.now
                    let space = TaskSpace("cholesky")
                    program.spawnFactorization(a, in: space)
                    try await space.wait()
                    if start == .host { try await program.gatherOnHost(a) }
                    run.seconds = seconds(begin.duration(to: clock.now))
                    run.moved = FactorizationRun.difference(DataMovementLog.currentRun, since: movedBefore)
                    run.evictions = DataMovementLog.currentRunEvictions.since(evictionsBefore)
                    if checks {
                        progress.update(step, "\(from), run \(repetition + 1): the residual, on the GPUs", now: true)
                        residual = try await program.relativeResidual(of: a, original: host)
                    }
                }
                runs.append(run)
            }
            progress.finish()
            let best = runs.min { $0.seconds < $1.seconds }!
            let label = start == .gpu ? "data on the GPUs:" : "host to host:    "
            print(
                "\(label) best \(duration(best.seconds)), \(rate(flops / best.seconds)) (runs: \(runs.map { duration($0.seconds) }.joined(separator: ", ")))"
            )
            print("                  \(best.summary)")
        }
        if let residual {
            let verdict = residual < 1e-12 ? "ok" : "TOO LARGE"
            print(
                "residual ‖A − L·Lᵀ‖/‖A‖ = \(scientific(residual)) (\(verdict); computed by tasks on the GPUs after the last run)"
            )
            if residual >= 1e-12 { throw ExitCode.failure }
        }
        guard !skipBaselines else { return }
        if registry.usesCUDA { print("timing NVIDIA's factorizations of the same matrix…") }
        switch program.singleGPUPotrf(host: host, repetitions: repetitions) {
        case .success(let time):
            print("cuSOLVER potrf, 1 GPU:         \(duration(time)), \(rate(flops / time))")
        case .failure(let error):
            print("cuSOLVER potrf, 1 GPU:         not run (\(brief(error)))")
        }
        let columns = mgBlock ?? (n <= 32768 ? 512 : 1024)
        switch program.multiGPUPotrf(blockColumns: columns, repetitions: repetitions) {
        case .success(let time):
            print(
                "cuSOLVERMg potrf, \(gpus.count) GPU\(gpus.count == 1 ? ": " : "s:")      \(duration(time)), \(rate(flops / time)) (\(columns)-column blocks)"
            )
        case .failure(let error):
            print("cuSOLVERMg potrf, \(gpus.count) GPU\(gpus.count == 1 ? ": " : "s:")      not run (\(brief(error)))")
        }
    }
}

extension BlockedCholesky.Mapping: ExpressibleByArgument {}

/// What one factorization run of `parla app cholesky` measured in its timed part: from the spawn of the
/// factorization (once the blocks are on the GPUs, for a run with the data there) to its end (once the
/// factor is back on the host, for a run from the host).
struct FactorizationRun {
    /// The time of the timed part.
    var seconds = 0.0
    /// The bytes the run's PArrays moved per link in the timed part (``DataMovementLog/currentRun``).
    var moved: [(link: DataMovementLog.Link, bytes: Int)] = []
    /// What eviction did in the timed part (``DataMovementLog/currentRunEvictions``).
    var evictions = EvictionCounts()

    /// `moved: cpu -> gpu(0) 1.20 GB, gpu(0) -> gpu(1) 302 MB`, or `moved: nothing`; then the
    /// evictions, when there were some.
    var summary: String {
        let links = self.moved.filter { $0.bytes > 0 }.map { "\($0.link) \(byteCount($0.bytes))" }
        let moved = "moved: \(links.isEmpty ? "nothing" : links.joined(separator: ", "))"
        let evicted = self.evictions.dropped + self.evictions.writtenBack
        return evicted == 0 ? moved : moved + "; \(self.evictions)"
    }

    /// The bytes moved per link in `now` beyond those of `before` (two readings of one run's log), in
    /// `now`'s order.
    static func difference(
        _ now: [(link: DataMovementLog.Link, bytes: Int)],
        since before: [(link: DataMovementLog.Link, bytes: Int)]
    ) -> [(link: DataMovementLog.Link, bytes: Int)] {
        let earlier = Dictionary(before.map { ($0.link, $0.bytes) }, uniquingKeysWith: +)
        return now.map { ($0.link, $0.bytes - earlier[$0.link, default: 0]) }.filter { $0.bytes > 0 }
    }
}

/// `1.20 GB`, `302 MB`, `48.0 kB`, `512 B`: decimal units, three significant digits.
func byteCount(_ bytes: Int) -> String {
    let value = Double(bytes)
    if value >= 1e9 { return "\(significant(value / 1e9)) GB" }
    if value >= 1e6 { return "\(significant(value / 1e6)) MB" }
    if value >= 1e3 { return "\(significant(value / 1e3)) kB" }
    return "\(bytes) B"
}

/// `3.14e-17`: a positive number with three significant digits.
func scientific(_ value: Double) -> String {
    guard value > 0 && value.isFinite else { return "\(value)" }
    var exponent = 0
    var mantissa = value
    while mantissa >= 10 {
        mantissa /= 10
        exponent += 1
    }
    while mantissa < 1 {
        mantissa *= 10
        exponent -= 1
    }
    let hundredths = Int((mantissa * 100).rounded())
    let digits =
        hundredths >= 1000 ? "1.00" : "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    return "\(digits)e\(exponent < 0 ? "-" : "+")\(Swift.abs(exponent) < 10 ? "0" : "")\(Swift.abs(exponent))"
}

/// `0.105 s`, `60.2 ms`, `812 µs`: three significant digits.
func duration(_ seconds: Double) -> String {
    if seconds >= 1 { return "\(significant(seconds)) s" }
    if seconds >= 1e-3 { return "\(significant(seconds * 1e3)) ms" }
    return "\(significant(seconds * 1e6)) µs"
}

/// `62.1 TFLOP/s`, `3.20 GFLOP/s`.
func rate(_ flopsPerSecond: Double) -> String {
    flopsPerSecond >= 1e12
        ? "\(significant(flopsPerSecond / 1e12)) TFLOP/s" : "\(significant(flopsPerSecond / 1e9)) GFLOP/s"
}

/// A positive number with three significant digits (no exponent): `0.105`, `60.2`, `812`.
func significant(_ value: Double) -> String {
    guard value.isFinite && value > 0 else { return "\(value)" }
    var decimals = 2
    var scaled = value
    while scaled >= 10 && decimals > 0 {
        scaled /= 10
        decimals -= 1
    }
    while scaled < 1 && decimals < 8 {
        scaled *= 10
        decimals += 1
    }
    var factor = 1.0
    for _ in 0..<decimals { factor *= 10 }
    let rounded = (value * factor).rounded() / factor
    var text = "\(rounded)"
    if let dot = text.firstIndex(of: ".") {
        let have = text.distance(from: dot, to: text.endIndex) - 1
        if decimals == 0 {
            text = String(text[..<dot])
        } else if have < decimals {
            text += String(repeating: "0", count: decimals - have)
        }
    }
    return text
}

/// An error's message up to its first `;` (the rest lists every place a library was looked for).
func brief(_ error: any Error) -> String {
    let text = "\(error)"
    return String(text.prefix { $0 != ";" })
}

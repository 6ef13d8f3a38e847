import ArgumentParser
import Parla

#if canImport(Glibc)
import Glibc
#endif

/// `parla bench regions`: the bookkeeping cost per task of fine-grained regions of one PArray, as the
/// number of regions grows: rows on alternating devices (written, updated, read), whole-array reads
/// after them, and tiles in Cholesky order. Bodies are empty, so what is timed is the runtime's
/// bookkeeping (and the copies the pattern needs); the per-task cost should not grow with the number
/// of regions.
struct RegionsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regions",
        abstract: "Per-task cost of fine-grained regions of one PArray as their number grows."
    )

    @Option(help: "Numbers of regions, comma-separated.")
    var sizes = "1000,10000,100000"

    @Option(
        help:
            "Stop a pattern after this many seconds; its cost per task is then that of the tasks spawned by then (marked *)."
    )
    var timeLimit = 60.0

    @Option(
        help: "Run every size this many times and report the fastest of each pattern (the machine's noise is large)."
    )
    var repetitions = 1

    @Flag(
        help:
            "Also count heap allocations per task (libParlaAllocationCounter.so, built next to this program, preloaded; the counting itself slows the tasks a little)."
    )
    var allocations = false

    @OptionGroup var options: DeviceOptions
    @OptionGroup var traceOptions: TraceOptions

    func run() async throws {
        try await self.traceOptions.tracing { try await self.runTraced() }
    }

    /// The command, its runs traced when `--trace` asks.
    private func runTraced() async throws {
        if self.allocations { AllocationCounter.preloadIfPossible() }
        let registry = try options.installRegistry()
        let selection = registry.selection
        let gpus = registry.gpus.count
        guard gpus > 0 else { throw ValidationError("the regions benchmark needs a GPU (real or virtual)") }
        let counts = try sizes.split(separator: ",").map { text -> Int in
            guard let count = Int(text.filter { $0 != " " }), count > 0 else {
                throw ValidationError("--sizes takes positive whole numbers separated by commas, not '\(text)'")
            }
            return count
        }
        print("fine-grained regions of one PArray on \(gpus) \(registry.gpus[0].name)(s); µs per task, empty bodies")
        print("regions    rows output  rows inOut  rows input  whole reads† tiles (Cholesky order)")
        var cut = false
        var allocations: [[String]] = []
        guard self.repetitions > 0 else { throw ValidationError("--repetitions takes a positive number") }
        var progress = ProgressLine("measurements", total: counts.count * self.repetitions)
        for (index, count) in counts.enumerated() {
            var measured: [Phase?] = []
            for repetition in 0..<self.repetitions {
                progress.update(
                    index * self.repetitions + repetition,
                    "\(count) regions, repetition \(repetition + 1)",
                    now: true
                )
                let run =
                    try await Self.rows(count, gpus: gpus, on: selection, limit: self.timeLimit)
                    + [try await Self.tiles(count, gpus: gpus, on: selection, limit: self.timeLimit)]
                measured = measured.isEmpty ? run : zip(measured, run).map { Phase.faster($0, $1) }
            }
            let cells = measured.enumerated().map { column, phase in
                guard let phase else { return "-" }
                cut = cut || phase.partial
                // (A whole read reads every region: its cost per region is the one that stays flat.)
                let perRegion = column == 3 ? Double(count) : 1
                return format(phase.perTask * 1e6 / perRegion) + (phase.partial ? "*" : "")
            }
            progress.finish()
            Self.printRow(count, cells)
            fflush(nil)  // (each size as it is measured, also when stdout is a file)
            allocations.append(measured.map { phase in phase?.allocations.map { format($0) } ?? "-" })
        }
        if self.allocations && !AllocationCounter.isAvailable {
            print(
                "(allocations not counted: libParlaAllocationCounter.so was not found next to \(CommandLine.arguments[0]))"
            )
        }
        if AllocationCounter.isAvailable {
            print("heap allocations per task")
            for (count, cells) in zip(counts, allocations) { Self.printRow(count, cells) }
        }
        print("(†: µs per region read; each of these tasks, one per device, reads the whole array after the rows)")
        if cut {
            print(
                "(*: stopped spawning after \(format(self.timeLimit)) s; the cost per task of the tasks spawned by then)"
            )
        }
    }

    static func printRow(_ count: Int, _ cells: [String]) {
        print(
            "\(String(count).padding(11))\(cells[0].padding(13))\(cells[1].padding(12))\(cells[2].padding(12))\(cells[3].padding(13))\(cells[4])"
        )
    }

    /// What one phase measured: seconds per task, whether spawning stopped at the time limit, and the
    /// heap allocations per task (when they are counted).
    struct Phase {
        var perTask: Double
        var partial: Bool
        var allocations: Double?

        /// The faster of two measurements of one phase (the allocations of the first).
        static func faster(_ a: Phase?, _ b: Phase?) -> Phase? {
            guard var a else { return b }
            guard let b else { return a }
            if b.perTask < a.perTask {
                a.perTask = b.perTask
                a.partial = b.partial
            }
            return a
        }
    }

    /// Spawns `count` tasks with `spawnTask(i)` in a run of its own, stopping once `limit` seconds have
    /// passed; returns the seconds per task spawned.
    static func phase(
        _ count: Int,
        on selection: DeviceSelection,
        limit: Double,
        _ spawnTask: (Int) -> ParlaTask<Void>
    ) async throws -> Phase {
        let clock = ContinuousClock()
        let start = clock.now
        var spawned = 0
        var partial = false
        var allocated = 0
        if AllocationCounter.isAvailable { AllocationCounter.start() }
        try await Parla.run(devices: selection) {
            // At most about 2 × `window` tasks in flight, so that the time limit bounds the run, not
            // only the spawning (spawning runs far ahead of tasks that copy).
            let window = 2048
            var marker: ParlaTask<Void>? = nil
            for i in 0..<count {
                if i % window == window - 1 {
                    try await marker?.wait()
                    if seconds(start.duration(to: clock.now)) > limit {
                        partial = true
                        break
                    }
                }
                let task = spawnTask(i)
                if i % window == window - 1 { marker = task }
                spawned += 1
            }
        }
        let elapsed = seconds(start.duration(to: clock.now))
        if AllocationCounter.isAvailable { allocated = AllocationCounter.stop() }
        return Phase(
            perTask: elapsed / Double(max(spawned, 1)),
            partial: partial,
            allocations: AllocationCounter.isAvailable ? Double(allocated) / Double(max(spawned, 1)) : nil
        )
    }

    /// Rows of an [n, 8] array written (`output`) and updated (`inOut`) on gpu(i mod gpus), read
    /// (`input`) on the next GPU, then read whole by every GPU and the CPU (`nil` when the rows were cut
    /// short).
    static func rows(_ n: Int, gpus: Int, on selection: DeviceSelection, limit: Double) async throws -> [Phase?] {
        let A = PArray(NDArray<Double>.zeros([n, 8]))
        var phases: [Phase?] = []
        for mode in [AccessMode.output, .inOut, .input] {
            phases.append(
                try await Self.phase(n, on: selection, limit: limit) { i in
                    let device = gpu((i + (mode == .input ? 1 : 0)) % gpus)
                    switch mode {
                    case .output: return spawn(placement: device, output: [A[i]]) {}
                    case .inOut: return spawn(placement: device, inOut: [A[i]]) {}
                    case .input: return spawn(placement: device, input: [A[i]]) {}
                    }
                }
            )
        }
        if phases.contains(where: { $0?.partial == true }) { return phases + [nil] }
        let readers = (0..<gpus).map { gpu($0) } + [cpu]
        phases.append(
            try await Self.phase(readers.count, on: selection, limit: limit) { i in
                spawn(placement: readers[i], input: [A]) {}
            }
        )
        return phases
    }

    /// An array of about `regions` tiles (t×t tiles, 2 elements on a side), factored in Cholesky order:
    /// potrf, trsm and syrk/gemm tasks on the tiles, tile (i, j) on gpu((i + j) mod gpus).
    static func tiles(_ regions: Int, gpus: Int, on selection: DeviceSelection, limit: Double) async throws -> Phase {
        let t = max(1, Int(Double(regions).squareRoot()))
        let b = 2
        let A = PArray(NDArray<Double>.zeros([t * b, t * b]))
        func tile(_ i: Int, _ j: Int) -> PArray<Double> { A[(i * b)..<((i + 1) * b), (j * b)..<((j + 1) * b)] }
        // The tasks in Cholesky order, as (i, j, k): (k, k, k) potrf, (i, k, k) trsm, (i, j, k) update.
        var order: [(Int, Int, Int)] = []
        for k in 0..<t {
            order.append((k, k, k))
            for i in (k + 1)..<t { order.append((i, k, k)) }
            for i in (k + 1)..<t {
                for j in (k + 1)...i { order.append((i, j, k)) }
            }
        }
        return try await Self.phase(order.count, on: selection, limit: limit) { n in
            let (i, j, k) = order[n]
            let device = gpu((i + j) % gpus)
            if i == k && j == k {
                return spawn(placement: device, inOut: [tile(k, k)]) {}
            } else if j == k {
                return spawn(placement: device, input: [tile(k, k)], inOut: [tile(i, k)]) {}
            } else {
                return spawn(placement: device, input: [tile(i, k), tile(j, k)], inOut: [tile(i, j)]) {}
            }
        }
    }
}

import ArgumentParser
import Parla
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `parla bench overhead`: the runtime's cost per task on three workloads, beside StarPU's on the same
/// machine when `libstarpu-dev` is installed.
struct OverheadBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overhead",
        abstract: "Per-task overhead: W1 independent, W2 64 chains, W3 one chain (µs per task), beside StarPU.",
        discussion: """
            W1 spawns N independent empty tasks; W2 N empty tasks where task i depends on task i-64; W3 one \
            chain of N. Each is timed from the first spawn to the end of Parla.run, best and median of the \
            repetitions. Heap allocations per task are counted in a run of their own, with the \
            libParlaAllocationCounter.so built next to this program preloaded. Each repetition is paired \
            with one with tracing on (its trace made and written to /dev/null, or to --trace FILE), in \
            turn after and before it: the traced run's time, less the writing of its trace, less its \
            untraced twin's, is what recording costs per task (the median over the pairs, with their \
            range; it includes letting go of the events once written).
            """
    )

    @Option(help: "Tasks per workload.")
    var tasks = 100_000

    @Option(help: "Timed repetitions of each workload (at least 1).")
    var repetitions = 5

    @Option(help: "Tasks in the peak-memory measurement.")
    var memoryTasks = 1_000_000

    @Flag(help: "Give the tasks of the peak-memory measurement ids (T[i]) instead of leaving them unnamed.")
    var namedMemoryTasks = false

    @Flag(
        help:
            "Let the tasks of the peak-memory measurement run as they are spawned, instead of holding them all alive behind a gate."
    )
    var flowingMemoryTasks = false

    @Option(help: "The StarPU benchmark's source (compiled with gcc and pkg-config starpu-1.3 when present).")
    var starpuSource = "../shared/peers/starpu_overhead.c"

    @Option(
        help:
            "A StarPU benchmark already built from that source, run instead of compiling one (for machines without gcc or libstarpu-dev)."
    )
    var starpuBinary: String?

    @Option(
        help: "Fail when a workload makes more heap allocations per task than this (a CI check; use a release build)."
    )
    var allocationBudget: Double?

    @Flag(help: "Leave out the runs with tracing on.")
    var untracedOnly = false

    @Option(
        help:
            "The file the runs with tracing on write their traces to (the last one stays; by default /dev/null: made, then thrown away)."
    )
    var trace: String?

    func validate() throws {
        guard self.repetitions >= 1 else { throw ValidationError("--repetitions must be 1 or more") }
        guard self.tasks >= 1 else { throw ValidationError("--tasks must be 1 or more") }
    }

    func run() async throws {
        AllocationCounter.preloadIfPossible()
        print(
            "Parla for Swift: per-task overhead, \(tasks) tasks per workload, \(Parla.workerThreads) worker threads, \(repetitions) repetitions"
        )
        // Peak memory first: VmHWM only grows, so later workloads would hide this one's peak. All the
        // tasks wait on one gate task spawned last, so that they are alive at the same time.
        let perWorkload = 1 + (AllocationCounter.isAvailable ? 1 : 0) + repetitions * (self.untracedOnly ? 1 : 2)
        let workloadSteps = Workload.allCases.count * perWorkload
        var progress = ProgressLine("steps", total: 2 + workloadSteps)
        progress.update(0, "peak memory of \(self.memoryTasks) tasks", now: true)
        let before = residentBytes()
        let memoryTasks = self.memoryTasks
        try await runEmptyTasks(
            memoryTasks,
            devices: .virtual(gpus: 0),
            on: cpu,
            named: self.namedMemoryTasks,
            gated: !self.flowingMemoryTasks
        )
        let peak = max(0, peakResidentBytes() - before)
        // Warm-up: `tasks` tasks alive at once, so that the runtime's caches hold as many task records as
        // a workload can need (what is counted is the steady state, not the first growth of the caches).
        progress.update(1, "warming up", now: true)
        try await runEmptyTasks(tasks, devices: .virtual(gpus: 0), on: cpu)
        var done = 2
        // (By default the traces are made but thrown away: the file system's work on tens of megabytes
        // would weigh on the runs that follow.)
        let tracePath = self.trace ?? "/dev/null"
        var rows: [(String, [Double], Double?)] = []
        var traced: [TracedRow] = []
        for kind in Workload.allCases {
            progress.update(done, kind.name + " warm-up", now: true)
            _ = try await workload(kind, count: tasks)  // warm-up (also fills the record caches)
            // (And the trace's memory, which traced runs keep for the next.)
            if !self.untracedOnly { _ = try await workload(kind, count: tasks, trace: tracePath) }
            done += 1
            var allocations: Double? = nil
            if AllocationCounter.isAvailable {
                // In a run of its own: counting slows the run it counts.
                progress.update(done, kind.name + " counting allocations", now: true)
                let (_, counted) = try await workload(kind, count: tasks, countAllocations: true)
                allocations = Double(counted) / Double(tasks)
                done += 1
            }
            var times: [Double] = []
            var tracedRow = TracedRow(title: kind.title)
            // Untraced and traced repetitions alternate, each pair in the order opposite to the one
            // before (untraced first, then traced first, ...), so that the machine's drift and what a
            // run leaves to the next weigh on both alike; each pair gives one difference.
            for repetition in 0..<repetitions {
                progress.update(done, kind.name + " repetition \(repetition + 1)", now: true)
                var untraced = 0.0
                var tracedRun: (total: Double, writing: Double)? = nil
                let order = self.untracedOnly ? [false] : repetition % 2 == 0 ? [false, true] : [true, false]
                for isTraced in order {
                    let (seconds, _) = try await workload(kind, count: tasks, trace: isTraced ? tracePath : nil)
                    done += 1
                    if isTraced {
                        let writing = Double(Parla.lastTraceWrite.load(ordering: .relaxed)) * 1e-9
                        tracedRun = (seconds / Double(tasks) * 1e6, writing / Double(tasks) * 1e6)
                    } else {
                        untraced = seconds / Double(tasks) * 1e6
                    }
                }
                times.append(untraced)
                if let tracedRun {
                    tracedRow.add(total: tracedRun.total, writing: tracedRun.writing, untraced: untraced)
                }
            }
            rows.append((kind.title, times.sorted(), allocations))
            if !self.untracedOnly { traced.append(tracedRow) }
        }
        progress.finish()
        let starpu = runStarPU()
        print()
        print(
            "workload                              Parla best  median   allocs/task   StarPU     ratio (Parla/StarPU)  target"
        )
        for (index, row) in rows.enumerated() {
            let best = row.1.first!
            let median = row.1[row.1.count / 2]
            let allocations = row.2.map { format($0) } ?? "n/a"
            let peer = starpu?[index]
            let ratio = peer.map { format(best / $0) } ?? "-"
            let target = index == 2 ? "<= 1.0" : "<= 0.5"
            print(
                "\(row.0.padding(38))\(format(best).padding(12))\(format(median).padding(9))\(allocations.padding(14))\((peer.map { format($0) } ?? "-").padding(11))\(ratio.padding(22))\(target) µs"
            )
        }
        if !traced.isEmpty {
            print()
            print(
                "tracing on, alternating with the runs above   Parla best  writing the file  recording: median (range) of traced - writing - untraced  target"
            )
            for row in traced {
                let recording = row.recording
                print(
                    "\(row.title.padding(47))\(format(row.best).padding(12))\(format(row.writing).padding(18))\("\(signed(recording.median)) (\(signed(recording.low)) to \(signed(recording.high)))".padding(56))<= 0.2 µs"
                )
            }
        }
        print(
            "peak memory with \(memoryTasks) \(self.namedMemoryTasks ? "named " : "")tasks \(self.flowingMemoryTasks ? "run as spawned" : "alive at once"): \(formatBytes(peak)) above the resident size before (\(format(Double(peak) / Double(memoryTasks))) bytes per task)"
        )
        if !AllocationCounter.isAvailable {
            print(
                "(allocations not counted: libParlaAllocationCounter.so was not found next to \(CommandLine.arguments[0]))"
            )
        }
        if starpu == nil {
            print("(StarPU not measured: install libstarpu-dev and pass --starpu-source PATH to starpu_overhead.c)")
        }
        if let budget = allocationBudget {
            var over = false
            for (kind, (_, _, allocations)) in zip(Workload.allCases, rows) {
                let name = kind.name
                guard let allocations else {
                    print("allocation budget given, but allocations could not be counted")
                    throw ExitCode.failure
                }
                let within = allocations <= budget
                over = over || !within
                print(
                    "\(name) made \(format(allocations)) heap allocations per task, \(within ? "within" : "OVER") the budget of \(format(budget))"
                )
            }
            if over { throw ExitCode.failure }
        }
    }

    enum Workload: CaseIterable {
        case independent, chains, chain

        /// `W1`, `W2`, `W3`.
        var name: Substring { self.title.prefix { $0 != " " } }

        var title: String {
            switch self {
            case .independent: return "W1 independent empty tasks (µs/task)"
            case .chains: return "W2 64 chains, i after i-64 (µs/task)"
            case .chain: return "W3 one chain (µs/task)"
            }
        }
    }

    /// One workload's runs with tracing on, each beside the untraced run of its pair (µs per task). What
    /// a traced run costs beyond its untraced twin, less the writing of its trace, is recording's cost:
    /// the events' recording, and letting go of them once written.
    struct TracedRow {
        let title: String
        /// The fastest traced run, and the part of it spent writing the file.
        private(set) var best = Double.infinity
        private(set) var writing = 0.0
        /// Per pair: the traced run less its writing less the untraced run.
        private var differences: [Double] = []

        init(title: String) { self.title = title }

        mutating func add(total: Double, writing: Double, untraced: Double) {
            if total < self.best { (self.best, self.writing) = (total, writing) }
            self.differences.append(total - writing - untraced)
        }

        /// The cost of recording per task: the median of the pairs' differences, and their range.
        var recording: (median: Double, low: Double, high: Double) {
            let sorted = self.differences.sorted()
            let middle = sorted.count / 2
            let median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
            return (median, sorted.first!, sorted.last!)
        }
    }

    /// Runs one workload (traced to `trace`, when given); returns seconds and heap allocations counted
    /// (0 when not counting).
    private func workload(
        _ kind: Workload,
        count: Int,
        countAllocations: Bool = false,
        trace: String? = nil
    ) async throws -> (Double, Int) {
        let clock = ContinuousClock()
        var allocations = 0
        let start = clock.now
        try await Parla.run(devices: .virtual(gpus: 0), trace: trace) {
            if countAllocations { AllocationCounter.start() }
            switch kind {
            case .independent:
                for _ in 0..<count { spawn(placement: cpu) {} }
            case .chains:
                var recent: [ParlaTask<Void>] = []
                recent.reserveCapacity(64)
                for i in 0..<count {
                    let task: ParlaTask<Void>
                    if i < 64 {
                        task = spawn(placement: cpu) {}
                        recent.append(task)
                    } else {
                        task = spawn(dependencies: [recent[i % 64]], placement: cpu) {}
                        recent[i % 64] = task
                    }
                }
            case .chain:
                var previous = spawn(placement: cpu) {}
                for _ in 1..<count { previous = spawn(dependencies: [previous], placement: cpu) {} }
            }
        }
        if countAllocations { allocations = AllocationCounter.stop() }
        return (seconds(start.duration(to: clock.now)), allocations)
    }

    /// StarPU's W1, W2, W3 in µs per task (its second repetition), or nil when it cannot be built.
    private func runStarPU() -> [Double]? {
        let binary: String
        if let prebuilt = starpuBinary {
            guard access(prebuilt, X_OK) == 0 else { return nil }
            binary = prebuilt
        } else {
            guard access(starpuSource, R_OK) == 0 else { return nil }
            binary = "/tmp/parla-starpu-overhead-\(getpid())"
            let build = "gcc -O2 '\(starpuSource)' $(pkg-config --cflags --libs starpu-1.3) -o '\(binary)' 2>/dev/null"
            guard system("pkg-config --exists starpu-1.3") == 0, system(build) == 0 else { return nil }
        }
        defer { if starpuBinary == nil { unlink(binary) } }
        let output = shellOutput("STARPU_NCPU=\(Parla.workerThreads) STARPU_SILENT=1 '\(binary)' \(tasks)")
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("starpu") }) else { return nil }
        print("StarPU, same machine, same run: \(line)")
        var values: [Double] = []
        let words = line.split(separator: " ")
        for (index, word) in words.enumerated() where word == "us/task" {
            if let value = Double(words[index - 1]) { values.append(value) }
        }
        return values.count == 3 ? values : nil
    }
}

/// Heap allocation counting through the preloaded libParlaAllocationCounter.so.
enum AllocationCounter {
    typealias Counting = @convention(c) (Int32) -> Void
    typealias Count = @convention(c) () -> Int64

    /// Re-executes this program with the counter preloaded, once, when the library sits next to it.
    static func preloadIfPossible() {
        guard getenv("PARLA_ALLOCATION_COUNTER") == nil else { return }
        var path = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        guard length > 0 else { return }
        let executable = String(decoding: path.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let directory = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(
            separator: "/"
        )
        let library = "\(directory)/libParlaAllocationCounter.so"
        // Preload only a library that loads here (it must not take this process down with it).
        guard access(library, R_OK) == 0, let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else { return }
        dlclose(handle)
        setenv("PARLA_ALLOCATION_COUNTER", library, 1)
        setenv("LD_PRELOAD", library, 1)
        var arguments = CommandLine.arguments.map { strdup($0) }
        arguments.append(nil)
        execv(executable, &arguments)
    }

    private static var counting: Counting? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "parla_allocation_counting").map {
            unsafeBitCast($0, to: Counting.self)
        }
    }

    private static var count: Count? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "parla_allocation_count").map {
            unsafeBitCast($0, to: Count.self)
        }
    }

    static var isAvailable: Bool { counting != nil && getenv("PARLA_ALLOCATION_COUNTER") != nil }

    private static let startCount = Mutex(Int64(0))

    static func start() {
        let now = count?() ?? 0
        startCount.withLock { $0 = now }
        counting?(1)
    }

    static func stop() -> Int {
        counting?(0)
        return Int((count?() ?? 0) - startCount.withLock { $0 })
    }
}

/// The resident set size now, in bytes (VmRSS).
func residentBytes() -> Int { procStatus("VmRSS:") }

/// The peak resident set size so far, in bytes (VmHWM).
func peakResidentBytes() -> Int { procStatus("VmHWM:") }

private func procStatus(_ field: String) -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 512)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix(field) {
            let number =
                text.dropFirst(field.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
                ?? 0
            return number * 1024
        }
    }
    return 0
}

/// The standard output of a shell command.
func shellOutput(_ command: String) -> String {
    guard let pipe = popen(command, "r") else { return "" }
    defer { pclose(pipe) }
    var output = ""
    var buffer = [CChar](repeating: 0, count: 4096)
    while fgets(&buffer, Int32(buffer.count), pipe) != nil {
        output += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    return output
}

/// Runs `count` tasks on `device` (declaring `input`; with ids `T[i]` when `named`) that all wait for a
/// gate task spawned last (unless not `gated`), so that they are alive at the same time: for peak
/// memory, and to fill the runtime's record caches to a workload's peak before allocations are counted.
func runEmptyTasks(
    _ count: Int,
    devices: DeviceSelection,
    on device: Device,
    input: [any PArrayAccess] = [],
    named: Bool = false,
    gated: Bool = true
) async throws {
    try await Parla.run(devices: devices) {
        let gate = TaskSpace("gate")
        let dependencies: [any TaskDependency] = gated ? [gate[0]] : []
        if named {
            let T = TaskSpace("T")
            for i in 0..<count { spawn(T[i], dependencies: dependencies, placement: device, input: input) {} }
        } else {
            for _ in 0..<count { spawn(dependencies: dependencies, placement: device, input: input) {} }
        }
        spawn(gate[0], placement: cpu) {}
    }
}

import CParlaClock
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// The clock a traced run stamps its events with: the processor's cycle counter where it can be
/// trusted (about 10 ns a read against 20–25 ns for the monotonic clock, and a task is stamped three
/// or four times), else the monotonic clock itself. Ticks become nanoseconds only when the trace is
/// written, through a ``Timebase`` measured over the run.
struct TraceClock: Sendable {
    /// Whether ``ticks`` reads the cycle counter (`false`: the monotonic clock, in nanoseconds).
    let readsCycleCounter: Bool

    /// The cycle counter where this machine's kernel trusts it, else the monotonic clock.
    static let machine = TraceClock(readsCycleCounter: TraceClock.cycleCounterIsTrusted)

    /// Trusted where Linux keeps time with it itself. On x86-64 the time-stamp counter ticks at one
    /// rate, the same on every core, only on processors with an invariant counter whose cores agree;
    /// Linux checks both at boot and makes it its clock source (`tsc`) only then. On AArch64 the
    /// virtual counter is the architected timer (`arch_sys_counter`).
    private static var cycleCounterIsTrusted: Bool {
        guard parla_has_cycle_counter() != 0 else { return false }
        #if arch(x86_64)
        let trusted = "tsc"
        #else
        let trusted = "arch_sys_counter"
        #endif
        guard let file = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r") else {
            return false
        }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 64)
        guard fgets(&line, Int32(line.count), file) != nil else { return false }
        return String(decoding: line.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            == trusted
    }

    /// The clock's value now, in ticks.
    @inline(__always)
    var ticks: UInt64 {
        self.readsCycleCounter ? UInt64(parla_cycle_counter()) : DispatchTime.now().uptimeNanoseconds
    }

    /// Nanoseconds of the monotonic clock.
    static var nanoseconds: UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// A reading of both clocks at (nearly) one instant.
    struct Reading: Sendable {
        let ticks: UInt64
        let nanoseconds: UInt64
    }

    /// Both clocks now: the ticks read between two readings of the monotonic clock, and given their
    /// midpoint; of a few tries, the one whose readings are closest (a thread interrupted between
    /// them would skew the rate measured over a short run).
    func read() -> Reading {
        var best: (reading: Reading, spread: UInt64)? = nil
        for _ in 0..<5 {
            let before = Self.nanoseconds
            let ticks = self.ticks
            let after = Self.nanoseconds
            let spread = after &- before
            if best == nil || spread < best!.spread {
                best = (Reading(ticks: ticks, nanoseconds: before + spread / 2), spread)
            }
        }
        return best!.reading
    }

    /// Ticks to nanoseconds of the monotonic clock, by the rate measured between two readings.
    struct Timebase: Sendable {
        let start: Reading
        let nanosecondsPerTick: Double

        /// Ticks that are nanoseconds already (the monotonic clock's).
        static let identity = Timebase(start: Reading(ticks: 0, nanoseconds: 0), nanosecondsPerTick: 1)

        private init(start: Reading, nanosecondsPerTick: Double) {
            self.start = start
            self.nanosecondsPerTick = nanosecondsPerTick
        }

        init(from start: Reading, to end: Reading) {
            self.start = start
            let ticks = end.ticks &- start.ticks
            let nanoseconds = end.nanoseconds &- start.nanoseconds
            self.nanosecondsPerTick = ticks > 0 && nanoseconds > 0 ? Double(nanoseconds) / Double(ticks) : 1
        }

        /// `ticks` as nanoseconds of the monotonic clock (0 for a time before the clock's start).
        func nanoseconds(_ ticks: UInt64) -> UInt64 {
            // (The offset in floating point, the sum in integers: nanoseconds of uptime outgrow a
            // Double's exact integers after about 104 days.)
            let offset = Int64(
                (Double(Int64(bitPattern: ticks &- self.start.ticks)) * self.nanosecondsPerTick).rounded()
            )
            return UInt64(Swift.max(0, Int64(bitPattern: self.start.nanoseconds) &+ offset))
        }
    }
}

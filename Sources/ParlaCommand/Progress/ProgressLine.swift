import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// One line of progress for long commands (benchmarks, `check-programs`, the Cholesky), shown only
/// when standard output is a terminal: it is redrawn in place (carriage return, erase to the end of the
/// line) at most ten times a second, and erased when the work is done, so that what the command prints
/// for good is all that stays. Piped or redirected output (a CI log, a test) gets none of it.
struct ProgressLine {
    /// What the work is, printed before the count.
    let title: String
    /// How many steps the work has (`nil`: unknown).
    let total: Int?
    /// The file descriptor the line goes to (`nil`: nowhere, output is not a terminal).
    private let output: Int32?
    /// Nanoseconds of a monotonic clock.
    private let clock: () -> UInt64
    private var lastDrawn: UInt64? = nil
    private var drawn = false

    /// A progress line for `total` steps of `title`, on standard output when it is a terminal (or,
    /// for tests, on the file descriptor `output`, timed by `clock`).
    init(
        _ title: String,
        total: Int?,
        output: Int32? = ProgressLine.terminalOutput,
        clock: @escaping () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }
    ) {
        self.title = title
        self.total = total
        self.output = output
        self.clock = clock
    }

    /// Standard output's descriptor when it is a terminal, else `nil`.
    static var terminalOutput: Int32? { self.terminal(STDOUT_FILENO) }

    /// `descriptor` when it is a terminal, else `nil`.
    static func terminal(_ descriptor: Int32) -> Int32? { isatty(descriptor) == 1 ? descriptor : nil }

    /// Whether anything is drawn.
    var isShown: Bool { self.output != nil }

    /// `done` steps are done (`detail` says more: failures so far, the step running); redrawn when the
    /// last drawing is a tenth of a second old, when the work is done, or when `now` (a new phase).
    mutating func update(_ done: Int, _ detail: @autoclosure () -> String = "", now force: Bool = false) {
        guard let output = self.output else { return }
        let now = self.clock()
        let due = self.lastDrawn.map { now &- $0 >= 100_000_000 } ?? true
        guard force || due || done == self.total else { return }
        self.lastDrawn = now
        let count = self.total.map { "\(done)/\($0)" } ?? "\(done)"
        let more = detail()
        var line = "\(self.title): \(count)\(more.isEmpty ? "" : ", " + more)"
        // (A line wider than the terminal would wrap, and erasing would clear only its last row.)
        let width = Self.columns(of: output)
        if line.count >= width { line = String(line.prefix(Swift.max(width - 2, 1))) + "…" }
        Self.write("\r\u{1B}[K" + line, to: output)
        self.drawn = true
    }

    /// Erases the line (what the command prints next starts on a clean line).
    mutating func finish() {
        guard let output = self.output, self.drawn else { return }
        Self.write("\r\u{1B}[K", to: output)
        self.drawn = false
    }

    /// The width of the terminal `descriptor` is, in columns (80 when it does not say).
    private static func columns(of descriptor: Int32) -> Int {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// Writes `text` to `descriptor`, after what `print` has buffered (which goes first).
    private static func write(_ text: String, to descriptor: Int32) {
        fflush(nil)
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset)
            }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}

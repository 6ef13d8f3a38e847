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
    private var lastDrawn: UInt64 = 0
    private var drawn = false

    /// A progress line for `total` steps of `title`, on standard output when it is a terminal (or,
    /// for tests, on the file descriptor `output`).
    init(_ title: String, total: Int?, output: Int32? = ProgressLine.terminalOutput) {
        self.title = title
        self.total = total
        self.output = output
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
        let now = DispatchTime.now().uptimeNanoseconds
        guard force || now &- self.lastDrawn >= 100_000_000 || done == self.total else { return }
        self.lastDrawn = now
        let count = self.total.map { "\(done)/\($0)" } ?? "\(done)"
        let more = detail()
        let line = "\(self.title): \(count)\(more.isEmpty ? "" : ", " + more)"
        Self.write("\r\u{1B}[K" + line, to: output)
        self.drawn = true
    }

    /// Erases the line (what the command prints next starts on a clean line).
    mutating func finish() {
        guard let output = self.output, self.drawn else { return }
        Self.write("\r\u{1B}[K", to: output)
        self.drawn = false
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
            guard written > 0 else { return }
            offset += written
        }
    }
}

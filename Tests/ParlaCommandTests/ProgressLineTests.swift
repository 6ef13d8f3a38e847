import Synchronization
import Testing

@testable import ParlaCommand

#if canImport(Glibc)
import Glibc
#endif

/// Long commands' progress line: drawn in place on a terminal, erased when the work is done, and never
/// drawn where the output is not a terminal (a pipe, a file: what CI and tests read).
@Suite("the progress line")
struct ProgressLineTests {
    /// A pipe: its read and write ends.
    private static func pipeEnds() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        return (ends[0], ends[1])
    }

    /// What has been written into the pipe so far (the write end closed).
    private static func drain(_ ends: (read: Int32, write: Int32)) -> String {
        close(ends.write)
        defer { close(ends.read) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(ends.read, &buffer, buffer.count)
            guard count > 0 else { break }
            bytes += buffer.prefix(count)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("a pipe is not a terminal: no line is drawn there")
    func notOnPipes() throws {
        let ends = try Self.pipeEnds()
        #expect(ProgressLine.terminal(ends.write) == nil)
        var progress = ProgressLine("programs", total: 3, output: ProgressLine.terminal(ends.write))
        #expect(!progress.isShown)
        for done in 1...3 { progress.update(done, "\(done) tasks", now: true) }
        progress.finish()
        #expect(Self.drain(ends).isEmpty)
    }

    @Test("on a terminal the line is redrawn in place, and erased at the end")
    func drawnInPlace() throws {
        let ends = try Self.pipeEnds()
        var progress = ProgressLine("programs", total: 10, output: ends.write)
        #expect(progress.isShown)
        progress.update(1, "5 tasks, 0 difference(s)", now: true)
        progress.update(2, "9 tasks, 0 difference(s)", now: true)
        progress.finish()
        let erase = "\r\u{1B}[K"
        #expect(
            Self.drain(ends)
                == erase + "programs: 1/10, 5 tasks, 0 difference(s)" + erase
                + "programs: 2/10, 9 tasks, 0 difference(s)"
                + erase
        )
    }

    @Test("updates closer than a tenth of a second are not drawn, except the last step")
    func throttled() throws {
        let ends = try Self.pipeEnds()
        let time = Mutex<UInt64>(1_000_000_000)
        var progress = ProgressLine("steps", total: 1000, output: ends.write, clock: { time.withLock { $0 } })
        for done in 1...999 {
            if done == 500 { time.withLock { $0 += 100_000_000 } }  // a tenth of a second later
            progress.update(done)
        }
        progress.update(1000)
        progress.finish()
        let erase = "\r\u{1B}[K"
        #expect(
            Self.drain(ends)
                == erase + "steps: 1/1000" + erase + "steps: 500/1000" + erase + "steps: 1000/1000" + erase
        )
    }

    @Test("a line wider than the terminal is cut to its width (a pipe counts as 80 columns)")
    func cutToWidth() throws {
        let ends = try Self.pipeEnds()
        var progress = ProgressLine("programs", total: 10, output: ends.write)
        progress.update(1, String(repeating: "x", count: 200), now: true)
        let text = Self.drain(ends)
        #expect(text.hasSuffix("…") && text.count == "\r\u{1B}[K".count + 79)
    }
}

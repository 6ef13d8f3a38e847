/// JSON text being written as UTF-8 bytes: numbers are formatted by hand (no `String` per value).
struct JSONBytes {
    var bytes: [UInt8] = []
    /// The run's start: times are microseconds from it.
    let origin: UInt64
    /// Whether an event was written (the next one is preceded by a comma and a new line).
    private var hasEvents = false

    init(origin: UInt64) { self.origin = origin }

    /// How many bytes are handed on at a time (see ``drainPiece(into:)``).
    static let pieceSize = 1 << 20

    /// Hands what is written so far to `emit` and starts again, once it fills a piece.
    mutating func drainPiece(into emit: ([UInt8]) -> Void) {
        guard self.bytes.count >= Self.pieceSize else { return }
        emit(self.bytes)
        self.bytes.removeAll(keepingCapacity: true)
    }

    /// Starts the next event of the list.
    mutating func separate() {
        if self.hasEvents { self.append(",\n") }
        self.hasEvents = true
    }

    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { self.bytes.append(contentsOf: $0) }
    }

    mutating func append(_ text: String) { self.bytes.append(contentsOf: text.utf8) }

    mutating func append(_ made: [UInt8]) { self.bytes.append(contentsOf: made) }

    mutating func append(_ value: Int) {
        if value < 0 {
            self.bytes.append(UInt8(ascii: "-"))
            self.appendDigits(UInt64(-value))
        } else {
            self.appendDigits(UInt64(value))
        }
    }

    private mutating func appendDigits(_ value: UInt64) {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        let start = self.bytes.count
        self.bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        self.bytes.withUnsafeMutableBufferPointer { bytes in
            var rest = value
            for position in (start..<(start + digits)).reversed() {
                bytes[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
        }
    }

    /// Microseconds from `start` (by default, the run's start) to `time`, with three decimals (0 when
    /// `time` is earlier).
    mutating func appendMicroseconds(_ time: UInt64, from start: UInt64? = nil) {
        let base = start ?? self.origin
        let nanoseconds = time >= base ? time - base : 0
        self.appendDigits(nanoseconds / 1000)
        let fraction = nanoseconds % 1000
        self.bytes.append(UInt8(ascii: "."))
        self.bytes.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        self.bytes.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        self.bytes.append(UInt8(ascii: "0") + UInt8(fraction % 10))
    }

    /// Starts a complete event (`"ph":"X"`) of category `category`, named `name` (a quoted JSON
    /// string), on track `tid` of process `pid`, from `start` to `end`, up to the opening of its `args`
    /// object (the caller writes the arguments and closes it with `}}`).
    mutating func beginSlice(
        _ category: StaticString,
        name: [UInt8],
        pid: Int,
        tid: Int,
        from start: UInt64,
        to end: UInt64
    ) {
        self.separate()
        self.append("{\"ph\":\"X\",\"cat\":\"")
        self.append(category)
        self.append("\",\"name\":")
        self.append(name)
        self.append(",\"pid\":")
        self.append(pid)
        self.append(",\"tid\":")
        self.append(tid)
        self.append(",\"ts\":")
        self.appendMicroseconds(start)
        self.append(",\"dur\":")
        self.appendMicroseconds(end, from: start)
        self.append(",\"args\":{")
    }

    /// `hundredths` / 100, with two decimals.
    mutating func appendHundredths(_ hundredths: Int) {
        self.append(hundredths / 100)
        self.bytes.append(UInt8(ascii: "."))
        self.bytes.append(UInt8(ascii: "0") + UInt8(hundredths % 100 / 10))
        self.bytes.append(UInt8(ascii: "0") + UInt8(hundredths % 10))
    }

    /// `text` as a JSON string, in bytes of its own (to be appended more than once).
    static func quoted(_ text: String) -> [UInt8] {
        var made = JSONBytes(origin: 0)
        made.appendQuoted(text)
        return made.bytes
    }

    /// `text` as a JSON string.
    mutating func appendQuoted(_ text: String) {
        self.bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): self.append("\\\"")
            case UInt8(ascii: "\\"): self.append("\\\\")
            case UInt8(ascii: "\n"): self.append("\\n")
            case UInt8(ascii: "\r"): self.append("\\r")
            case UInt8(ascii: "\t"): self.append("\\t")
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                self.append("\\u00")
                self.bytes.append(hex[Int(byte >> 4)])
                self.bytes.append(hex[Int(byte & 0xF)])
            default: self.bytes.append(byte)
            }
        }
        self.bytes.append(UInt8(ascii: "\""))
    }
}

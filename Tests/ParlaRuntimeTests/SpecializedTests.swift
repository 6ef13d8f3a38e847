import Synchronization
import Testing

@testable import Parla

/// Function variants: a call runs the variant of the architecture of the device the calling task runs
/// on, else the default.
@Suite("function variants (Specialized)")
struct SpecializedTests {
    /// Names the implementation that ran.
    static let which = Specialized { (tag: String) in "default \(tag)" }
        .variant(gpu) { tag in "gpu \(tag)" }

    @Test("the device's architecture picks the variant; the CPU without one of its own gets the default")
    func picksByDevice() async throws {
        let seen = Mutex<[String]>([])
        try await Parla.run(devices: .virtual(gpus: 2)) {
            spawn(placement: cpu) { seen.withLock { $0.append(Self.which("on cpu")) } }
            spawn(placement: gpu(1)) { seen.withLock { $0.append(Self.which("on gpu(1)")) } }
            spawn(placement: gpu) { seen.withLock { $0.append(Self.which("on any gpu")) } }
        }
        #expect(Set(seen.withLock { $0 }) == ["default on cpu", "gpu on gpu(1)", "gpu on any gpu"])
        // Outside tasks, the CPU's implementation.
        #expect(Self.which("outside") == "default outside")
    }

    @Test("a task placed on [cpu, gpu] runs the variant of the device it lands on")
    func eitherDevice() async throws {
        let seen = Mutex<[(Device, String)]>([])
        try await Parla.run(devices: .virtual(gpus: 2)) {
            for _ in 0..<16 {
                spawn(placement: [cpu, gpu]) { seen.withLock { $0.append((Device.current, Self.which("x"))) } }
            }
        }
        let runs = seen.withLock { $0 }
        #expect(runs.count == 16)
        for (device, result) in runs { #expect(result == (device.kind == .gpu ? "gpu x" : "default x")) }
    }

    @Test("a CPU variant, one body for several architectures, tuples of arguments")
    func variants() async throws {
        let add = Specialized { (a: Int, b: Int) in a + b }
            .variant(cpu) { a, b in 100 + a + b }
        let both = Specialized { (_: Int) in "default" }.variant(.cpu, .gpu) { _ in "both" }
        let seen = Mutex<[String: String]>([:])
        try await Parla.run(devices: .virtual(gpus: 1)) {
            spawn(placement: cpu) {
                seen.withLock {
                    $0["cpu add"] = "\(add((1, 2)))"
                    $0["cpu both"] = both(0)
                }
            }
            spawn(placement: gpu(0)) {
                seen.withLock {
                    $0["gpu add"] = "\(add((1, 2)))"
                    $0["gpu both"] = both(0)
                }
            }
        }
        #expect(seen.withLock { $0 } == ["cpu add": "103", "gpu add": "3", "cpu both": "both", "gpu both": "both"])
        #expect(add.hasVariant(for: .cpu) && !add.hasVariant(for: .gpu))
    }

    @Test("a variant for one GPU (not an architecture) stops, saying what to write")
    func variantForOneDevice() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Specialized { (x: Int) in x }.variant(gpu(1)) { x in x + 1 }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(
            text.contains(
                "variants are per architecture (cpu or gpu), not for one device: gpu(1) (write .variant(gpu))"
            ),
            "\(text.prefix(600))"
        )
    }
}

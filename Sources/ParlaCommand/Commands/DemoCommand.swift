import ArgumentParser
import Parla

/// `parla demo` (the default): a short tour of NDArray.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "A short demonstration of NDArray, Parla's N-dimensional array."
    )

    func run() {
        let a = NDArray([[1.0, 2.0], [3.0, 4.0]])
        print("a = NDArray([[1.0, 2.0], [3.0, 4.0]])")
        show("a", a)
        show("a.shape", a.shape)
        show("a.transposed", a.transposed)
        show("a[0]  (row 0, a view)", a[0])
        show("a[..., 1]  (column 1)", a[..., 1])
        show("sqrt(a) + 1", sqrt(a) + 1)
        show("a * NDArray([10.0, 100.0])  (broadcast)", a * NDArray([10.0, 100.0]))
        show("a.sum()", a.sum())
        show("a.sum(axis: 0)", a.sum(axis: 0))
        show("a.argmax(axis: 1)", a.argmax(axis: 1))
        show("matmul(a, a)", matmul(a, a))
        var b = a
        b[0, 1] = 20
        show("b = a; b[0, 1] = 20 -> b", b)
        show("a is unchanged (value semantics)", a)
        let r = NDArray<Float>.random([2, 3], seed: 42)
        show("NDArray<Float>.random([2, 3], seed: 42)", r)
        show("NDArray<Int>.arange(2000).reshaped([40, 50])  (elided)", NDArray<Int>.arange(2000).reshaped([40, 50]))
    }

    private func show(_ label: String, _ value: some CustomStringConvertible) {
        print("\(label):\n  \(value)")
    }
}

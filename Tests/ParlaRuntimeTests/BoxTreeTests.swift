import ParlaChecks
import Testing

@testable import Parla

@Suite("spatial index of boxes")
struct BoxTreeTests {
    /// Random boxes inserted and removed (by region, by value, all at once), each search checked
    /// against a plain list of the same entries, and the tree's invariants after every change.
    @Test("random inserts, searches and removals agree with a list", arguments: [0, 1, 2, 3, 6])
    func agreesWithList(rank: Int) {
        for program in 0..<30 {
            let seed = UInt64(rank * 1_000 + program)
            var random = ProgramRandom(seed: seed)
            let shape = (0..<rank).map { _ in random.int(1...(rank == 1 ? 400 : rank == 2 ? 40 : rank == 3 ? 12 : 4)) }
            var tree = BoxTree<Int>(rank: rank)
            var list: [(box: Box, value: Int)] = []
            var next = 0
            for step in 0..<random.int(50...600) {
                let query = random.box(in: shape)
                switch random.int(0...9) {
                case 0...5:
                    tree.insert(query, next)
                    list.append((query, next))
                    next += 1
                case 6, 7:
                    let parity = random.int(0...1)
                    let removed = tree.remove(intersecting: query) { box, value in
                        value % 2 == parity && query.contains(box)
                    }
                    let expected = list.filter { $0.value % 2 == parity && query.contains($0.box) }
                    list.removeAll { $0.value % 2 == parity && query.contains($0.box) }
                    #expect(Set(removed.map(\.value)) == Set(expected.map(\.value)), "seed \(seed) step \(step)")
                case 8:
                    let removed = tree.remove(intersecting: nil) { _, value in value % 7 == step % 7 }
                    #expect(removed.allSatisfy { $0.value % 7 == step % 7 })
                    list.removeAll { $0.value % 7 == step % 7 }
                default:
                    var found: [Int] = []
                    tree.forEach(intersecting: query) { box, value in
                        #expect(box.intersection(query) != nil)
                        found.append(value)
                        return true
                    }
                    let expected = list.filter { $0.box.intersection(query) != nil }.map(\.value)
                    #expect(found.sorted() == expected.sorted(), "seed \(seed) step \(step)")
                }
                if let problem = tree.invariantViolation() {
                    Issue.record("seed \(seed) step \(step): \(problem)")
                    return
                }
                #expect(tree.count == list.count)
            }
            let all = tree.entries
            #expect(Set(all.map(\.value)) == Set(list.map(\.value)))
            for entry in all { #expect(list.contains { $0.value == entry.value && $0.box == entry.box }) }
        }
    }

    @Test("a copy is a value: changing one leaves the other as it was")
    func copyOnWrite() {
        var tree = BoxTree<Int>(rank: 1)
        for i in 0..<200 { tree.insert(Box(lower: [i], upper: [i + 1]), i) }
        let copy = tree
        tree.remove(intersecting: Box(lower: [50], upper: [150])) { _, _ in true }
        for i in 200..<300 { tree.insert(Box(lower: [i], upper: [i + 1]), i) }
        #expect(copy.count == 200)
        #expect(Set(copy.entries.map(\.value)) == Set(0..<200))
        #expect(tree.count == 200)
        #expect(Set(tree.entries.map(\.value)) == Set(0..<50).union(150..<300))
        #expect(copy.invariantViolation() == nil)
        #expect(tree.invariantViolation() == nil)
    }

    @Test("a search for one box among 100,000 rows looks at a few nodes")
    func searchesAreLogarithmic() {
        var tree = BoxTree<Int>(rank: 2)
        for i in 0..<100_000 { tree.insert(Box(lower: [i, 0], upper: [i + 1, 8]), i) }
        #expect(tree.invariantViolation() == nil)
        var found: [Int] = []
        let visits = tree.forEach(intersecting: Box(lower: [54_321, 2], upper: [54_322, 3])) { _, value in
            found.append(value)
            return true
        }
        #expect(found == [54_321])
        // log16(100,000) ≈ 4.2 levels of at most 16 entries each, and a few neighbours' nodes.
        #expect(visits < 400, "visited \(visits)")
    }

    @Test("boxes keep up to 8 axes with bounds up to 2^32 - 1 inline, and agree with their arrays")
    func wideAndDeepBoxes() {
        let top = Box.maximumExtent
        let a = Box(lower: [0, top - 5, 1, 0, 0, 2, 0, 7], upper: [3, top, 4, 1, 2, 3, 9, 8])
        #expect(a.lower == [0, top - 5, 1, 0, 0, 2, 0, 7])
        #expect(a.upper == [3, top, 4, 1, 2, 3, 9, 8])
        #expect(a.count == 3 * 5 * 3 * 1 * 2 * 1 * 9 * 1)
        var b = a
        b.setRange(1, top - 2, top)
        #expect(a.intersection(b) == b && a.contains(b) && !b.contains(a))
        #expect(a.subtracting(b).map(\.count).reduce(0, +) == a.count - b.count)
        var c = a
        c.setRange(0, 3, 5)
        #expect(a.merged(with: c)?.lower[0] == 0 && a.merged(with: c)?.upper[0] == 5)
        #expect(Set([a, b, c, a]).count == 3)
        #expect(Box(shape: [1, 2, 3, 4, 5, 6, 7, 8]).count == 40_320)
    }
}

import ParlaDevices
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension BoxTree {
    /// A node: a leaf holds values, an inner node holds subtrees one level down, each entry with its
    /// box (a leaf's entry) or its subtree's bounding box.
    final class Node {
        // The stored properties are `@exclusivity(unchecked)`: a node is changed only by the one owner
        // of its tree, through a path of nodes that tree alone references (see the `Sendable` note
        // below), and no access to a node's property overlaps another to the same node; the dynamic
        // checks cost a tenth of a search.

        /// 0 for a leaf, else one more than its children's.
        let height: Int
        /// Per entry: its box (in a leaf), or its child's bounding box.
        @exclusivity(unchecked) var boxes: [Box] = []
        /// An inner node's subtrees.
        @exclusivity(unchecked) var children: [Node] = []
        /// A leaf's values.
        @exclusivity(unchecked) var values: [Value] = []

        #if PARLA_INTERNAL_CHECKS
        /// The thread changing the node (0: none), tracked in builds with internal checks: two threads
        /// changing one node at once break the rule the unchecked properties rest on.
        let changer = Atomic<UInt>(0)
        #endif

        /// Marks the start of a change by the calling thread (stopping, in builds with internal checks,
        /// when another thread is changing the node); hand the result to ``endChange(_:)``.
        @inline(__always)
        func beginChange() -> UInt {
            #if PARLA_INTERNAL_CHECKS
            let me = UInt(pthread_self())
            let previous = self.changer.exchange(me, ordering: .acquiringAndReleasing)
            parlaInvariant(
                previous == 0 || previous == me,
                "two threads changed one node of a box index at once (its properties are unchecked for exclusivity because only the index's owner changes them)"
            )
            return previous
            #else
            return 0
            #endif
        }

        /// Marks the end of a change begun by ``beginChange()``.
        @inline(__always)
        func endChange(_ previous: UInt) {
            #if PARLA_INTERNAL_CHECKS
            if previous == 0 { self.changer.store(0, ordering: .releasing) }
            #endif
        }

        init(height: Int) {
            self.height = height
            // Room for a full node and the entry that splits it, so that entries come and go in place.
            self.boxes.reserveCapacity(BoxTree.maximumFill + 1)
            if height == 0 {
                self.values.reserveCapacity(BoxTree.maximumFill + 1)
            } else {
                self.children.reserveCapacity(BoxTree.maximumFill + 1)
            }
        }

        /// A node with the same entries (sharing the subtrees), for a mutation of a shared tree.
        func copy() -> Node {
            let copy = Node(height: self.height)
            copy.boxes.append(contentsOf: self.boxes)
            copy.children.append(contentsOf: self.children)
            copy.values.append(contentsOf: self.values)
            return copy
        }

        /// The number of entries.
        var count: Int { self.boxes.count }

        /// The number of nodes of this subtree.
        var nodeCount: Int { 1 + self.children.reduce(0) { $0 + $1.nodeCount } }

        /// The box around every entry (of a node with entries).
        func boundingBox() -> Box {
            var bounds = self.boxes[0]
            self.boxes.withUnsafeBufferPointer { boxes in
                for index in 1..<boxes.count {
                    for axis in 0..<bounds.rank {
                        bounds.setRange(
                            axis,
                            Swift.min(bounds.lowerBound(axis), boxes[index].lowerBound(axis)),
                            Swift.max(bounds.upperBound(axis), boxes[index].upperBound(axis))
                        )
                    }
                }
            }
            return bounds
        }

        func append(_ entry: Entry, box: Box) {
            self.boxes.append(box)
            switch entry {
            case .value(let value): self.values.append(value)
            case .node(let node): self.children.append(node)
            }
        }

        /// Removes entry `index`, moving the last entry into its place.
        func removeEntry(at index: Int) {
            let last = self.count - 1
            self.boxes.swapAt(index, last)
            self.boxes.removeLast()
            if self.height == 0 {
                self.values.swapAt(index, last)
                self.values.removeLast()
            } else {
                self.children.swapAt(index, last)
                self.children.removeLast()
            }
        }

        // MARK: Searching

        /// See ``BoxTree/forEach(intersecting:_:)``; returns `false` once `body` has.
        func forEach(intersecting query: Box, visits: inout Int, _ body: (Box, Value) -> Bool) -> Bool {
            visits += 1 + self.count
            // The entries meeting the query first (a node has at most `maximumFill` < 64 of them),
            // then the calls (which may look at other nodes).
            var meeting: UInt64 = 0
            self.boxes.withUnsafeBufferPointer { boxes in
                for index in boxes.indices where boxes[index].intersects(query) { meeting |= 1 << UInt64(index) }
            }
            while meeting != 0 {
                let index = meeting.trailingZeroBitCount
                meeting &= meeting - 1
                if self.height == 0 {
                    if !body(self.boxes[index], self.values[index]) { return false }
                } else if !self.children[index].forEach(intersecting: query, visits: &visits, body) {
                    return false
                }
            }
            return true
        }

        func forEachEntry(_ body: (Box, Value) -> Void) {
            for index in 0..<self.count {
                if self.height == 0 {
                    body(self.boxes[index], self.values[index])
                } else {
                    self.children[index].forEachEntry(body)
                }
            }
        }

        // MARK: Inserting

        /// Adds `entry` to the node of height `target` below this one whose box grows least; returns
        /// the new sibling when this node split.
        func insert(_ entry: Entry, box: Box, atHeight target: Int, visits: inout Int) -> Node? {
            let change = self.beginChange()
            defer { self.endChange(change) }
            visits += 1
            if self.height == target {
                self.append(entry, box: box)
            } else {
                let index = self.childToGrow(for: box, visits: &visits)
                if !isKnownUniquelyReferenced(&self.children[index]) {
                    self.children[index] = self.children[index].copy()
                }
                let child = self.children[index]
                if let sibling = child.insert(entry, box: box, atHeight: target, visits: &visits) {
                    self.boxes[index] = child.boundingBox()
                    self.append(.node(sibling), box: sibling.boundingBox())
                } else {
                    var grown = self.boxes[index]
                    for axis in 0..<grown.rank {
                        grown.setRange(
                            axis,
                            Swift.min(grown.lowerBound(axis), box.lowerBound(axis)),
                            Swift.max(grown.upperBound(axis), box.upperBound(axis))
                        )
                    }
                    self.boxes[index] = grown
                }
            }
            return self.count > BoxTree.maximumFill ? self.split() : nil
        }

        /// The entry whose box grows least (then: is smallest) to take in `box`.
        private func childToGrow(for box: Box, visits: inout Int) -> Int {
            visits += self.count
            return self.boxes.withUnsafeBufferPointer { boxes in
                var best = 0
                var bestGrowth = Int.max
                var bestVolume = Int.max
                for index in boxes.indices {
                    var volume = 1
                    var grown = 1
                    for axis in 0..<box.rank {
                        let lower = boxes[index].lowerBound(axis)
                        let upper = boxes[index].upperBound(axis)
                        volume &*= upper - lower
                        grown &*= Swift.max(upper, box.upperBound(axis)) - Swift.min(lower, box.lowerBound(axis))
                    }
                    let growth = grown &- volume
                    if growth < bestGrowth || (growth == bestGrowth && volume < bestVolume) {
                        best = index
                        bestGrowth = growth
                        bestVolume = volume
                    }
                }
                return best
            }
        }

        /// Moves the upper half of the entries, by their centres along the axis where those are most
        /// spread out, to a new node, which it returns.
        private func split() -> Node {
            let count = self.count
            let rank = self.boxes[0].rank
            func centre(_ index: Int, _ axis: Int) -> Int {
                self.boxes[index].lowerBound(axis) + self.boxes[index].upperBound(axis)
            }
            var axis = 0
            var widest = -1
            for candidate in 0..<rank {
                var low = Int.max
                var high = Int.min
                for index in 0..<count {
                    low = Swift.min(low, centre(index, candidate))
                    high = Swift.max(high, centre(index, candidate))
                }
                if high - low > widest {
                    widest = high - low
                    axis = candidate
                }
            }
            // (Boxes of no axes, of an array of one element, split in the order they came.)
            let order =
                rank == 0
                ? Array(0..<count)
                : (0..<count).sorted { a, b in
                    centre(a, axis) != centre(b, axis) ? centre(a, axis) < centre(b, axis) : a < b
                }
            let kept = Node(height: self.height)
            let sibling = Node(height: self.height)
            for (position, index) in order.enumerated() {
                let entry: Entry = self.height == 0 ? .value(self.values[index]) : .node(self.children[index])
                (position < count / 2 ? kept : sibling).append(entry, box: self.boxes[index])
            }
            self.boxes.removeAll(keepingCapacity: true)
            self.boxes.append(contentsOf: kept.boxes)
            self.values.removeAll(keepingCapacity: true)
            self.values.append(contentsOf: kept.values)
            self.children.removeAll(keepingCapacity: true)
            self.children.append(contentsOf: kept.children)
            return sibling
        }

        // MARK: Removing

        /// See ``BoxTree/remove(intersecting:where:)``: removes the picked entries below this node
        /// (which the caller has made its own), takes out children left with fewer than
        /// ``BoxTree/minimumFill`` entries into `orphans`, and returns whether anything changed.
        func remove(
            intersecting query: Box?,
            removed: inout [(box: Box, value: Value)],
            orphans: inout [Node],
            visits: inout Int,
            _ shouldRemove: (Box, Value) -> Bool
        ) -> Bool {
            let change = self.beginChange()
            defer { self.endChange(change) }
            visits += 1
            var changed = false
            var index = 0
            while index < self.count {
                visits += 1
                if let query, !self.boxes[index].intersects(query) {
                    index += 1
                    continue
                }
                if self.height == 0 {
                    let box = self.boxes[index]
                    if shouldRemove(box, self.values[index]) {
                        removed.append((box, self.values[index]))
                        self.removeEntry(at: index)
                        changed = true
                        continue
                    }
                } else {
                    if !isKnownUniquelyReferenced(&self.children[index]) {
                        self.children[index] = self.children[index].copy()
                    }
                    let child = self.children[index]
                    if child.remove(
                        intersecting: query,
                        removed: &removed,
                        orphans: &orphans,
                        visits: &visits,
                        shouldRemove
                    ) {
                        changed = true
                        if child.count < BoxTree.minimumFill {
                            self.removeEntry(at: index)
                            if child.count > 0 { orphans.append(child) }
                            continue
                        }
                        self.boxes[index] = child.boundingBox()
                    }
                }
                index += 1
            }
            return changed
        }

        // MARK: Checking

        func invariantViolation(isRoot: Bool, entries: inout Int) -> String? {
            if !isRoot && (self.count < BoxTree.minimumFill || self.count > BoxTree.maximumFill) {
                return "a node of height \(self.height) has \(self.count) entries"
            }
            if self.height == 0 {
                if self.values.count != self.count { return "a leaf's values do not match its boxes" }
                entries += self.count
                return nil
            }
            if self.children.count != self.count { return "a node's children do not match its boxes" }
            for (index, child) in self.children.enumerated() {
                if child.height != self.height - 1 { return "a child of height \(child.height) under \(self.height)" }
                if self.boxes[index] != child.boundingBox() { return "a child's recorded box is not its bounding box" }
                if let problem = child.invariantViolation(isRoot: false, entries: &entries) { return problem }
            }
            return nil
        }
    }
}

extension BoxTree.Node: @unchecked Sendable where Value: Sendable {
    // @unchecked Sendable: a node is mutated only through a path of nodes its tree references
    // uniquely (each mutation copies the shared nodes on its path first), so a node two threads can
    // reach is never mutated.
}

/// Boxes of one rank, each with a value, found by the boxes they intersect: an R-tree.
///
/// The coherence protocol keeps an array's pieces in one, and every array keeps the accesses that
/// order later tasks in two, so that a task touching one region of an array cut into 100,000 costs
/// about what it costs with 1,000: a search visits the nodes whose bounding boxes meet the region (a
/// logarithmic number when the boxes are spread out, as rows and tiles are), not every entry.
///
/// Nodes hold at most ``maximumFill`` entries; a full node splits at the median of its entries'
/// centres along the axis where they are most spread out. A node left with fewer than ``minimumFill``
/// entries by a removal is taken out, and its entries are inserted again at their height (Guttman's
/// R-tree, 1984).
///
/// The tree is a value: copies share their nodes, and a mutation copies the nodes on its path that are
/// shared (copy on write), so a copy of the protocol costs nothing until one of the two changes.
///
/// Mutations count the nodes and entries they look at in ``visits``, which the tests use to show the
/// work per access growing no faster than the logarithm of the number of entries.
struct BoxTree<Value> {
    /// The most entries a node holds; one more splits it.
    static var maximumFill: Int { 16 }

    /// The fewest entries a node other than the root keeps; one fewer takes it out of the tree.
    static var minimumFill: Int { 4 }

    /// The number of axes of every box.
    let rank: Int

    /// The number of entries.
    private(set) var count = 0

    /// Nodes and entries looked at by mutations so far.
    private(set) var visits = 0

    /// The top node (readable by the checks' tests; changed only through the tree's methods).
    private(set) var root: Node

    /// An empty tree of boxes with `rank` axes.
    init(rank: Int) {
        self.rank = rank
        self.root = Node(height: 0)
    }

    /// Whether the tree has no entries.
    var isEmpty: Bool { self.count == 0 }

    /// The number of levels of nodes (1 for a tree that is one leaf).
    var height: Int { self.root.height + 1 }

    /// The number of nodes (what the tree's memory grows with, besides its entries).
    var nodeCount: Int { self.root.nodeCount }

    // MARK: Searching

    /// Calls `body` with every entry whose box meets `query`, until it returns `false`. Returns the
    /// number of nodes and entries looked at.
    @discardableResult
    func forEach(intersecting query: Box, _ body: (Box, Value) -> Bool) -> Int {
        parlaPrecondition(
            query.rank == self.rank,
            "a box of rank \(query.rank) searched in a tree of rank \(self.rank)"
        )
        var visits = 0
        _ = self.root.forEach(intersecting: query, visits: &visits, body)
        return visits
    }

    /// Calls `body` with every entry.
    func forEachEntry(_ body: (Box, Value) -> Void) {
        self.root.forEachEntry(body)
    }

    /// Every entry, in the tree's order.
    var entries: [(box: Box, value: Value)] {
        var all: [(box: Box, value: Value)] = []
        all.reserveCapacity(self.count)
        self.forEachEntry { all.append(($0, $1)) }
        return all
    }

    // MARK: Changing

    /// Adds an entry (boxes may overlap; the same box may be added more than once).
    ///
    /// - Precondition: `box` has ``rank`` axes.
    mutating func insert(_ box: Box, _ value: Value) {
        parlaPrecondition(box.rank == self.rank, "a box of rank \(box.rank) in a tree of rank \(self.rank)")
        self.insert(.value(value), box: box, atHeight: 0)
        self.count += 1
    }

    /// Removes the entries whose box meets `query` (every entry when it is `nil`) and that
    /// `shouldRemove` picks; returns them.
    @discardableResult
    mutating func remove(
        intersecting query: Box?,
        where shouldRemove: (Box, Value) -> Bool
    ) -> [(box: Box, value: Value)] {
        parlaPrecondition(
            query.map { $0.rank == self.rank } ?? true,
            "a box of rank \(query?.rank ?? 0) searched in a tree of rank \(self.rank)"
        )
        if !isKnownUniquelyReferenced(&self.root) { self.root = self.root.copy() }
        var removed: [(box: Box, value: Value)] = []
        var orphans: [Node] = []
        _ = self.root.remove(
            intersecting: query,
            removed: &removed,
            orphans: &orphans,
            visits: &self.visits,
            shouldRemove
        )
        self.count -= removed.count
        self.shrinkRoot()
        // Underfull nodes taken out: their entries go back in at their height. An orphan taller than
        // what is left of the tree becomes its root, and the old root's entries go in below it.
        for orphan in orphans.sorted(by: { $0.height > $1.height }) {
            if self.root.count == 0 {
                self.root = orphan
                continue
            }
            var entries = orphan
            if orphan.height > self.root.height {
                entries = self.root
                self.root = orphan
            }
            for index in 0..<entries.count {
                let entry: Entry = entries.height == 0 ? .value(entries.values[index]) : .node(entries.children[index])
                self.insert(entry, box: entries.boxes[index], atHeight: entries.height)
            }
        }
        self.shrinkRoot()
        return removed
    }

    /// Removes every entry.
    mutating func removeAll() {
        if self.count == 0 { return }
        if self.root.height == 0 && isKnownUniquelyReferenced(&self.root) {
            // (In place: a tree emptied and refilled often, as the accesses to an array are, keeps
            // its root's room instead of allocating a new one.)
            self.root.boxes.removeAll(keepingCapacity: true)
            self.root.values.removeAll(keepingCapacity: true)
        } else {
            self.root = Node(height: 0)
        }
        self.count = 0
    }

    /// An entry on its way into a node: a value (into a leaf) or a subtree (into a node one above it).
    enum Entry {
        case value(Value)
        case node(Node)
    }

    private mutating func insert(_ entry: Entry, box: Box, atHeight height: Int) {
        if !isKnownUniquelyReferenced(&self.root) { self.root = self.root.copy() }
        guard let sibling = self.root.insert(entry, box: box, atHeight: height, visits: &self.visits) else { return }
        let grown = Node(height: self.root.height + 1)
        grown.append(.node(self.root), box: self.root.boundingBox())
        grown.append(.node(sibling), box: sibling.boundingBox())
        self.root = grown
    }

    /// A root with one child gives way to it; an inner root with none becomes an empty leaf.
    private mutating func shrinkRoot() {
        while self.root.height > 0 && self.root.children.count == 1 { self.root = self.root.children[0] }
        if self.root.height > 0 && self.root.children.isEmpty { self.root = Node(height: 0) }
    }

    // MARK: Checking

    /// The first broken invariant, if any: every node's recorded bounds are exactly its child's
    /// bounding box, leaves are all at height 0, no node but the root has fewer than ``minimumFill``
    /// entries or more than ``maximumFill``, and ``count`` is the number of entries.
    func invariantViolation() -> String? {
        var entries = 0
        if let problem = self.root.invariantViolation(isRoot: true, entries: &entries) {
            return problem
        }
        return entries == self.count ? nil : "count \(self.count), but \(entries) entries"
    }
}

extension BoxTree: Sendable where Value: Sendable {}

import ParlaDevices

/// The coherence state of a region's copy on one device. Parla (Python) equivalent: the MSI states of
/// `parray.coherence`.
public enum CoherenceState: Hashable, Sendable, CustomStringConvertible {
    /// The device has no valid copy of (all of) the region.
    case invalid
    /// The device's copy is valid, and other devices hold valid copies too.
    case shared
    /// The device holds the only valid copy of the region.
    case modified

    public var description: String {
        switch self {
        case .invalid: return "invalid"
        case .shared: return "shared"
        case .modified: return "modified"
        }
    }
}

/// How a task uses a region. Parla (Python) equivalent: the `input`, `output` and `inout` lists.
public enum AccessMode: Hashable, Sendable, CustomStringConvertible {
    /// Read only.
    case input
    /// Written entirely without being read: the old contents need not move.
    case output
    /// Read and written.
    case inOut

    /// Whether the access writes.
    public var writes: Bool { self != .input }

    /// Whether the access needs the current contents.
    public var reads: Bool { self != .output }

    public var description: String {
        switch self {
        case .input: return "input"
        case .output: return "output"
        case .inOut: return "inOut"
        }
    }
}

/// The coherence protocol of one array, as a pure state machine: given an access (region, device,
/// mode), it says which pieces to copy from where, and updates which devices hold valid data for every
/// part of the array. It does no I/O; the data mover carries the copies out.
///
/// The array is partitioned into disjoint boxes ("pieces"); each piece records the devices holding a
/// valid copy of its elements. Accesses split pieces at their region's edges, so overlapping and
/// nested regions (`A[0]` with `A[0..<2]`, `A[0]` with `A[0, 1...]`, a region with the whole array)
/// stay exact, and neighbouring pieces with the same holders merge again (a write of the whole array
/// leaves one piece).
///
/// The pieces live in a spatial index (an R-tree), so an access costs time in proportion to the
/// pieces it touches and the logarithm of their number, not to all of them: an array cut into 100,000
/// rows or tiles costs about what one cut into 1,000 does per access.
public struct CoherenceProtocol: Sendable, CustomStringConvertible {
    /// A box of the array and the devices with a valid copy of it (never empty).
    public struct Piece: Hashable, Sendable {
        /// The positions.
        public var box: Box
        /// The devices whose copy of these positions is valid.
        public var holders: Set<Device>
    }

    /// One copy the data mover must make: the elements of `box` from `source` to `destination`.
    public struct Copy: Hashable, Sendable, CustomStringConvertible {
        /// The positions to copy.
        public var box: Box
        /// Where a valid copy is.
        public var source: Device
        /// Where it goes.
        public var destination: Device

        public var description: String { "\(self.box) \(self.source) -> \(self.destination)" }
    }

    /// The array's shape.
    public let shape: [Int]

    /// The whole array.
    public let whole: Box

    /// The pieces, by box, with their holders.
    var index: BoxTree<DeviceSet>

    /// Per device (by ``DeviceSet`` bit position): how many elements its copy holds validly, so that
    /// whether the whole array is valid somewhere is known without looking at the pieces.
    private var heldElements: [Int] = []

    /// Index entries looked at by searches that did not change the pieces (the index counts the rest).
    private var searchVisits = 0

    /// An array whose only valid copy is on `home`.
    public init(shape: [Int], home: Device) {
        self.shape = shape
        self.whole = Box(shape: shape)
        self.index = BoxTree(rank: shape.count)
        self.add(self.whole, heldBy: DeviceSet(home))
    }

    /// The current partition, ordered by the pieces' first positions.
    public var pieces: [Piece] {
        self.index.entries
            .sorted { $0.box.startsBefore($1.box) }
            .map { Piece(box: $0.box, holders: $0.value.devices) }
    }

    /// The number of pieces.
    public var pieceCount: Int { self.index.count }

    /// Index nodes and entries looked at by every access so far (for tests of the cost per access).
    var visits: Int { self.searchVisits + self.index.visits }

    // MARK: Accesses

    /// Applies an access of `region` on `device`: returns the copies that must complete before the
    /// access. Reads gather the region's freshest pieces from wherever they are, each from the holder
    /// with the fastest link to `device` in `links` (see ``bestSource(_:for:links:)``); writes leave
    /// `device` the only holder of the region; `output` copies nothing in.
    public mutating func access(
        _ region: Box,
        on device: Device,
        mode: AccessMode,
        links: DeviceLinks = .uniform
    ) -> [Copy] {
        var earlier: [(box: Box, holders: DeviceSet)]? = nil
        return self.access(region, on: device, mode: mode, links: links, earlier: &earlier)
    }

    /// ``access(_:on:mode:links:)``, also giving, when `earlier` is not `nil`, the region's pieces
    /// before the access (a ``snapshot(of:)`` taken on the way).
    mutating func access(
        _ region: Box,
        on device: Device,
        mode: AccessMode,
        links: DeviceLinks,
        earlier: inout [(box: Box, holders: DeviceSet)]?
    ) -> [Copy] {
        parlaPrecondition(self.whole.contains(region), "region \(region) is outside the array's shape \(self.shape)")
        if region.isEmpty { return [] }
        let target = DeviceSet(device)
        // A piece changes unless the device already holds it (for a read), or holds it alone (for a
        // write): then its part inside the region would get the holders its part outside keeps. Only
        // the pieces that change are taken out (none, in the common case of a task whose data is in
        // place), in the same walk that finds them all.
        let keepEarlier = earlier != nil
        earlier?.removeAll(keepingCapacity: true)
        let changing = self.index.remove(intersecting: region) { box, holders in
            if keepEarlier { earlier!.append((box.intersection(region)!, holders)) }
            return mode.writes ? holders != target : holders.mask & target.mask == 0
        }
        if changing.isEmpty { return [] }
        var copies: [Copy] = []
        var cut: [(box: Box, holders: DeviceSet)] = []
        for (box, holders) in changing {
            self.count(box, heldBy: holders, sign: -1)
            for outside in box.subtracting(region) { cut.append((outside, holders)) }
            let inside = box.intersection(region)!
            if mode.reads && holders.mask & target.mask == 0 {
                copies.append(
                    Copy(box: inside, source: Self.bestSource(holders, for: device, links: links), destination: device)
                )
            }
            var now = target
            if !mode.writes { now.mask |= holders.mask }
            cut.append((inside, now))
        }
        self.addMerging(cut)
        self.checkInvariants(around: region)
        return copies
    }

    /// The copies ``access(_:on:mode:links:)`` would return, without applying the access.
    public func copies(for region: Box, on device: Device, mode: AccessMode, links: DeviceLinks = .uniform) -> [Copy] {
        guard mode.reads, !region.isEmpty else { return [] }
        let target = DeviceSet(device)
        var copies: [Copy] = []
        self.index.forEach(intersecting: region) { box, holders in
            if holders.mask & target.mask == 0 {
                copies.append(
                    Copy(
                        box: box.intersection(region)!,
                        source: Self.bestSource(holders, for: device, links: links),
                        destination: device
                    )
                )
            }
            return true
        }
        return copies
    }

    // MARK: Queries

    /// The state of `region` on `device`: invalid unless every element is valid there; modified when
    /// the device is the only holder of all of it.
    public func state(of region: Box, on device: Device) -> CoherenceState {
        let target = DeviceSet(device)
        var state = CoherenceState.modified
        self.index.forEach(intersecting: region) { _, holders in
            if holders.mask & target.mask == 0 {
                state = .invalid
                return false
            }
            if holders != target { state = .shared }
            return true
        }
        return state
    }

    /// How many elements `device`'s copy holds validly (kept as pieces change).
    func heldElementCount(on device: Device) -> Int {
        let position = DeviceSet.position(of: device)
        return position < self.heldElements.count ? self.heldElements[position] : 0
    }

    /// Whether `device` holds a valid copy of every element (without looking at the pieces).
    public func holdsWhole(on device: Device) -> Bool {
        let position = DeviceSet.position(of: device)
        return position < self.heldElements.count && self.heldElements[position] == self.whole.count
    }

    /// The devices holding a valid copy of every element of `region`.
    public func holders(of region: Box) -> Set<Device> {
        var all: DeviceSet? = nil
        self.index.forEach(intersecting: region) { _, holders in
            all = all.map { $0.intersection(holders) } ?? holders
            return true
        }
        return all?.devices ?? []
    }

    /// Whether `device` holds a valid copy of some element of `region`.
    func holdsAny(of region: Box, on device: Device) -> Bool {
        var found = false
        self.index.forEach(intersecting: region) { _, holders in
            found = holders.contains(device)
            return !found
        }
        return found
    }

    // MARK: Eviction, failure and replacement

    /// Drops `device`'s copy. With `keepOneCopy`, pieces only `device` holds are first copied to
    /// `fallback` (returned copies); without it such data is lost and the eviction is refused
    /// (`nil`), so that nothing valid disappears.
    public mutating func evict(_ device: Device, keepOneCopy: Bool = true, fallback: Device = .cpu) -> [Copy]? {
        let target = DeviceSet(device)
        var loses = false
        self.index.forEachEntry { _, holders in loses = loses || holders == target }
        if loses && (!keepOneCopy || fallback == device) { return nil }
        var copies: [Copy] = []
        var changed: [(box: Box, holders: DeviceSet)] = []
        for (box, holders) in self.index.remove(intersecting: nil, where: { $1.contains(device) }) {
            self.count(box, heldBy: holders, sign: -1)
            if holders == target {
                copies.append(Copy(box: box, source: device, destination: fallback))
                changed.append((box, DeviceSet(fallback)))
            } else {
                var rest = holders
                rest.remove(device)
                changed.append((box, rest))
            }
        }
        self.addMerging(changed)
        self.checkInvariants(around: nil)
        return copies
    }

    /// The pieces of `region` as they are now, to put back with ``restore(_:from:overwritten:present:)``.
    func snapshot(of region: Box) -> [(box: Box, holders: DeviceSet)] {
        var pieces: [(box: Box, holders: DeviceSet)] = []
        // (A region of the array before `update` changed its number of axes has nothing to put back.)
        guard region.rank == self.whole.rank else { return [] }
        self.index.forEach(intersecting: region) { box, holders in
            pieces.append((box.intersection(region)!, holders))
            return true
        }
        return pieces
    }

    /// Puts back the holders `earlier` (a ``snapshot(of:)`` of `region`) gave, except `overwritten`
    /// where another device also held a piece (a task that fails leaves the region as it was before it
    /// started; the copy its writes changed in place is valid only where nothing else holds the
    /// earlier data).
    ///
    /// Only devices of `present` (those that still have a buffer: a copy may have been evicted from
    /// another device while the task ran) are put back; a piece that no such device held keeps its
    /// current holders.
    mutating func restore(
        _ region: Box,
        from earlier: [(box: Box, holders: DeviceSet)],
        overwritten: Device?,
        present: DeviceSet
    ) {
        var changed: [(box: Box, holders: DeviceSet)] = []
        var current: [(box: Box, holders: DeviceSet)] = []
        for (box, holders) in self.index.remove(intersecting: region, where: { _, _ in true }) {
            self.count(box, heldBy: holders, sign: -1)
            for rest in box.subtracting(region) { changed.append((rest, holders)) }
            if let inside = box.intersection(region) { current.append((inside, holders)) }
        }
        for (box, holders) in earlier {
            var kept = holders
            kept.mask &= present.mask
            if kept.mask == 0 {
                // (The earlier data is gone with an evicted copy: what is there now stays.)
                for (now, nowHolders) in current {
                    if let part = now.intersection(box) { changed.append((part, nowHolders)) }
                }
                continue
            }
            if let overwritten, kept.count > 1 { kept.remove(overwritten) }
            changed.append((box, kept))
        }
        self.addMerging(changed)
        self.checkInvariants(around: region)
    }

    // MARK: Pieces

    /// Adds `new` pieces, merging each (and each piece a merge makes) with a neighbour that has the
    /// same holders and together with it makes a box. No two pieces in the index can merge before
    /// (every change of the pieces goes through here), so only the new ones need looking at, each
    /// through the index: the neighbours across each of its faces.
    private mutating func addMerging(_ new: [(box: Box, holders: DeviceSet)]) {
        var pending = new
        while let candidate = pending.popLast() {
            if let partner = self.mergePartner(of: candidate.box, heldBy: candidate.holders) {
                self.index.remove(intersecting: partner) { box, _ in box == partner }
                self.count(partner, heldBy: candidate.holders, sign: -1)
                pending.append((candidate.box.merged(with: partner)!, candidate.holders))
            } else {
                self.add(candidate.box, heldBy: candidate.holders)
            }
        }
    }

    /// A piece with `holders` next to `box` that makes a box together with it.
    private mutating func mergePartner(of box: Box, heldBy holders: DeviceSet) -> Box? {
        var partner: Box? = nil
        for axis in 0..<box.rank {
            for side in 0..<2 {
                let above = side == 1
                var face = box
                if above {
                    guard box.upperBound(axis) < self.shape[axis] else { continue }
                    face.setRange(axis, box.upperBound(axis), box.upperBound(axis) + 1)
                } else {
                    guard box.lowerBound(axis) > 0 else { continue }
                    face.setRange(axis, box.lowerBound(axis) - 1, box.lowerBound(axis))
                }
                self.searchVisits += self.index.forEach(intersecting: face) { neighbour, neighbourHolders in
                    if neighbourHolders == holders && neighbour.merged(with: box) != nil { partner = neighbour }
                    return partner == nil
                }
                if partner != nil { return partner }
            }
        }
        return nil
    }

    private mutating func add(_ box: Box, heldBy holders: DeviceSet) {
        self.index.insert(box, holders)
        self.count(box, heldBy: holders, sign: 1)
    }

    /// Adds (`sign` 1) or takes away (-1) `box`'s elements from its holders' counts.
    private mutating func count(_ box: Box, heldBy holders: DeviceSet, sign: Int) {
        let elements = sign * box.count
        for device in holders {
            let position = DeviceSet.position(of: device)
            if position >= self.heldElements.count {
                self.heldElements.append(contentsOf: repeatElement(0, count: position + 1 - self.heldElements.count))
            }
            self.heldElements[position] += elements
        }
    }

    /// `box: holders` per piece.
    public var description: String {
        self.pieces.map {
            "\($0.box): \($0.holders.sorted { $0.index < $1.index }.map(\.description).joined(separator: " "))"
        }
        .joined(separator: "; ")
    }

    // MARK: Sources

    /// Where to fetch from: the holder with the fastest link to `destination` when `links` knows every
    /// holder's; otherwise (and among equally fast ones) a GPU before the host, the lowest-numbered
    /// first.
    public static func bestSource(_ holders: Set<Device>, for destination: Device, links: DeviceLinks) -> Device {
        self.bestSource(DeviceSet(holders), for: destination, links: links)
    }

    /// ``bestSource(_:for:links:)`` of a set of bits.
    static func bestSource(_ holders: DeviceSet, for destination: Device, links: DeviceLinks) -> Device {
        // GPUs by index (bits 1...), then the CPU (bit 0).
        var gpus = holders.mask & ~1
        var hostLeft = holders.mask & 1 != 0
        var first: Device? = nil
        var best: Device? = nil
        var bestSpeed = 0.0
        while true {
            let device: Device
            if gpus != 0 {
                device = .gpu(gpus.trailingZeroBitCount - 1)
                gpus &= gpus - 1
            } else if hostLeft {
                device = .cpu
                hostLeft = false
            } else {
                break
            }
            if first == nil { first = device }
            guard let speed = links.bandwidth(from: device, to: destination) else { return first! }
            if best == nil || speed > bestSpeed {
                best = device
                bestSpeed = speed
            }
        }
        return best!
    }
}

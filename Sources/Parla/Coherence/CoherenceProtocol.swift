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
/// stay exact, and neighbouring pieces with the same holders merge again.
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

    /// The current partition.
    public private(set) var pieces: [Piece]

    /// An array whose only valid copy is on `home`.
    public init(shape: [Int], home: Device) {
        self.shape = shape
        self.pieces = [Piece(box: Box(shape: shape), holders: [home])]
    }

    /// The whole array.
    public var whole: Box { Box(shape: self.shape) }

    /// Applies an access of `region` on `device`: returns the copies that must complete before the
    /// access, in order. Reads gather the region's freshest pieces from wherever they are, each from the
    /// holder with the fastest link to `device` in `links` (see ``bestSource(_:for:links:)``); writes
    /// leave `device` the only holder of the region; `output` copies nothing in.
    public mutating func access(
        _ region: Box,
        on device: Device,
        mode: AccessMode,
        links: DeviceLinks = .uniform
    ) -> [Copy] {
        parlaPrecondition(self.whole.contains(region), "region \(region) is outside the array's shape \(self.shape)")
        if region.isEmpty { return [] }
        // Nothing changes when the device already holds the region (for a read), or holds it alone
        // (for a write): the common case of a task whose data is already in place.
        let unchanged = self.pieces.allSatisfy { piece in
            guard piece.box.intersection(region) != nil else { return true }
            return mode.writes
                ? piece.holders.count == 1 && piece.holders.contains(device) : piece.holders.contains(device)
        }
        if unchanged { return [] }
        var copies: [Copy] = []
        // Pieces the region does not touch stay as they are (and, as before, none of them can merge with
        // another); the pieces cut from touched ones are merged in.
        var result: [Piece] = []
        var cut: [Piece] = []
        result.reserveCapacity(self.pieces.count)
        for piece in self.pieces {
            guard let inside = piece.box.intersection(region) else {
                result.append(piece)
                continue
            }
            for outside in piece.box.subtracting(region) {
                cut.append(Piece(box: outside, holders: piece.holders))
            }
            if mode.reads && !piece.holders.contains(device) {
                copies.append(
                    Copy(
                        box: inside,
                        source: Self.bestSource(piece.holders, for: device, links: links),
                        destination: device
                    )
                )
            }
            var holders = piece.holders
            if mode.writes {
                holders = [device]
            } else {
                holders.insert(device)
            }
            cut.append(Piece(box: inside, holders: holders))
        }
        self.pieces = Self.merging(cut, into: result)
        return copies
    }

    /// Merges `new` pieces into `settled` ones, none of which can merge with another (every change of
    /// the pieces goes through here, which keeps that so): each new piece
    /// (and each piece a merge makes) is compared with the settled ones once, so an access costs time
    /// in proportion to the pieces, not to their square.
    static func merging(_ new: [Piece], into settled: [Piece]) -> [Piece] {
        var pieces = settled
        var pending = new
        while let candidate = pending.popLast() {
            let partner = pieces.firstIndex { piece in
                piece.holders == candidate.holders && piece.box.merged(with: candidate.box) != nil
            }
            if let partner {
                let merged = pieces.remove(at: partner).box.merged(with: candidate.box)!
                pending.append(Piece(box: merged, holders: candidate.holders))
            } else {
                pieces.append(candidate)
            }
        }
        return pieces
    }

    /// The state of `region` on `device`: invalid unless every element is valid there; modified when
    /// the device is the only holder of all of it.
    public func state(of region: Box, on device: Device) -> CoherenceState {
        var sole = true
        for piece in self.pieces where piece.box.intersection(region) != nil {
            if !piece.holders.contains(device) { return .invalid }
            if piece.holders.count > 1 { sole = false }
        }
        return sole ? .modified : .shared
    }

    /// The devices holding a valid copy of every element of `region`.
    public func holders(of region: Box) -> Set<Device> {
        var all: Set<Device>? = nil
        for piece in self.pieces where piece.box.intersection(region) != nil {
            all = all.map { $0.intersection(piece.holders) } ?? piece.holders
        }
        return all ?? []
    }

    /// Drops `device`'s copy. With `keepOneCopy`, pieces only `device` holds are first copied to
    /// `fallback` (returned copies); without it such data is lost and the eviction is refused
    /// (`nil`), so that nothing valid disappears.
    public mutating func evict(_ device: Device, keepOneCopy: Bool = true, fallback: Device = .cpu) -> [Copy]? {
        var copies: [Copy] = []
        var untouched: [Piece] = []
        var changed: [Piece] = []
        for var piece in self.pieces {
            guard piece.holders.contains(device) else {
                untouched.append(piece)
                continue
            }
            if piece.holders.count == 1 {
                guard keepOneCopy, fallback != device else { return nil }
                copies.append(Copy(box: piece.box, source: device, destination: fallback))
                piece.holders = [fallback]
            } else {
                piece.holders.remove(device)
            }
            changed.append(piece)
        }
        self.pieces = Self.merging(changed, into: untouched)
        return copies
    }

    /// Puts back the holders `earlier` had for `region`, except `overwritten` where another device
    /// also held a piece (a task that fails leaves the region as it was before it started; the copy its
    /// writes changed in place is valid only where nothing else holds the earlier data).
    public mutating func restore(_ region: Box, from earlier: CoherenceProtocol, overwritten: Device?) {
        var untouched: [Piece] = []
        var changed: [Piece] = []
        for piece in self.pieces {
            guard piece.box.intersection(region) != nil else {
                untouched.append(piece)
                continue
            }
            for rest in piece.box.subtracting(region) { changed.append(Piece(box: rest, holders: piece.holders)) }
        }
        for piece in earlier.pieces {
            guard let part = piece.box.intersection(region) else { continue }
            var holders = piece.holders
            if let overwritten, holders.count > 1 { holders.remove(overwritten) }
            changed.append(Piece(box: part, holders: holders))
        }
        self.pieces = Self.merging(changed, into: untouched)
    }

    /// Forgets every copy: `device` now holds the only valid copy of the whole array (after `update`).
    public mutating func reset(to device: Device) {
        self.pieces = [Piece(box: self.whole, holders: [device])]
    }

    /// `box: holders` per piece.
    public var description: String {
        self.pieces.map {
            "\($0.box): \($0.holders.sorted { $0.index < $1.index }.map(\.description).joined(separator: " "))"
        }
        .joined(separator: "; ")
    }

    /// Where to fetch from: the holder with the fastest link to `destination` when `links` knows every
    /// holder's; otherwise (and among equally fast ones) a GPU before the host, the lowest-numbered
    /// first.
    public static func bestSource(_ holders: Set<Device>, for destination: Device, links: DeviceLinks) -> Device {
        let ordered = holders.sorted { ($0.kind == .cpu ? Int.max : $0.index) < ($1.kind == .cpu ? Int.max : $1.index) }
        let speeds = ordered.map { links.bandwidth(from: $0, to: destination) }
        guard !speeds.contains(where: { $0 == nil }) else { return ordered[0] }
        var best = 0
        for index in ordered.indices where speeds[index]! > speeds[best]! { best = index }
        return ordered[best]
    }
}

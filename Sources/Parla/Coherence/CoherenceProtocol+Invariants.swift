import ParlaDevices

/// The protocol's invariants, checked after every change in builds with internal checks (debug builds):
///
/// - the pieces are disjoint, and together cover the array: every element is in exactly one piece;
/// - every piece has at least one holder: every element has a valid copy somewhere;
/// - so at most one device holds an element as `modified` (its only holder);
/// - the per-device counts of held elements agree with the pieces; no two neighbouring pieces with the
///   same holders are left unmerged where they make a box together (checked for small arrays).
///
/// After an access, only the pieces around its region are checked (the rest did not change), so that a
/// debug build of a program with 100,000 regions does not check 100,000 pieces per access (each piece
/// checked costs a search of the index); an array of at most ``fullCheckLimit`` pieces is checked
/// whole, and so is every change of an eviction.
extension CoherenceProtocol {
    /// Up to this many pieces, every check looks at all of them.
    static var fullCheckLimit: Int { 64 }

    /// Stops (in builds with internal checks) when an invariant does not hold around `region` (`nil`:
    /// everywhere).
    @inline(__always)
    func checkInvariants(around region: Box?) {
        #if PARLA_INTERNAL_CHECKS
        if let problem = self.invariantViolation(around: region) {
            parlaInvariant(false, "coherence protocol of shape \(self.shape): \(problem)")
        }
        #endif
    }

    /// What breaks an invariant around `region` (`nil`: everywhere), or `nil` when they all hold.
    func invariantViolation(around region: Box?) -> String? {
        let checked = self.pieceCount <= Self.fullCheckLimit ? nil : region
        let area = checked ?? self.whole
        var pieces: [(box: Box, holders: DeviceSet)] = []
        self.index.forEach(intersecting: area) { box, holders in
            pieces.append((box, holders))
            return true
        }
        var covered = 0
        for piece in pieces {
            if piece.holders.isEmpty { return "piece \(piece.box) has no valid copy anywhere" }
            if piece.box.isEmpty { return "piece \(piece.box) is empty" }
            if !self.whole.contains(piece.box) { return "piece \(piece.box) is outside the array \(self.whole)" }
            // Two pieces over one element: two holders could each think their copy the only one.
            var overlapping: Box? = nil
            self.index.forEach(intersecting: piece.box) { box, _ in
                if box != piece.box { overlapping = box }
                return overlapping == nil
            }
            if let overlapping { return "pieces \(piece.box) and \(overlapping) overlap" }
            covered += piece.box.intersection(area)!.count
        }
        if covered != area.count {
            return "the pieces cover \(covered) of the \(area.count) elements of \(area): some have no valid copy"
        }
        guard checked == nil else { return nil }
        // Whole-array checks: the counts of held elements, and merging.
        var held: [Int] = []
        for (box, holders) in pieces {
            for device in holders {
                let position = DeviceSet.position(of: device)
                if position >= held.count {
                    held.append(contentsOf: repeatElement(0, count: position + 1 - held.count))
                }
                held[position] += box.count
            }
        }
        for device in self.whole.isEmpty ? [] : Set(pieces.flatMap { $0.holders.devices }) {
            let expected = held[DeviceSet.position(of: device)]
            if self.heldElementCount(on: device) != expected {
                return
                    "\(device) is counted as holding \(self.heldElementCount(on: device)) elements, but holds \(expected)"
            }
        }
        // (Pairs of pieces: for small arrays only.)
        for (position, piece) in pieces.enumerated() where pieces.count <= Self.fullCheckLimit {
            for other in pieces[(position + 1)...]
            where other.holders == piece.holders && piece.box.merged(with: other.box) != nil {
                return "pieces \(piece.box) and \(other.box) have the same holders and were not merged"
            }
        }
        return nil
    }
}

/// The colours of task spaces in `parla trace plot`: stable from run to run, distinct while there are
/// no more spaces than colours.
///
/// Each space prefers the colour its name hashes to (FNV-1a, the same in every process) among Tableau's
/// 9 main colours; spaces taken in name order move to the next free one when theirs is taken, and to
/// the 9 lighter ones once the main ones are all taken. Unnamed tasks are grey.
struct SpacePalette {
    /// Tableau's 20 colours without its greys: the 9 main ones, then their lighter companions.
    static let colours = [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
        "#a0cbe8", "#ffbe7d", "#ff9d9a", "#86bcb6", "#8cd17d", "#f1ce63", "#d4a6c8", "#fabfd2", "#d7b5a6",
    ]
    /// The colour of unnamed tasks (space `""`).
    static let unnamed = "#b4b4b4"

    /// Each space's colour.
    private(set) var assignments: [String: String] = [:]

    /// Colours for `spaces` (duplicates and `""` allowed).
    init(spaces: some Sequence<String>) {
        let group = Self.colours.count / 2
        var taken = Set<Int>()
        for space in Set(spaces).sorted() where !space.isEmpty {
            // The main colours while any is free, then the light ones, then any (shared).
            let base = taken.count < group ? 0 : taken.count < 2 * group ? group : 0
            var slot = base + Int(Self.hash(space) % UInt64(group))
            if taken.count < 2 * group {
                while taken.contains(slot) { slot = base + (slot - base + 1) % group }
            }
            taken.insert(slot)
            assignments[space] = Self.colours[slot]
        }
    }

    /// The colour of `space`'s tasks.
    func colour(of space: String) -> String {
        assignments[space] ?? Self.unnamed
    }

    /// FNV-1a of the name's UTF-8 bytes: the same in every process, unlike `Hasher`.
    static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}

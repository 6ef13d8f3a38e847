@testable import Parla

extension TypedTaskRecord where R == Void {
    /// A record of an unnamed task on the CPU with an empty body, made by hand as `spawn` would (so that
    /// a test decides what happens to it), not yet counted by its run.
    static func madeByHand(
        in scope: RunScope,
        file: StaticString = #fileID,
        line: UInt = #line
    ) -> TypedTaskRecord<Void> {
        TypedTaskRecord<Void>(
            slot: nil,
            scope: scope,
            placement: .one(.cpu),
            vcus: 0,
            memory: 0,
            synchronous: {},
            asynchronous: nil,
            origin: file,
            originLine: line
        )
    }
}

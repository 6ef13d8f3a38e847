// The package's internal invariant checks, modelled on swift-collections' `_internalInvariant`.
//
// A precondition (`parlaPrecondition`) checks what a *user* of the package must get right and is
// always on. An internal invariant checks what the *package itself* must get right: an ownership rule
// behind `@exclusivity(unchecked)`, the coherence protocol's pieces, a task record's life cycle. They
// are compiled in when `PARLA_INTERNAL_CHECKS` is defined, which Package.swift does for debug builds
// (so `swift test` and CI run with them on), and compiled out of release builds, where they cost
// nothing. Each check has a test that breaks its rule on purpose and sees it fire.

/// Checks an invariant of the package's own code in builds with internal checks (debug builds), and
/// stops with `message` when it does not hold; compiled out of release builds.
///
/// - Parameters:
///   - condition: The invariant; evaluated only in builds with internal checks.
///   - message: What broke, naming the values involved; evaluated only when `condition` is false.
///   - file: The file name to print with `message`.
///   - line: The line number to print with `message`.
@_transparent
@usableFromInline
package func parlaInvariant(
    _ condition: @autoclosure () -> Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    #if PARLA_INTERNAL_CHECKS
    if _slowPath(!condition()) {
        parlaPreconditionFailure("internal invariant broken: " + message(), file: file, line: line)
    }
    #endif
}

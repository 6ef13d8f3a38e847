// The package's preconditions. Swift's `precondition` and `preconditionFailure` drop their message in
// optimized (`-O`) builds: a release build stops with only "Swift runtime failure: precondition
// failure", and a user cannot tell a shape mismatch from an index out of range. `fatalError` keeps its
// message in every build configuration; these helpers check like `precondition` and stop like
// `fatalError`.

/// Checks a precondition of the package and, when it does not hold, stops the program with `message`
/// in every build configuration (debug, release and `-Ounchecked` alike).
///
/// Use it instead of `precondition` everywhere in the package. The standard library's `precondition`
/// keeps its message only in debug builds: in `-O` a failure prints only "Swift runtime failure:
/// precondition failure", which loses the shapes, indices and names the message gives. This helper is
/// transparent, so a passing check costs what `precondition` costs in `-O` (the condition and one
/// branch, predicted not taken). `message` is evaluated only when the condition fails, in the caller's
/// cold block, and handed as a finished string to ``parlaPreconditionFailure(_:file:line:)``, which is
/// never inlined: no closure context is built on the hot path, and element subscripts and kernel loops
/// run as fast as with `precondition`. Unlike `precondition`, `condition` is evaluated in
/// `-Ounchecked` builds too, so a condition with a side effect always runs.
///
/// - Parameters:
///   - condition: The condition to test.
///   - message: What went wrong, naming the values involved; evaluated only when `condition` is false.
///   - file: The file name to print with `message`.
///   - line: The line number to print with `message`.
@_transparent
@usableFromInline
package func parlaPrecondition(
    _ condition: @autoclosure () -> Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    if _slowPath(!condition()) {
        parlaPreconditionFailure(message(), file: file, line: line)
    }
}

/// Stops the program with `message`, in every build configuration: the package's
/// `preconditionFailure`, which (unlike the standard library's) keeps its message in `-O` builds.
///
/// Never inlined, so that the code that prints and stops stays out of its callers. It always stops, so
/// its message is a plain string (no closure).
///
/// - Parameters:
///   - message: What went wrong, naming the values involved.
///   - file: The file name to print with `message`.
///   - line: The line number to print with `message`.
@inline(never)
@usableFromInline
package func parlaPreconditionFailure(
    _ message: String,
    file: StaticString = #fileID,
    line: UInt = #line
) -> Never {
    fatalError(message, file: file, line: line)
}

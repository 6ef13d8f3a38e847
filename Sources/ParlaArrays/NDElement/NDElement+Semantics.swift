import ParlaDevices

// How the host loops reach the table of operation semantics (`OperationSemantics.swift` in
// ParlaDevices), which also generates the GPU kernels.
//
// The table computes on `KernelElement`s, and the five element types are `KernelElement`s. `NDElement`
// cannot say so (a public protocol cannot refine a package one, and the table is no part of the public
// API). So each function below finds which of the five types its element type is, by comparing
// metatypes, and applies the table's row to the value as that type (through bit casts that are
// identities). A loop specialized for one element type has the comparisons folded away and the row
// inlined: it compiles to the row's expression for that type, as a loop written for it would.
//
// The comparisons are made per element, inside the loop's closure: a function chosen once per
// operation and passed to the loop would not be inlined into it, and a loop run in a generic function
// opened from an existential is not specialized. The functions are transparent, so that even where
// the element type is not known at compile time (debug builds, unspecialized generic code) they cost
// an element no more than the comparisons and one generic call of the row.

extension NDElement {
    /// `operation` applied to `x`.
    @_transparent @usableFromInline
    static func _apply<Operation: UnaryOperation>(_ operation: Operation.Type, _ x: Self) -> Self {
        if Self.self == Float.self { return _bits(Float.apply(operation, _bits(x))) }
        if Self.self == Double.self { return _bits(Double.apply(operation, _bits(x))) }
        if Self.self == Int32.self { return _bits(Int32.apply(operation, _bits(x))) }
        if Self.self == Int.self { return _bits(Int.apply(operation, _bits(x))) }
        if Self.self == UInt8.self { return _bits(UInt8.apply(operation, _bits(x))) }
        Self._notAnElementType()
    }

    /// `operation` applied to `x` and `y`.
    @_transparent @usableFromInline
    static func _apply<Operation: BinaryOperation>(_ operation: Operation.Type, _ x: Self, _ y: Self) -> Self {
        if Self.self == Float.self { return _bits(Float.apply(operation, _bits(x), _bits(y))) }
        if Self.self == Double.self { return _bits(Double.apply(operation, _bits(x), _bits(y))) }
        if Self.self == Int32.self { return _bits(Int32.apply(operation, _bits(x), _bits(y))) }
        if Self.self == Int.self { return _bits(Int.apply(operation, _bits(x), _bits(y))) }
        if Self.self == UInt8.self { return _bits(UInt8.apply(operation, _bits(x), _bits(y))) }
        Self._notAnElementType()
    }

    /// The value a reduction by `operation` starts from.
    @_transparent @usableFromInline
    static func _identity<Operation: FoldingReduction>(of operation: Operation.Type) -> Self {
        if Self.self == Float.self { return _bits(Float.identity(of: operation)) }
        if Self.self == Double.self { return _bits(Double.identity(of: operation)) }
        if Self.self == Int32.self { return _bits(Int32.identity(of: operation)) }
        if Self.self == Int.self { return _bits(Int.identity(of: operation)) }
        if Self.self == UInt8.self { return _bits(UInt8.identity(of: operation)) }
        Self._notAnElementType()
    }

    /// `x` folded into `accumulator` by `operation`.
    @_transparent @usableFromInline
    static func _combine<Operation: FoldingReduction>(
        _ operation: Operation.Type,
        _ accumulator: Self,
        _ x: Self
    ) -> Self {
        if Self.self == Float.self { return _bits(operation.combine(_bits(accumulator) as Float, _bits(x))) }
        if Self.self == Double.self { return _bits(operation.combine(_bits(accumulator) as Double, _bits(x))) }
        if Self.self == Int32.self { return _bits(operation.combine(_bits(accumulator) as Int32, _bits(x))) }
        if Self.self == Int.self { return _bits(operation.combine(_bits(accumulator) as Int, _bits(x))) }
        if Self.self == UInt8.self { return _bits(operation.combine(_bits(accumulator) as UInt8, _bits(x))) }
        Self._notAnElementType()
    }

    /// Whether a reduction by `operation` prefers `x` over `best` (neither a NaN).
    @_transparent @usableFromInline
    static func _prefers<Operation: PositionalReduction>(
        _ operation: Operation.Type,
        _ x: Self,
        over best: Self
    ) -> Bool {
        if Self.self == Float.self { return operation.prefers(_bits(x) as Float, over: _bits(best)) }
        if Self.self == Double.self { return operation.prefers(_bits(x) as Double, over: _bits(best)) }
        if Self.self == Int32.self { return operation.prefers(_bits(x) as Int32, over: _bits(best)) }
        if Self.self == Int.self { return operation.prefers(_bits(x) as Int, over: _bits(best)) }
        if Self.self == UInt8.self { return operation.prefers(_bits(x) as UInt8, over: _bits(best)) }
        Self._notAnElementType()
    }

    /// `x` converted to this type, as `astype` converts.
    @_transparent @usableFromInline
    static func _converting<Source: NDElement>(_ x: Source) -> Self {
        if Source.self == Float.self { return Self._converting(kernelElement: _bits(x) as Float) }
        if Source.self == Double.self { return Self._converting(kernelElement: _bits(x) as Double) }
        if Source.self == Int32.self { return Self._converting(kernelElement: _bits(x) as Int32) }
        if Source.self == Int.self { return Self._converting(kernelElement: _bits(x) as Int) }
        if Source.self == UInt8.self { return Self._converting(kernelElement: _bits(x) as UInt8) }
        Source._notAnElementType()
    }

    /// `x`, of one of the five types, converted to this type, as `astype` converts.
    @_transparent @usableFromInline
    static func _converting<Source: KernelElement>(kernelElement x: Source) -> Self {
        if Self.self == Float.self { return _bits(Float.converting(x)) }
        if Self.self == Double.self { return _bits(Double.converting(x)) }
        if Self.self == Int32.self { return _bits(Int32.converting(x)) }
        if Self.self == Int.self { return _bits(Int.converting(x)) }
        if Self.self == UInt8.self { return _bits(UInt8.converting(x)) }
        Self._notAnElementType()
    }

    /// Stops: arrays of this type cannot compute.
    @usableFromInline
    static func _notAnElementType() -> Never {
        parlaPreconditionFailure(
            "\(Self.self) is not one of NDArray's element types (Float, Double, Int32, Int, UInt8): arrays of it cannot compute"
        )
    }
}

/// `value` as a `Result`, which is its own type (the element type seen as the `KernelElement` it is).
@_transparent @usableFromInline
func _bits<Value, Result>(_ value: Value) -> Result { unsafeBitCast(value, to: Result.self) }

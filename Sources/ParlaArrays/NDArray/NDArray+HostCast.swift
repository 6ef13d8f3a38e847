import ParlaDevices

/// `astype` on the host. The two element types are told apart once per call, and the loop then runs
/// specialized for the pair: telling them apart per element (`NDElement._converting`) would cost more
/// than the conversion itself.
extension NDArray {
    /// A copy with every element converted to `Target`, computed by the host.
    func _hostCast<Target: NDElement>(to target: Target.Type) -> NDArray<Target> {
        if Element.self == Float.self { return Self._hostCast(_bits(self) as NDArray<Float>, to: target) }
        if Element.self == Double.self { return Self._hostCast(_bits(self) as NDArray<Double>, to: target) }
        if Element.self == Int32.self { return Self._hostCast(_bits(self) as NDArray<Int32>, to: target) }
        if Element.self == Int.self { return Self._hostCast(_bits(self) as NDArray<Int>, to: target) }
        if Element.self == UInt8.self { return Self._hostCast(_bits(self) as NDArray<UInt8>, to: target) }
        Element._notAnElementType()
    }

    /// `source` converted to `Target`, its element type known (inlined into the dispatch above, so
    /// that each of the 25 loops below is called with both types concrete, and specialized).
    @inline(__always)
    private static func _hostCast<Source: NDElement & KernelElement, Target: NDElement>(
        _ source: NDArray<Source>,
        to target: Target.Type
    ) -> NDArray<Target> {
        if Target.self == Float.self { return _bits(_castLoop(source, Float.self)) }
        if Target.self == Double.self { return _bits(_castLoop(source, Double.self)) }
        if Target.self == Int32.self { return _bits(_castLoop(source, Int32.self)) }
        if Target.self == Int.self { return _bits(_castLoop(source, Int.self)) }
        if Target.self == UInt8.self { return _bits(_castLoop(source, UInt8.self)) }
        Target._notAnElementType()
    }
}

/// The conversion loop for one pair of element types (specialized where both are known).
@inline(__always)
private func _castLoop<Source: NDElement & KernelElement, Target: NDElement & KernelElement>(
    _ source: NDArray<Source>,
    _ target: Target.Type
) -> NDArray<Target> {
    source._map(with: ()) { x, _ in Target.converting(x) }
}

import ParlaDevices

extension NDArray: CustomStringConvertible, CustomDebugStringConvertible {
    /// Arrays with more elements than this print with the middle of each long axis elided, as NumPy's
    /// default `threshold` does.
    public static var summarizationThreshold: Int { 1000 }

    /// How many leading and trailing entries of each axis an elided array shows (NumPy's `edgeitems`).
    public static var summarizationEdgeItems: Int { 3 }

    /// NumPy's layout with commas, on one line: `[[1, 2], [3, 4]]`; a 0-d array prints its element.
    /// Large arrays show the first and last three entries of each long axis around `...`.
    public var description: String {
        let summarize = self.count > Self.summarizationThreshold
        var text = ""
        let contiguous = self._hostReadable.contiguous()
        contiguous._withBasePointer { base in
            Self._describe(
                base,
                shape: contiguous.shape,
                strides: contiguous.strides,
                axis: 0,
                summarize: summarize,
                into: &text
            )
        }
        return text
    }

    /// The description with the element type and device: `NDArray<Double>([[1.0, 2.0]], device: cpu)`.
    public var debugDescription: String {
        "NDArray<\(Element.self)>(\(self.description), device: \(self.device))"
    }

    private static func _describe(
        _ base: UnsafeMutablePointer<Element>,
        shape: [Int],
        strides: [Int],
        axis: Int,
        summarize: Bool,
        into text: inout String
    ) {
        if axis == shape.count {
            text += base.pointee.description
            return
        }
        let extent = shape[axis]
        let edge = Self.summarizationEdgeItems
        text += "["
        var first = true
        func entry(_ i: Int) {
            if !first { text += ", " }
            first = false
            Self._describe(
                base + i * strides[axis],
                shape: shape,
                strides: strides,
                axis: axis + 1,
                summarize: summarize,
                into: &text
            )
        }
        if summarize && extent > 2 * edge {
            for i in 0..<edge { entry(i) }
            text += ", ..."
            for i in (extent - edge)..<extent { entry(i) }
        } else {
            for i in 0..<extent { entry(i) }
        }
        text += "]"
    }
}

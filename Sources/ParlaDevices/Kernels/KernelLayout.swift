/// Shape arithmetic shared by the host loops and the device kernels.
public enum KernelLayout {
    /// Drops extent-1 axes and merges neighbouring axes that are contiguous with each other in every
    /// operand, keeping the row-major order of positions. Returns at least one axis (`[1]` for a single
    /// element); an extent of 0 anywhere gives a shape containing 0.
    public static func coalesce(shape: [Int], strides: [[Int]]) -> (shape: [Int], strides: [[Int]]) {
        if shape.contains(0) { return ([0], strides.map { _ in [0] }) }
        var keptShape: [Int] = []
        var keptStrides: [[Int]] = Array(repeating: [], count: strides.count)
        keptShape.reserveCapacity(shape.count)
        for axis in 0..<shape.count where shape[axis] != 1 {
            let mergeable =
                !keptShape.isEmpty
                && strides.indices.allSatisfy { k in
                    keptStrides[k][keptShape.count - 1] == strides[k][axis] * shape[axis]
                }
            if mergeable {
                keptShape[keptShape.count - 1] *= shape[axis]
                for k in strides.indices { keptStrides[k][keptShape.count - 1] = strides[k][axis] }
            } else {
                keptShape.append(shape[axis])
                for k in strides.indices { keptStrides[k].append(strides[k][axis]) }
            }
        }
        if keptShape.isEmpty {
            return ([1], strides.map { _ in [0] })
        }
        return (keptShape, keptStrides)
    }

    /// Row-major strides for `shape`.
    public static func contiguousStrides(for shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= Swift.max(shape[axis], 1)
        }
        return strides
    }
}

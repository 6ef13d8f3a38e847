import ParlaArrays

// Making many PArrays at once: one per array of a list, or one per block of a matrix.

extension PArray {
    /// One PArray per array of `arrays`, each wrapping its array (as `PArray(_:)` does). Parla (Python)
    /// equivalent: `parray.asarray_batch([a, b, c])`.
    public static func batch(_ arrays: [NDArray<Element>]) -> [PArray] { arrays.map { PArray($0) } }

    /// `matrix` cut into blocks of `blockShape` (rows, columns), each its own PArray holding a copy of
    /// its block: `blocks[i][j]` is block row `i`, block column `j`. The last blocks of a row or column
    /// are smaller when the extents are not multiples of the block's. A vector (rank 1) gives one row of
    /// blocks of `blockShape[0]` elements. The blocked Cholesky's tiles are made this way.
    ///
    /// Parla (Python) equivalent: `parray.asarray_batch` of the blocks of a NumPy array, as its
    /// Cholesky example makes them.
    public static func blocks(of matrix: NDArray<Element>, blockShape: [Int]) -> [[PArray]] {
        let grid = Self.blockRanges(of: matrix.shape, blockShape: blockShape, what: "an NDArray")
        return grid.map { row in row.map { ranges in PArray(matrix.region(ranges).copy()) } }
    }

    /// This array's regions in blocks of `blockShape` (rows, columns): `blocks[i][j]` is the region of
    /// block row `i`, block column `j` of this one array (tasks declare them as they would `A[r, c]`).
    /// The last blocks are smaller when the extents are not multiples of the block's; a vector gives one
    /// row of blocks.
    public func blocks(_ blockShape: [Int]) -> [[PArray]] {
        let grid = Self.blockRanges(of: self.shape, blockShape: blockShape, what: self.storage.label)
        return grid.map { row in row.map { ranges in self.region(ranges.map { $0 as any NDIndex }) } }
    }

    /// Per block of a grid over `shape` (rank 1 or 2), its ranges on each axis; stops with a message for
    /// other ranks and for block extents that are not positive.
    private static func blockRanges(of shape: [Int], blockShape: [Int], what: String) -> [[[Range<Int>]]] {
        parlaPrecondition(
            shape.count == 1 || shape.count == 2,
            "blocks of \(what) need a vector or a matrix, not an array of shape \(shape)"
        )
        parlaPrecondition(
            blockShape.count == shape.count && blockShape.allSatisfy { $0 > 0 },
            "the block shape \(blockShape) of \(what) (shape \(shape)) needs \(shape.count) positive extent\(shape.count == 1 ? "" : "s")"
        )
        func cuts(_ extent: Int, _ block: Int) -> [Range<Int>] {
            stride(from: 0, to: extent, by: block).map { $0..<Swift.min($0 + block, extent) }
        }
        if shape.count == 1 { return [cuts(shape[0], blockShape[0]).map { [$0] }] }
        let columns = cuts(shape[1], blockShape[1])
        return cuts(shape[0], blockShape[0]).map { rows in columns.map { [rows, $0] } }
    }
}

extension NDArray {
    /// The view of `ranges`, one per axis.
    fileprivate func region(_ ranges: [Range<Int>]) -> NDArray {
        ranges.count == 1 ? self[ranges[0]] : self[ranges[0], ranges[1]]
    }
}

import ParlaDevices

/// How a 2-D array is handed to a column-major BLAS routine without copying: as a column-major
/// matrix `P` (offset, leading dimension), the array being `P` itself or, when `isTransposed`, `Pᵀ`. A
/// row-major array is the column-major matrix of its transpose; a transposed view of one is the
/// column-major matrix itself.
struct _ColumnMajorMatrix {
    /// The position of `P(0, 0)`, in elements from the start of the storage.
    var offset: Int
    /// `P`'s leading dimension (at least 1, and at least `P`'s row count).
    var leadingDimension: Int
    /// Whether the array is `Pᵀ` (a row-major array).
    var isTransposed: Bool

    /// The description of a 2-D array, or `nil` when neither of its strides is 1 (or its layout is
    /// not one BLAS can walk).
    init?<Element>(_ array: NDArray<Element>) {
        let (rows, columns) = (array.shape[0], array.shape[1])
        let (rowStride, columnStride) = (array.strides[0], array.strides[1])
        if columnStride == 1 || columns <= 1, rows <= 1 || rowStride >= Swift.max(columns, 1) {
            // Row-major: P = Aᵀ is columns × rows, its columns the array's rows.
            self.init(
                offset: array._offset,
                leadingDimension: Swift.max(rows <= 1 ? columns : rowStride, 1),
                isTransposed: true
            )
        } else if rowStride == 1 || rows <= 1, columns <= 1 || columnStride >= Swift.max(rows, 1) {
            self.init(
                offset: array._offset,
                leadingDimension: Swift.max(columns <= 1 ? rows : columnStride, 1),
                isTransposed: false
            )
        } else {
            return nil
        }
    }

    private init(offset: Int, leadingDimension: Int, isTransposed: Bool) {
        self.offset = offset
        self.leadingDimension = leadingDimension
        self.isTransposed = isTransposed
    }

    /// The operand of a device call.
    func operand<Element>(of array: NDArray<Element>) -> MatrixOperand {
        array._storage.allocation.noteDeviceUse()
        return MatrixOperand(
            allocation: array._storage.allocation,
            offset: self.offset,
            leadingDimension: self.leadingDimension,
            dtype: Element.dtype
        )
    }
}

extension NDArray {
    /// This 2-D array as a column-major matrix, copied into a contiguous array first when its
    /// layout has no stride of 1 (the copy is what is described then).
    func _columnMajorInput() -> (array: NDArray, matrix: _ColumnMajorMatrix) {
        if let matrix = _ColumnMajorMatrix(self) { return (self, matrix) }
        let copy = self._copiedContiguous()
        return (copy, _ColumnMajorMatrix(copy)!)
    }

    /// Runs `body` on a column-major description of this 2-D array, whose storage it writes: directly
    /// when the layout allows, else on a contiguous copy that is written back afterwards. The storage
    /// must be this array's own (the caller made it unique).
    mutating func _writingColumnMajor(_ body: (NDArray, _ColumnMajorMatrix) -> Void) {
        if let matrix = _ColumnMajorMatrix(self) {
            body(self, matrix)
            return
        }
        let copy = self._copiedContiguous()
        body(copy, _ColumnMajorMatrix(copy)!)
        if let kernels = self._deviceKernels {
            self._deviceAssign(from: copy, kernels: kernels)
        } else {
            self._assignElements(from: copy)
        }
    }
}

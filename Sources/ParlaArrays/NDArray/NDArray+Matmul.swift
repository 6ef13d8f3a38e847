import ParlaDevices

extension NDArray {
    /// The matrix product, with NumPy's `matmul` rules: 2-D × 2-D is the matrix product; a 1-D operand
    /// is a row (left) or column (right) vector whose axis is dropped from the result; two 1-D operands
    /// give their dot product as a 0-d array; more than two dimensions are stacks of matrices whose
    /// leading axes broadcast. NumPy: `a @ b`.
    ///
    /// - Precondition: the inner extents agree and the operands live on one device.
    public func matmul(_ other: NDArray) -> NDArray {
        _checkSameDevice(self.device, other.device)
        parlaPrecondition(
            self.ndim >= 1 && other.ndim >= 1,
            "matmul needs operands of at least 1 dimension, got shapes \(self.shape) and \(other.shape)"
        )
        let lhs = self.ndim == 1 ? self.reshaped([1, self.count]) : self
        let rhs = other.ndim == 1 ? other.reshaped([other.count, 1]) : other
        let (m, k) = (lhs.shape[lhs.ndim - 2], lhs.shape[lhs.ndim - 1])
        let (k2, n) = (rhs.shape[rhs.ndim - 2], rhs.shape[rhs.ndim - 1])
        parlaPrecondition(
            k == k2,
            "matmul: shapes \(self.shape) and \(other.shape) are not aligned: the contracted extents differ (\(k) and \(k2))"
        )
        let batch = _broadcastShape(Array(lhs.shape.dropLast(2)), Array(rhs.shape.dropLast(2)))
        let result = NDArray(_uninitializedShape: batch + [m, n], on: self._backend)
        let lhsBatchStrides = _broadcastStrides(
            shape: Array(lhs.shape.dropLast(2)),
            strides: Array(lhs.strides.dropLast(2)),
            to: batch
        )
        let rhsBatchStrides = _broadcastStrides(
            shape: Array(rhs.shape.dropLast(2)),
            strides: Array(rhs.strides.dropLast(2)),
            to: batch
        )
        let outBatchStrides = Array(result.strides.dropLast(2))
        if let kernels = self._deviceKernels, batch.isEmpty, kernels.hasBLAS,
            result._multiplyWithVendorLibrary(lhs, rhs)
        {
            // cuBLAS's GEMM for Float and Double matrices.
        } else if let kernels = self._deviceKernels {
            self._onDevice("matmul") { () throws(DeviceError) in
                try kernels.matmul(
                    m: m,
                    n: n,
                    k: k,
                    batchShape: batch,
                    a: lhs._operand(strides: lhsBatchStrides + Array(lhs.strides.suffix(2))),
                    b: rhs._operand(strides: rhsBatchStrides + Array(rhs.strides.suffix(2))),
                    c: result._operand(strides: outBatchStrides)
                )
            }
        } else if m > 0 && n > 0 {
            let out = result._storage.base
            lhs._withBasePointer { a in
                rhs._withBasePointer { b in
                    _LoopNest(
                        shape: batch + [1],
                        strides: [lhsBatchStrides + [0], rhsBatchStrides + [0], outBatchStrides + [0]]
                    )
                    .forEachRow { offsets, count, s in
                        for i in 0..<count {
                            let c = out + offsets[2] + i * s[2]
                            if k == 0 {
                                c.update(repeating: .zero, count: m * n)
                                continue
                            }
                            Element._gemm(
                                _GEMMOperands(
                                    m: m,
                                    n: n,
                                    k: k,
                                    a: UnsafePointer(a + offsets[0] + i * s[0]),
                                    aRow: lhs.strides[lhs.ndim - 2],
                                    aColumn: lhs.strides[lhs.ndim - 1],
                                    b: UnsafePointer(b + offsets[1] + i * s[1]),
                                    bRow: rhs.strides[rhs.ndim - 2],
                                    bColumn: rhs.strides[rhs.ndim - 1],
                                    c: c,
                                    ldc: n
                                )
                            )
                        }
                    }
                }
            }
        }
        var outShape = batch
        if self.ndim > 1 { outShape.append(m) }
        if other.ndim > 1 { outShape.append(n) }
        return result.reshaped(outShape)
    }
}

/// The matrix product with NumPy's `matmul` rules. NumPy: `np.matmul(a, b)`, `a @ b`.
public func matmul<Element>(_ a: NDArray<Element>, _ b: NDArray<Element>) -> NDArray<Element> {
    a.matmul(b)
}

extension NDArray {
    /// `self = lhs × rhs` through the device's BLAS (cuBLAS) when the elements are `Float` or `Double`;
    /// returns whether it did. `self` is a new m×n array whose storage nothing else holds.
    func _multiplyWithVendorLibrary(_ lhs: NDArray, _ rhs: NDArray) -> Bool {
        func multiply<E: NDFloatingElement>(_ type: E.Type) -> Bool {
            guard var target = self as? NDArray<E>, let a = lhs as? NDArray<E>, let b = rhs as? NDArray<E> else {
                return false
            }
            target.writeMultiplyAdd(a, b, alpha: 1, beta: 0, transposeA: false, transposeB: false)
            return true
        }
        return multiply(Double.self) || multiply(Float.self)
    }
}

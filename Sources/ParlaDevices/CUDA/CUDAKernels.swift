import CCUDADriver
import Synchronization

/// NDArray's kernels on one CUDA GPU: generated as CUDA C per (operation, element types), compiled the
/// first time any GPU of the machine needs them, loaded into this GPU's context once, and launched on
/// its compute stream.
struct CUDAKernels: DeviceKernels {
    let gpu: CUDAGPU

    /// The kernel for `key` in this GPU's context, compiled and loaded on first use (under the GPU's
    /// loading lock, so that each kernel is loaded once).
    func function(_ key: CUDAKernelKey) throws(DeviceError) -> CUfunction {
        let name = key.name
        if let loaded = self.gpu.loadedKernels.withLock({ $0[name] }) {
            return CUfunction(bitPattern: loaded)!
        }
        let bits = try self.gpu.kernelLoading.withLock { (_) throws(DeviceError) -> UInt in
            if let loaded = self.gpu.loadedKernels.withLock({ $0[name] }) { return loaded }
            let image = try self.gpu.kernelImages.image(for: key, computeCapability: self.gpu.computeCapability)
            try self.gpu.makeCurrent()
            let module = try self.gpu.driver.loadModule(image, name: name, device: self.gpu.device)
            let function = try self.gpu.driver.function("parla_kernel", in: module, name: name, device: self.gpu.device)
            let bits = UInt(bitPattern: function)
            self.gpu.loadedKernels.withLock { $0[name] = bits }
            return bits
        }
        return CUfunction(bitPattern: bits)!
    }

    /// Launches `function` on the compute stream (or the calling task's lane) with the arguments' bytes.
    func launch(
        _ function: CUfunction,
        grid: (UInt32, UInt32, UInt32),
        block: (UInt32, UInt32, UInt32),
        arguments: [KernelArgument],
        name: String
    ) throws(DeviceError) {
        try self.gpu.makeCurrent()
        // Each argument's bytes live in their own buffer; cuLaunchKernel copies them before returning.
        let buffers = arguments.map { argument -> UnsafeMutableRawPointer in
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(argument.bytes.count, 1), alignment: 16)
            argument.bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return buffer
        }
        defer { for buffer in buffers { buffer.deallocate() } }
        var parameters: [UnsafeMutableRawPointer?] = buffers
        try parameters.withUnsafeMutableBufferPointer { (pointers) throws(DeviceError) in
            try self.gpu.driver.launch(
                function,
                grid: grid,
                block: block,
                on: self.gpu.launchStream,
                parameters: pointers.baseAddress!,
                name: name,
                device: self.gpu.device
            )
        }
        self.gpu.noteQueuedOnComputeStream()
    }

    /// A 1-D grid covering `count` threads in blocks of 256 (capped; kernels loop over the rest).
    static func grid(for count: Int) -> (UInt32, UInt32, UInt32) {
        (UInt32(Swift.max(1, Swift.min((count + 255) / 256, 1 << 20))), 1, 1)
    }

    /// Stops when a launch needs more axes than the kernels handle.
    static func checkRank(_ rank: Int, _ what: String) {
        parlaPrecondition(
            rank <= CUDAKernelSource.maxRank,
            "\(what) needs \(rank) axes after merging contiguous ones; GPU kernels handle at most \(CUDAKernelSource.maxRank)"
        )
    }

    static func padded(_ values: [Int]) -> [Int64] {
        values.map(Int64.init) + Array(repeating: 0, count: CUDAKernelSource.maxRank - values.count)
    }

    // MARK: DeviceKernels

    public func elementwise(
        _ operation: ElementwiseOperation,
        shape: [Int],
        output: KernelOperand,
        inputs: [KernelOperand],
        scalar: KernelScalar?
    ) throws(DeviceError) {
        parlaPrecondition(
            inputs.count == operation.inputCount,
            "\(operation) takes \(operation.inputCount) inputs, got \(inputs.count)"
        )
        let operands = [output] + inputs
        let (loopShape, loopStrides) = KernelLayout.coalesce(shape: shape, strides: operands.map(\.strides))
        let count = loopShape.reduce(1, *)
        if count == 0 { return }
        Self.checkRank(loopShape.count, "\(operation) on shape \(shape)")
        let inputType = inputs.first?.dtype
        let key = CUDAKernelKey.elementwise(operation, output: output.dtype, input: inputType)
        let function = try self.function(key)
        var layout: [Int64] = [Int64(count), Int64(loopShape.count)] + Self.padded(loopShape)
        for k in 0..<3 {
            layout += Self.padded(k < loopStrides.count ? loopStrides[k] : [])
        }
        let scalarType = operation == .fill ? output.dtype : (inputType ?? output.dtype)
        try self.launch(
            function,
            grid: Self.grid(for: count),
            block: (256, 1, 1),
            arguments: [
                .pointer(output),
                inputs.count > 0 ? .pointer(inputs[0]) : .null,
                inputs.count > 1 ? .pointer(inputs[1]) : .null,
                .scalar(scalar ?? .integer(0), as: scalarType),
                .words(layout),
            ],
            name: key.name
        )
    }

    public func reduce(
        _ operation: ReductionOperator,
        input: KernelOperand,
        shape: [Int],
        axis: Int?,
        output: KernelOperand
    ) throws(DeviceError) {
        let key = CUDAKernelKey.reduction(operation, input: input.dtype)
        let function = try self.function(key)
        func run(
            input: KernelOperand,
            outputs: Int,
            length: Int,
            lengthStride: Int,
            total: Int,
            outerShape: [Int],
            outerStrides: [Int],
            into out: KernelOperand
        ) throws(DeviceError) {
            Self.checkRank(outerShape.count, "\(operation) over shape \(shape)")
            let layout: [Int64] =
                [Int64(outputs), Int64(length), Int64(lengthStride), Int64(total), Int64(outerShape.count)]
                + Self.padded(outerShape) + Self.padded(outerStrides)
            try self.launch(
                function,
                grid: (UInt32(Swift.max(1, Swift.min(outputs, 1 << 20))), 1, 1),
                block: (256, 1, 1),
                arguments: [.pointer(out), .pointer(input), .words(layout)],
                name: key.name
            )
        }
        guard let axis else {
            let count = shape.reduce(1, *)
            var source = input
            let (merged, _) = KernelLayout.coalesce(shape: shape, strides: [input.strides])
            if merged.count > 1
                || (merged.first.map { $0 > 1 } ?? false)
                    && KernelLayout.coalesce(shape: shape, strides: [input.strides]).strides[0][0] != 1
            {
                // Make a contiguous copy so that positions are row-major offsets.
                let copy = try self.gpu.allocateMakingRoom(byteCount: count * input.dtype.byteSize)
                source = KernelOperand(
                    allocation: copy,
                    offset: 0,
                    strides: KernelLayout.contiguousStrides(for: shape),
                    dtype: input.dtype
                )
                try self.elementwise(.unary(.copy), shape: shape, output: source, inputs: [input], scalar: nil)
            }
            let chunk = 8192
            if !operation.isPositional && count > 4 * chunk {
                // Two passes: many blocks reduce chunks into partial results, then one block reduces those.
                let partialCount = (count + chunk - 1) / chunk
                let partials = try self.gpu.allocateMakingRoom(byteCount: partialCount * input.dtype.byteSize)
                let partialOperand = KernelOperand(allocation: partials, offset: 0, strides: [1], dtype: input.dtype)
                try run(
                    input: source,
                    outputs: partialCount,
                    length: chunk,
                    lengthStride: 1,
                    total: count,
                    outerShape: [partialCount],
                    outerStrides: [chunk],
                    into: partialOperand
                )
                try run(
                    input: partialOperand,
                    outputs: 1,
                    length: partialCount,
                    lengthStride: 1,
                    total: -1,
                    outerShape: [],
                    outerStrides: [],
                    into: output
                )
                return
            }
            try run(
                input: source,
                outputs: 1,
                length: count,
                lengthStride: 1,
                total: -1,
                outerShape: [],
                outerStrides: [],
                into: output
            )
            return
        }
        var outerShape = shape
        var outerStrides = input.strides
        let length = outerShape.remove(at: axis)
        let lengthStride = outerStrides.remove(at: axis)
        let outputs = outerShape.reduce(1, *)
        if outputs == 0 { return }
        let (mergedShape, mergedStrides) = KernelLayout.coalesce(shape: outerShape, strides: [outerStrides])
        try run(
            input: input,
            outputs: outputs,
            length: length,
            lengthStride: lengthStride,
            total: -1,
            outerShape: mergedShape,
            outerStrides: mergedStrides[0],
            into: output
        )
    }

    public func matmul(
        m: Int,
        n: Int,
        k: Int,
        batchShape: [Int],
        a: KernelOperand,
        b: KernelOperand,
        c: KernelOperand
    ) throws(DeviceError) {
        let batch = batchShape.reduce(1, *)
        if m == 0 || n == 0 || batch == 0 { return }
        parlaPrecondition(
            (m + 15) / 16 <= 65535,
            "matmul on \(self.gpu.device): \(m) rows is more than the kernel's grid allows"
        )
        Self.checkRank(batchShape.count, "matmul batch shape \(batchShape)")
        let key = CUDAKernelKey.matmul(c.dtype)
        let function = try self.function(key)
        let rank = batchShape.count
        let layout: [Int64] =
            [m, n, k, a.strides[rank], a.strides[rank + 1], b.strides[rank], b.strides[rank + 1], batch, rank].map(
                Int64.init
            )
            + Self.padded(batchShape) + Self.padded(Array(a.strides.prefix(rank)))
            + Self.padded(Array(b.strides.prefix(rank)))
            + Self.padded(c.strides)
        try self.launch(
            function,
            grid: (UInt32((n + 15) / 16), UInt32((m + 15) / 16), UInt32(Swift.min(batch, 65535))),
            block: (16, 16, 1),
            arguments: [.pointer(c), .pointer(a), .pointer(b), .words(layout)],
            name: key.name
        )
    }
}

/// One kernel argument, as the bytes `cuLaunchKernel` copies.
struct KernelArgument {
    /// The argument's bytes.
    var bytes: [UInt8]

    /// The device address of an operand's first element.
    static func pointer(_ operand: KernelOperand) -> KernelArgument {
        let address = operand.allocation.address + UInt64(operand.offset * operand.dtype.byteSize)
        return KernelArgument(bytes: withUnsafeBytes(of: address) { Array($0) })
    }

    /// A null device pointer, for inputs an operation does not read.
    static var null: KernelArgument { KernelArgument(bytes: Array(repeating: 0, count: 8)) }

    /// A scalar converted to `dtype`.
    static func scalar(_ value: KernelScalar, as dtype: DType) -> KernelArgument {
        let (double, integer): (Double, Int64)
        switch value {
        case .float(let x): (double, integer) = (x, x.isFinite ? Int64(Swift.max(Swift.min(x, 9.2e18), -9.2e18)) : 0)
        case .integer(let i): (double, integer) = (Double(i), i)
        }
        switch dtype {
        case .float32: return KernelArgument(bytes: withUnsafeBytes(of: Float(double)) { Array($0) })
        case .float64: return KernelArgument(bytes: withUnsafeBytes(of: double) { Array($0) })
        case .int32: return KernelArgument(bytes: withUnsafeBytes(of: Int32(truncatingIfNeeded: integer)) { Array($0) })
        case .int64: return KernelArgument(bytes: withUnsafeBytes(of: integer) { Array($0) })
        case .uint8: return KernelArgument(bytes: withUnsafeBytes(of: UInt8(truncatingIfNeeded: integer)) { Array($0) })
        }
    }

    /// A layout structure of 64-bit words.
    static func words(_ values: [Int64]) -> KernelArgument {
        KernelArgument(bytes: values.withUnsafeBytes { Array($0) })
    }
}

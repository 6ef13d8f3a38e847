#if canImport(Glibc)
import Glibc
#endif

/// The host implementation of Parla's generated kernels, run by the simulated driver when one is
/// launched: it reads the launch's arguments as the CUDA C of ``CUDAKernelSource`` declares them,
/// checks that every element the kernel touches lies in memory the launching context may access, and
/// computes what the kernel computes, from the same rows of the table of operation semantics
/// (`OperationSemantics.swift`) that the kernel's CUDA C comes from.
enum SimulatedKernel {
    /// Reads the arguments of a launch of `kernel` from device `ordinal`, checks the memory they name,
    /// and returns the work to queue.
    static func prepare(
        _ kernel: CUDAKernelKey,
        parameters: UnsafeMutablePointer<UnsafeMutableRawPointer?>,
        on ordinal: Int,
        in world: borrowing SimulatedCUDA.World
    ) throws(SimulatedCUDA.Refusal) -> @Sendable () -> Void {
        func argument(_ index: Int) throws(SimulatedCUDA.Refusal) -> UnsafeMutableRawPointer {
            guard let pointer = parameters[index] else { throw SimulatedCUDA.Refusal(.invalidValue) }
            return pointer
        }
        func words(_ index: Int, count: Int) throws(SimulatedCUDA.Refusal) -> [Int] {
            let pointer = try argument(index)
            return (0..<count).map { Int(pointer.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        }
        func address(_ index: Int) throws(SimulatedCUDA.Refusal) -> UInt64 {
            try argument(index).loadUnaligned(as: UInt64.self)
        }
        switch kernel {
        case .elementwise(let operation, let output, let input):
            let inputType = input ?? output
            let scalarType = operation == .fill ? output : inputType
            let layout = try words(4, count: CUDAKernelSource.elementwiseLayoutWords)
            let scalarPointer = try argument(3)
            let scalar = Array(UnsafeRawBufferPointer(start: scalarPointer, count: scalarType.byteSize))
            let count = layout[0]
            let rank = layout[1]
            let shape = Array(layout[2..<(2 + rank)])
            let strides = (0..<3).map { k in Array(layout[(2 + (k + 1) * 8)..<(2 + (k + 1) * 8 + rank)]) }
            if count == 0 { return {} }
            let out = try Memory(address(0), shape: shape, strides: strides[0], type: output, for: ordinal, in: world)
            let a =
                operation.inputCount > 0
                ? try Memory(address(1), shape: shape, strides: strides[1], type: inputType, for: ordinal, in: world)
                : nil
            let b =
                operation.inputCount > 1
                ? try Memory(address(2), shape: shape, strides: strides[2], type: inputType, for: ordinal, in: world)
                : nil
            let loop = Loop(count: count, shape: shape, strides: strides)
            return {
                withExtendedLifetime((out, a, b)) {
                    runElementwise(
                        operation,
                        output: output,
                        input: inputType,
                        loop: loop,
                        out: out,
                        a: a,
                        b: b,
                        scalar: scalar
                    )
                }
            }
        case .reduction(let operation, let input):
            let layout = try words(2, count: CUDAKernelSource.reductionLayoutWords)
            let (outputs, length, lengthStride, total, rank) = (layout[0], layout[1], layout[2], layout[3], layout[4])
            let shape = Array(layout[5..<(5 + rank)])
            let strides = Array(layout[13..<(13 + rank)])
            let reduction = Reduction(
                outputs: outputs,
                length: length,
                lengthStride: lengthStride,
                total: total,
                shape: shape,
                strides: strides
            )
            let (low, high) = reduction.inputExtent
            let out = try Memory(
                address(0),
                low: 0,
                high: outputs - 1,
                type: operation.isPositional ? .int64 : input,
                for: ordinal,
                in: world
            )
            let source = try Memory(address(1), low: low, high: high, type: input, for: ordinal, in: world)
            return {
                withExtendedLifetime((out, source)) {
                    runReduction(operation, type: input, reduction, out: out, input: source)
                }
            }
        case .matmul(let type):
            let layout = try words(3, count: CUDAKernelSource.matmulLayoutWords)
            let product = MatrixProduct(layout: layout)
            let c = try Memory(
                address(0),
                shape: product.cShape,
                strides: product.cStrides,
                type: type,
                for: ordinal,
                in: world
            )
            let a = try Memory(
                address(1),
                shape: product.aShape,
                strides: product.aStrides,
                type: type,
                for: ordinal,
                in: world
            )
            let b = try Memory(
                address(2),
                shape: product.bShape,
                strides: product.bStrides,
                type: type,
                for: ordinal,
                in: world
            )
            return {
                withExtendedLifetime((c, a, b)) {
                    runMatmul(type: type, product, c: c, a: a, b: b)
                }
            }
        }
    }

    // MARK: Memory a kernel touches

    /// The memory of one operand: where its element 0 is, kept alive while the kernel is queued.
    struct Memory: @unchecked Sendable {
        // @unchecked Sendable: the block keeps the memory alive; the kernel writes it only on its
        // stream's thread, ordered with other work by streams and events as on a GPU.
        let block: SimulatedCUDA.Block
        /// The address of element 0 (possibly outside the block when no touched element is there).
        let origin: UInt

        var pointer: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: self.origin)! }

        /// The operand at device address `address` whose touched elements are `low...high` (element
        /// offsets) of `type`, checked to lie in one allocation that device `ordinal` may access.
        init(
            _ address: UInt64,
            low: Int,
            high: Int,
            type: DType,
            for ordinal: Int,
            in world: borrowing SimulatedCUDA.World
        ) throws(SimulatedCUDA.Refusal) {
            let owner = Int((address & ~0x8000_0000_0000_0000) >> 44)
            guard address & 0x8000_0000_0000_0000 != 0, owner < world.devices.count,
                owner == ordinal || world.devices[ordinal].peers.contains(owner)
            else { throw SimulatedCUDA.Refusal(.illegalAddress) }
            let size = type.byteSize
            let first = Int64(bitPattern: address) &+ Int64(low * size)
            guard
                let (block, offset) = world.devices[owner].resolve(
                    UInt64(bitPattern: first),
                    bytes: (high - low + 1) * size
                )
            else { throw SimulatedCUDA.Refusal(.illegalAddress) }
            self.block = block
            self.origin = UInt(bitPattern: block.pointer + offset) &- UInt(bitPattern: low * size)
        }

        /// The operand read or written over `shape` with `strides` (in elements).
        init(
            _ address: UInt64,
            shape: [Int],
            strides: [Int],
            type: DType,
            for ordinal: Int,
            in world: borrowing SimulatedCUDA.World
        ) throws(SimulatedCUDA.Refusal) {
            var low = 0
            var high = 0
            for (extent, stride) in zip(shape, strides) where extent > 0 {
                if stride < 0 { low += (extent - 1) * stride } else { high += (extent - 1) * stride }
            }
            try self.init(address, low: low, high: high, type: type, for: ordinal, in: world)
        }

        @inline(__always)
        func load<T: BitwiseCopyable>(_ offset: Int, as type: T.Type) -> T {
            self.pointer.load(fromByteOffset: offset * MemoryLayout<T>.stride, as: T.self)
        }

        @inline(__always)
        func store<T: BitwiseCopyable>(_ value: T, at offset: Int) {
            self.pointer.storeBytes(of: value, toByteOffset: offset * MemoryLayout<T>.stride, as: T.self)
        }
    }

    // MARK: Element-wise

    /// The positions of an element-wise launch: `count` positions of `shape`, each operand stepping by its
    /// own strides (output, a, b).
    struct Loop: Sendable {
        let count: Int
        let shape: [Int]
        let strides: [[Int]]

        /// Calls `body` with the output's, a's and b's element offsets of every position, in order.
        @inline(__always)
        func visit(_ body: (Int, Int, Int) -> Void) {
            let rank = self.shape.count
            for position in 0..<self.count {
                var rest = position
                var offsets = (0, 0, 0)
                for axis in stride(from: rank - 1, through: 0, by: -1) {
                    let extent = self.shape[axis]
                    let index = rest % extent
                    rest /= extent
                    offsets.0 += index * self.strides[0][axis]
                    offsets.1 += index * self.strides[1][axis]
                    offsets.2 += index * self.strides[2][axis]
                }
                body(offsets.0, offsets.1, offsets.2)
            }
        }
    }

    static func runElementwise(
        _ operation: ElementwiseOperation,
        output: DType,
        input: DType,
        loop: Loop,
        out: Memory,
        a: Memory?,
        b: Memory?,
        scalar: [UInt8]
    ) {
        func cast<Source: KernelElement, Target: KernelElement>(_: Source.Type, _: Target.Type) {
            loop.visit { o, i, _ in out.store(Target.converting(a!.load(i, as: Source.self)), at: o) }
        }
        func unary<T: KernelElement, Operation: UnaryOperation>(_: T.Type, _: Operation.Type) {
            loop.visit { o, i, _ in out.store(T.apply(Operation.self, a!.load(i, as: T.self)), at: o) }
        }
        func binary<T: KernelElement, Operation: BinaryOperation>(_: T.Type, _: Operation.Type) {
            let s = scalar.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
            switch operation {
            case .binaryWithScalarRight:
                loop.visit { o, i, _ in out.store(T.apply(Operation.self, a!.load(i, as: T.self), s), at: o) }
            case .binaryWithScalarLeft:
                loop.visit { o, i, _ in out.store(T.apply(Operation.self, s, a!.load(i, as: T.self)), at: o) }
            default:
                loop.visit { o, i, j in
                    out.store(T.apply(Operation.self, a!.load(i, as: T.self), b!.load(j, as: T.self)), at: o)
                }
            }
        }
        func fill<T: KernelElement>(_: T.Type) {
            let s = scalar.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
            loop.visit { o, _, _ in out.store(s, at: o) }
        }
        output.withKernelElementType { (type: any KernelElement.Type) in
            switch operation {
            case .cast: input.withKernelElementType { cast($0, type) }
            case .unary(let op): unary(type, op.semantics)
            case .binary(let op), .binaryWithScalarRight(let op), .binaryWithScalarLeft(let op):
                binary(type, op.semantics)
            case .fill: fill(type)
            }
        }
    }

    // MARK: Reductions

    /// The positions of a reduction launch: `outputs` segments of `length` elements `lengthStride` apart,
    /// segment `o` starting at the offset its index has in `shape` with `strides`; with `total >= 0`,
    /// the segments split `total` elements and the last may be shorter.
    struct Reduction: Sendable {
        let outputs: Int
        let length: Int
        let lengthStride: Int
        let total: Int
        let shape: [Int]
        let strides: [Int]

        func start(of output: Int) -> Int {
            var rest = output
            var offset = 0
            for axis in stride(from: self.shape.count - 1, through: 0, by: -1) {
                offset += (rest % self.shape[axis]) * self.strides[axis]
                rest /= self.shape[axis]
            }
            return offset
        }

        func length(of output: Int) -> Int {
            self.total >= 0 ? Swift.min(self.length, self.total - output * self.length) : self.length
        }

        /// The lowest and highest element offsets read.
        var inputExtent: (Int, Int) {
            var low = Int.max
            var high = Int.min
            for output in 0..<self.outputs where self.length(of: output) > 0 {
                let start = self.start(of: output)
                let end = start + (self.length(of: output) - 1) * self.lengthStride
                low = Swift.min(low, Swift.min(start, end))
                high = Swift.max(high, Swift.max(start, end))
            }
            return low <= high ? (low, high) : (0, 0)
        }
    }

    static func runReduction(
        _ operation: ReductionOperator,
        type: DType,
        _ reduction: Reduction,
        out: Memory,
        input: Memory
    ) {
        func fold<T: KernelElement, Operation: FoldingReduction>(_: T.Type, _: Operation.Type) {
            for output in 0..<reduction.outputs {
                let start = reduction.start(of: output)
                var accumulator = T.identity(of: Operation.self)
                for j in 0..<Swift.max(reduction.length(of: output), 0) {
                    accumulator = Operation.combine(
                        accumulator,
                        input.load(start + j * reduction.lengthStride, as: T.self)
                    )
                }
                out.store(accumulator, at: output)
            }
        }
        func position<T: KernelElement, Operation: PositionalReduction>(_: T.Type, _: Operation.Type) {
            for output in 0..<reduction.outputs {
                let start = reduction.start(of: output)
                var best = T.zero
                var position = -1
                for j in 0..<Swift.max(reduction.length(of: output), 0) {
                    let x = input.load(start + j * reduction.lengthStride, as: T.self)
                    if position < 0 || Operation.replaces(x, best) {
                        best = x
                        position = j
                    }
                }
                out.store(Int64(position), at: output)
            }
        }
        type.withKernelElementType { (type: any KernelElement.Type) in
            if let folding = operation.folding {
                fold(type, folding)
            } else {
                position(type, operation.positional!)
            }
        }
    }

    // MARK: Matrix products

    /// The positions of a matrix-product launch (the layout ``CUDAKernelSource/matmul(_:)`` declares).
    struct MatrixProduct: Sendable {
        let m, n, k, aRow, aColumn, bRow, bColumn, batch: Int
        let batchShape: [Int]
        let aBatchStrides, bBatchStrides, cBatchStrides: [Int]

        init(layout: [Int]) {
            (m, n, k, aRow, aColumn, bRow, bColumn, batch) =
                (layout[0], layout[1], layout[2], layout[3], layout[4], layout[5], layout[6], layout[7])
            let rank = layout[8]
            self.batchShape = Array(layout[9..<(9 + rank)])
            self.aBatchStrides = Array(layout[17..<(17 + rank)])
            self.bBatchStrides = Array(layout[25..<(25 + rank)])
            self.cBatchStrides = Array(layout[33..<(33 + rank)])
        }

        var aShape: [Int] { self.batchShape + [self.m, self.k] }
        var aStrides: [Int] { self.aBatchStrides + [self.aRow, self.aColumn] }
        var bShape: [Int] { self.batchShape + [self.k, self.n] }
        var bStrides: [Int] { self.bBatchStrides + [self.bRow, self.bColumn] }
        var cShape: [Int] { self.batchShape + [self.m, self.n] }
        var cStrides: [Int] { self.cBatchStrides + [self.n, 1] }

        /// The batch position `z`'s offsets into a, b and c.
        func offsets(_ z: Int) -> (Int, Int, Int) {
            var rest = z
            var offsets = (0, 0, 0)
            for axis in stride(from: self.batchShape.count - 1, through: 0, by: -1) {
                let index = rest % self.batchShape[axis]
                rest /= self.batchShape[axis]
                offsets.0 += index * self.aBatchStrides[axis]
                offsets.1 += index * self.bBatchStrides[axis]
                offsets.2 += index * self.cBatchStrides[axis]
            }
            return offsets
        }
    }

    static func runMatmul(type: DType, _ product: MatrixProduct, c: Memory, a: Memory, b: Memory) {
        func run<T: KernelElement>(_: T.Type) {
            for z in 0..<product.batch {
                let (oa, ob, oc) = product.offsets(z)
                for row in 0..<product.m {
                    for column in 0..<product.n {
                        var accumulator = T.zero
                        for q in 0..<product.k {
                            let x = a.load(oa + row * product.aRow + q * product.aColumn, as: T.self)
                            let y = b.load(ob + q * product.bRow + column * product.bColumn, as: T.self)
                            accumulator = T.apply(
                                BinaryOperator.Add.self,
                                accumulator,
                                T.apply(BinaryOperator.Multiply.self, x, y)
                            )
                        }
                        c.store(accumulator, at: oc + row * product.n + column)
                    }
                }
            }
        }
        type.withKernelElementType { run($0) }
    }
}

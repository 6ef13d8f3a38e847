/// Generates the CUDA C source of Parla's kernels, one program per (operation, element types).
///
/// Every kernel is `extern "C" __global__ void parla_kernel(...)`; arrays are addressed through element
/// offsets computed from a row-major index and per-operand strides, so views of any layout (transposed,
/// stepped, broadcast) need no copy first.
enum CUDAKernelSource {
    /// The largest number of axes a kernel handles.
    static let maxRank = 8

    static let prelude = """
        #define PARLA_MAX_RANK 8
        typedef long long i64;
        typedef unsigned long long u64;

        """

    // MARK: Element-wise

    /// The layout parameter of element-wise kernels: count, rank, shape, and strides of out/a/b.
    static let elementwiseLayoutWords = 2 + 4 * maxRank

    static func elementwise(_ operation: ElementwiseOperation, output: DType, input: DType?) -> String {
        let outType = output.cTypeName
        let inType = (input ?? output).cTypeName
        let value: String
        switch operation {
        case .unary(let op):
            value = op.semantics.cuda("a[oa]", output)
        case .binary(let op):
            value = op.semantics.cuda("a[oa]", "b[ob]", output)
        case .binaryWithScalarRight(let op):
            value = op.semantics.cuda("a[oa]", "s", output)
        case .binaryWithScalarLeft(let op):
            value = op.semantics.cuda("s", "a[oa]", output)
        case .cast:
            value = Conversion.cuda("a[oa]", from: input ?? output, to: output)
        case .fill:
            value = "s"
        }
        let scalarType = operation == .fill ? outType : inType
        return prelude + """
            struct Layout { i64 n; i64 ndim; i64 shape[PARLA_MAX_RANK]; i64 so[PARLA_MAX_RANK]; i64 sa[PARLA_MAX_RANK]; i64 sb[PARLA_MAX_RANK]; };
            extern "C" __global__ void parla_kernel(\(outType)* out, const \(inType)* a, const \(inType)* b, \(scalarType) s, Layout L) {
                for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < L.n; i += (i64)gridDim.x * blockDim.x) {
                    i64 oo = 0, oa = 0, ob = 0;
                    if (L.ndim == 1) {
                        oo = i * L.so[0]; oa = i * L.sa[0]; ob = i * L.sb[0];
                    } else {
                        i64 r = i;
                        for (int d = (int)L.ndim - 1; d >= 0; --d) {
                            i64 e = L.shape[d]; i64 q = r / e; i64 x = r - q * e; r = q;
                            oo += x * L.so[d]; oa += x * L.sa[d]; ob += x * L.sb[d];
                        }
                    }
                    (void)a; (void)b; (void)s; (void)oa; (void)ob;
                    out[oo] = \(value);
                }
            }
            """
    }

    // MARK: Reductions

    /// The layout parameter of reductions: outputs, segment length, stride along it, total (or -1),
    /// rank, and the shape and strides of the output positions.
    static let reductionLayoutWords = 5 + 2 * maxRank

    static func reduction(_ operation: ReductionOperator, input: DType) -> String {
        let t = input.cTypeName
        let outType = operation.isPositional ? "i64" : t
        // A thread folds its strided elements, then the block merges pairs of partial results; a fold
        // merges by folding, a positional reduction by its merge rule.
        let identity: String
        let merge: String
        if let folding = operation.folding {
            identity = folding.cudaIdentity(input)
            merge = folding.cudaCombine(input)
        } else {
            identity = "(\(t))0"
            merge = operation.positional!.cudaMerge
        }
        return prelude + """
            struct Layout { i64 m; i64 len; i64 lenStride; i64 total; i64 ndim; i64 shape[PARLA_MAX_RANK]; i64 strides[PARLA_MAX_RANK]; };
            extern "C" __global__ void parla_kernel(\(outType)* out, const \(t)* in, Layout L) {
                __shared__ \(t) values[256];
                __shared__ i64 positions[256];
                const int tid = threadIdx.x;
                for (i64 o = blockIdx.x; o < L.m; o += gridDim.x) {
                    i64 base = 0, r = o;
                    for (int d = (int)L.ndim - 1; d >= 0; --d) {
                        i64 e = L.shape[d]; i64 q = r / e; base += (r - q * e) * L.strides[d]; r = q;
                    }
                    i64 len = L.len;
                    if (L.total >= 0) { i64 rest = L.total - o * L.len; if (rest < len) len = rest; }
                    \(t) acc = \(identity);
                    i64 ai = -1;
                    for (i64 j = tid; j < len; j += blockDim.x) {
                        \(t) x = in[base + j * L.lenStride];
                        i64 xi = j;
                        (void)xi;
                        \(merge)
                    }
                    values[tid] = acc;
                    positions[tid] = ai;
                    __syncthreads();
                    for (int w = blockDim.x / 2; w > 0; w >>= 1) {
                        if (tid < w) {
                            acc = values[tid]; ai = positions[tid];
                            \(t) x = values[tid + w];
                            i64 xi = positions[tid + w];
                            (void)xi;
                            \(merge)
                            values[tid] = acc; positions[tid] = ai;
                        }
                        __syncthreads();
                    }
                    if (tid == 0) out[o] = \(operation.isPositional ? "positions[0]" : "values[0]");
                    __syncthreads();
                }
            }
            """
    }

    // MARK: Matrix product

    /// The layout parameter of matmul: m, n, k, a's row/column strides, b's, batch count and rank, and
    /// the batch shape with a's, b's and c's batch strides.
    static let matmulLayoutWords = 9 + 4 * maxRank

    static func matmul(_ type: DType) -> String {
        let t = type.cTypeName
        let product = BinaryOperator.Multiply.cuda("As[threadIdx.y][q]", "Bs[q][threadIdx.x]", type)
        let mad = "acc = \(BinaryOperator.Add.cuda("acc", product, type));"
        return prelude + """
            struct Layout { i64 m; i64 n; i64 k; i64 aRow; i64 aCol; i64 bRow; i64 bCol; i64 batch; i64 ndim;
                            i64 shape[PARLA_MAX_RANK]; i64 sa[PARLA_MAX_RANK]; i64 sb[PARLA_MAX_RANK]; i64 sc[PARLA_MAX_RANK]; };
            extern "C" __global__ void parla_kernel(\(t)* c, const \(t)* a, const \(t)* b, Layout L) {
                __shared__ \(t) As[16][17];
                __shared__ \(t) Bs[16][17];
                const i64 row = (i64)blockIdx.y * 16 + threadIdx.y;
                const i64 col = (i64)blockIdx.x * 16 + threadIdx.x;
                for (i64 z = blockIdx.z; z < L.batch; z += gridDim.z) {
                    i64 oa = 0, ob = 0, oc = 0, r = z;
                    for (int d = (int)L.ndim - 1; d >= 0; --d) {
                        i64 e = L.shape[d]; i64 q = r / e; i64 x = r - q * e; r = q;
                        oa += x * L.sa[d]; ob += x * L.sb[d]; oc += x * L.sc[d];
                    }
                    \(t) acc = 0;
                    for (i64 t0 = 0; t0 < L.k; t0 += 16) {
                        i64 ka = t0 + threadIdx.x;
                        i64 kb = t0 + threadIdx.y;
                        As[threadIdx.y][threadIdx.x] = (row < L.m && ka < L.k) ? a[oa + row * L.aRow + ka * L.aCol] : (\(t))0;
                        Bs[threadIdx.y][threadIdx.x] = (kb < L.k && col < L.n) ? b[ob + kb * L.bRow + col * L.bCol] : (\(t))0;
                        __syncthreads();
                        for (int q = 0; q < 16; ++q) { \(mad) }
                        __syncthreads();
                    }
                    if (row < L.m && col < L.n) c[oc + row * L.n + col] = acc;
                }
            }
            """
    }
}

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
            value = unaryExpression(op, "a[oa]", type: output)
        case .binary(let op):
            value = binaryExpression(op, "a[oa]", "b[ob]", type: output)
        case .binaryWithScalarRight(let op):
            value = binaryExpression(op, "a[oa]", "s", type: output)
        case .binaryWithScalarLeft(let op):
            value = binaryExpression(op, "s", "a[oa]", type: output)
        case .cast:
            value = castExpression("a[oa]", from: input ?? output, to: output)
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

    /// C for `f(x)` with NumPy semantics (integers wrap).
    static func unaryExpression(_ op: UnaryOperator, _ x: String, type: DType) -> String {
        let t = type.cTypeName
        let isFloat = type == .float32 || type == .float64
        let f = type == .float32 ? "f" : ""
        switch op {
        case .copy: return x
        case .negate: return isFloat ? "(-\(x))" : "(\(t))(0ULL - (u64)\(x))"
        case .abs:
            if isFloat { return "fabs\(f)(\(x))" }
            if type == .uint8 { return x }
            return "(\(x) < 0 ? (\(t))(0ULL - (u64)\(x)) : \(x))"
        case .sqrt: return "sqrt\(f)(\(x))"
        case .exp: return "exp\(f)(\(x))"
        case .log: return "log\(f)(\(x))"
        case .sin: return "sin\(f)(\(x))"
        case .cos: return "cos\(f)(\(x))"
        case .tanh: return "tanh\(f)(\(x))"
        }
    }

    /// C for `f(x, y)` with NumPy semantics (integers wrap; integer division by zero gives 0).
    static func binaryExpression(_ op: BinaryOperator, _ x: String, _ y: String, type: DType) -> String {
        let t = type.cTypeName
        let isFloat = type == .float32 || type == .float64
        switch op {
        case .add: return isFloat ? "(\(x) + \(y))" : "(\(t))((u64)\(x) + (u64)\(y))"
        case .subtract: return isFloat ? "(\(x) - \(y))" : "(\(t))((u64)\(x) - (u64)\(y))"
        case .multiply: return isFloat ? "(\(x) * \(y))" : "(\(t))((u64)\(x) * (u64)\(y))"
        case .divide:
            if isFloat { return "(\(x) / \(y))" }
            if type == .uint8 { return "(\(y) == 0 ? (\(t))0 : (\(t))(\(x) / \(y)))" }
            return "(\(y) == 0 ? (\(t))0 : (\(y) == (\(t))-1 ? (\(t))(0ULL - (u64)\(x)) : (\(t))(\(x) / \(y))))"
        case .maximum: return "((\(x) != \(x) || \(x) > \(y)) ? \(x) : \(y))"
        case .minimum: return "((\(x) != \(x) || \(x) < \(y)) ? \(x) : \(y))"
        case .pow: return type == .float32 ? "powf(\(x), \(y))" : "pow(\(x), \(y))"
        }
    }

    /// C for `astype`: floats truncate toward zero and saturate into integers (NaN gives 0); integers
    /// wrap when narrowed; everything else converts to nearest.
    static func castExpression(_ x: String, from source: DType, to target: DType) -> String {
        let t = target.cTypeName
        let sourceIsFloat = source == .float32 || source == .float64
        let targetIsFloat = target == .float32 || target == .float64
        if sourceIsFloat && !targetIsFloat {
            let (low, high): (String, String)
            switch target {
            case .int32: (low, high) = ("-2147483648.0", "2147483647.0")
            case .int64: (low, high) = ("-9223372036854775808.0", "9223372036854775808.0")
            default: (low, high) = ("0.0", "255.0")
            }
            let maxValue: String
            switch target {
            case .int32: maxValue = "2147483647"
            case .int64: maxValue = "9223372036854775807LL"
            default: maxValue = "255"
            }
            let minValue: String
            switch target {
            case .int32: minValue = "(-2147483647 - 1)"
            case .int64: minValue = "(-9223372036854775807LL - 1)"
            default: minValue = "0"
            }
            return
                "((double)\(x) != (double)\(x) ? (\(t))0 : ((double)\(x) >= \(high) ? (\(t))\(maxValue) : ((double)\(x) <= \(low) ? (\(t))\(minValue) : (\(t))(double)\(x))))"
        }
        if !sourceIsFloat && !targetIsFloat {
            return "(\(t))(u64)(i64)\(x)"
        }
        return "(\(t))\(x)"
    }

    // MARK: Reductions

    /// The layout parameter of reductions: outputs, segment length, stride along it, total (or -1),
    /// rank, and the shape and strides of the output positions.
    static let reductionLayoutWords = 5 + 2 * maxRank

    static func reduction(_ operation: ReductionOperator, input: DType) -> String {
        let t = input.cTypeName
        let isFloat = input == .float32 || input == .float64
        let outType = operation.isPositional ? "i64" : t
        let identity: String
        switch operation {
        case .sum: identity = "(\(t))0"
        case .max:
            identity =
                isFloat
                ? "(\(t))(-1.0/0.0)"
                : (input == .uint8
                    ? "(\(t))0" : (input == .int32 ? "(\(t))(-2147483647 - 1)" : "(\(t))(-9223372036854775807LL - 1)"))
        case .min:
            identity =
                isFloat
                ? "(\(t))(1.0/0.0)"
                : (input == .uint8
                    ? "(\(t))255" : (input == .int32 ? "(\(t))2147483647" : "(\(t))9223372036854775807LL"))
        case .argmax, .argmin: identity = "(\(t))0"
        }
        let merge: String
        switch operation {
        case .sum:
            merge = "acc = \(binaryExpression(.add, "acc", "x", type: input));"
        case .max:
            merge = "if (acc == acc && (x != x || x > acc)) acc = x;"
        case .min:
            merge = "if (acc == acc && (x != x || x < acc)) acc = x;"
        case .argmax, .argmin:
            let better = operation == .argmax ? ">" : "<"
            merge = """
                {
                    bool take;
                    if (ai < 0) take = xi >= 0;
                    else if (xi < 0) take = false;
                    else if (acc != acc) take = (x != x) && xi < ai;
                    else if (x != x) take = true;
                    else if (x \(better) acc) take = true;
                    else if (x == acc) take = xi < ai;
                    else take = false;
                    if (take) { acc = x; ai = xi; }
                }
                """
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
                            \(operation.isPositional ? merge : (operation == .sum ? "acc = \(binaryExpression(.add, "acc", "x", type: input));" : merge))
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
        let isFloat = type == .float32 || type == .float64
        let mad =
            isFloat
            ? "acc += As[threadIdx.y][q] * Bs[q][threadIdx.x];"
            : "acc = (\(t))((u64)acc + (u64)As[threadIdx.y][q] * (u64)Bs[q][threadIdx.x]);"
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

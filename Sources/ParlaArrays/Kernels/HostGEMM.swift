import CParlaKernels
import Dispatch
import ParlaDevices

#if canImport(Glibc)
import Glibc
#endif

/// Matrix products on the host: OpenBLAS when it can be loaded at run time, else Parla's own packed,
/// cache-blocked kernel (with AVX2/FMA when the CPU has it), split over the cores.
public enum HostGEMM {
    /// Which implementation multiplies `Float` and `Double` matrices on the host.
    public enum Backend: String, Sendable {
        /// OpenBLAS's `cblas_?gemm`, loaded with `dlopen` (set `PARLA_BLAS=builtin` to turn it off).
        case openBLAS = "OpenBLAS"
        /// Parla's own kernel with the AVX2/FMA micro-kernel.
        case builtinAVX2 = "built-in (AVX2+FMA)"
        /// Parla's own kernel, portable vector code.
        case builtinPortable = "built-in (portable)"
    }

    /// The backend in use in this process.
    public static var backend: Backend {
        if _OpenBLAS.shared != nil { return .openBLAS }
        return parla_gemm_uses_avx2() != 0 ? .builtinAVX2 : .builtinPortable
    }

    /// Which implementation runs the host's triangular solves, rank-k updates and Cholesky
    /// factorizations: OpenBLAS's CBLAS and LAPACK routines when they load, else Parla's own blocked
    /// kernels (`"built-in"`).
    public static var linearAlgebraBackend: String { HostLAPACK.shared == nil ? "built-in" : "OpenBLAS" }

    /// How many threads the built-in kernel splits a large product over.
    static let threadCount: Int = {
        #if canImport(Glibc)
        return Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }()
}

/// `cblas_sgemm` and `cblas_dgemm` from a `libopenblas` found at run time.
struct _OpenBLAS: @unchecked Sendable {
    // @unchecked Sendable: two immutable C function pointers into a library that is never unloaded.
    typealias SGEMM =
        @convention(c) (
            Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
            UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32
        ) -> Void
    typealias DGEMM =
        @convention(c) (
            Int32, Int32, Int32, Int32, Int32, Int32, Double, UnsafePointer<Double>?, Int32,
            UnsafePointer<Double>?, Int32, Double, UnsafeMutablePointer<Double>?, Int32
        ) -> Void

    let sgemm: SGEMM
    let dgemm: DGEMM

    static let rowMajor: Int32 = 101
    static let noTranspose: Int32 = 111
    static let transpose: Int32 = 112

    /// The loaded library, or `nil` when none is installed or `PARLA_BLAS=builtin`.
    static let shared: _OpenBLAS? = {
        #if canImport(Glibc)
        if let setting = getenv("PARLA_BLAS"), String(cString: setting) == "builtin" { return nil }
        for name in ["libopenblas.so.0", "libopenblas.so"] {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            guard let s = dlsym(handle, "cblas_sgemm"), let d = dlsym(handle, "cblas_dgemm") else {
                dlclose(handle)
                continue
            }
            return _OpenBLAS(sgemm: unsafeBitCast(s, to: SGEMM.self), dgemm: unsafeBitCast(d, to: DGEMM.self))
        }
        #endif
        return nil
    }()

    /// The CBLAS description of a matrix view: transposition flag and leading dimension, when one of
    /// its strides is 1.
    static func layout(rows: Int, columns: Int, rowStride: Int, columnStride: Int) -> (Int32, Int32)? {
        if columnStride == 1 && rowStride >= Swift.max(columns, 1) { return (noTranspose, Int32(rowStride)) }
        if rowStride == 1 && columnStride >= Swift.max(rows, 1) { return (transpose, Int32(columnStride)) }
        return nil
    }
}

/// One 2-D product `C = A × B` on host pointers with element strides; `C`'s rows are contiguous with
/// row stride `ldc`.
struct _GEMMOperands<Element> {
    var m: Int
    var n: Int
    var k: Int
    var a: UnsafePointer<Element>
    var aRow: Int
    var aColumn: Int
    var b: UnsafePointer<Element>
    var bRow: Int
    var bColumn: Int
    var c: UnsafeMutablePointer<Element>
    var ldc: Int
}

extension _GEMMOperands {
    /// The rows `rows` of this product (a horizontal band of `C`).
    func band(_ rows: Range<Int>) -> _GEMMOperands {
        var band = self
        band.m = rows.count
        band.a = self.a + rows.lowerBound * self.aRow
        band.c = self.c + rows.lowerBound * self.ldc
        return band
    }

    /// Runs `body` over bands of rows, in parallel when the product is large enough to pay for it.
    func forEachBand(_ body: (_GEMMOperands) -> Void) {
        let work = self.m * self.n * self.k
        let threads = Swift.min(HostGEMM.threadCount, Swift.max(1, self.m / 48))
        if threads <= 1 || work < 1 << 21 {
            body(self)
            return
        }
        let bandHeight = (self.m + threads - 1) / threads
        // Each band writes its own rows of C; the pointers stay valid because the caller keeps the
        // arrays alive until `concurrentPerform` returns.
        withoutActuallyEscaping(body) { body in
            let operands = UnsafeSendableBox((self, body))
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let (product, work) = operands.value
                let rows = (t * bandHeight)..<Swift.min(product.m, (t + 1) * bandHeight)
                if !rows.isEmpty { work(product.band(rows)) }
            }
        }
    }
}

/// Carries a non-Sendable value into `concurrentPerform`, whose iterations only read it.
struct UnsafeSendableBox<Value>: @unchecked Sendable {
    // @unchecked Sendable: used only for GEMM bands, which read shared inputs and write disjoint rows.
    let value: Value
    init(_ value: Value) { self.value = value }
}

extension NDElement {
    /// `C = A × B` for this element type: BLAS or the packed kernel for floats, a cache-friendly
    /// i-k-j loop for integers.
    static func _gemm(_ p: _GEMMOperands<Self>) {
        if Self.self == Float.self {
            _floatGEMM(unsafeBitCast(p, to: _GEMMOperands<Float>.self))
        } else if Self.self == Double.self {
            _doubleGEMM(unsafeBitCast(p, to: _GEMMOperands<Double>.self))
        } else if Self.self == Int32.self {
            _integerGEMM(unsafeBitCast(p, to: _GEMMOperands<Int32>.self))
        } else if Self.self == Int.self {
            _integerGEMM(unsafeBitCast(p, to: _GEMMOperands<Int>.self))
        } else if Self.self == UInt8.self {
            _integerGEMM(unsafeBitCast(p, to: _GEMMOperands<UInt8>.self))
        } else {
            Self._notAnElementType()
        }
    }
}

/// The integer GEMM: an i-k-j loop whose multiply and add are the table's (wrapping), specialized for
/// each element type (the type is told apart once per product, not per element).
func _integerGEMM<Element: NDElement & KernelIntegerElement>(_ p: _GEMMOperands<Element>) {
    p.forEachBand { q in
        for i in 0..<q.m {
            let row = q.c + i * q.ldc
            for j in 0..<q.n { row[j] = .zero }
            for l in 0..<q.k {
                let x = q.a[i * q.aRow + l * q.aColumn]
                let bRow = q.b + l * q.bRow
                for j in 0..<q.n {
                    let product = Element.apply(BinaryOperator.Multiply.self, x, bRow[j * q.bColumn])
                    row[j] = Element.apply(BinaryOperator.Add.self, row[j], product)
                }
            }
        }
    }
}

func _floatGEMM(_ p: _GEMMOperands<Float>) {
    if let blas = _OpenBLAS.shared,
        let (ta, lda) = _OpenBLAS.layout(rows: p.m, columns: p.k, rowStride: p.aRow, columnStride: p.aColumn),
        let (tb, ldb) = _OpenBLAS.layout(rows: p.k, columns: p.n, rowStride: p.bRow, columnStride: p.bColumn)
    {
        blas.sgemm(
            _OpenBLAS.rowMajor,
            ta,
            tb,
            Int32(p.m),
            Int32(p.n),
            Int32(p.k),
            1,
            p.a,
            lda,
            p.b,
            ldb,
            0,
            p.c,
            Int32(p.ldc)
        )
        return
    }
    p.forEachBand { q in
        parla_sgemm(q.m, q.n, q.k, q.a, q.aRow, q.aColumn, q.b, q.bRow, q.bColumn, q.c, q.ldc)
    }
}

func _doubleGEMM(_ p: _GEMMOperands<Double>) {
    if let blas = _OpenBLAS.shared,
        let (ta, lda) = _OpenBLAS.layout(rows: p.m, columns: p.k, rowStride: p.aRow, columnStride: p.aColumn),
        let (tb, ldb) = _OpenBLAS.layout(rows: p.k, columns: p.n, rowStride: p.bRow, columnStride: p.bColumn)
    {
        blas.dgemm(
            _OpenBLAS.rowMajor,
            ta,
            tb,
            Int32(p.m),
            Int32(p.n),
            Int32(p.k),
            1,
            p.a,
            lda,
            p.b,
            ldb,
            0,
            p.c,
            Int32(p.ldc)
        )
        return
    }
    p.forEachBand { q in
        parla_dgemm(q.m, q.n, q.k, q.a, q.aRow, q.aColumn, q.b, q.bRow, q.bColumn, q.c, q.ldc)
    }
}

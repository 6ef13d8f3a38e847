// Cache-blocked GEMM in the style of BLIS/GotoBLAS: B is packed into KC x NR column slivers, A into
// MR x KC row slivers, and a register-blocked micro-kernel computes an MR x NR tile of C from them.
// Each precision is compiled twice: once for the baseline x86-64 (or any other) target and once with
// AVX2+FMA enabled; the entry points pick the variant at run time, so the binary runs on any CPU.

#include "CParlaKernels.h"

#include <stdlib.h>
#include <string.h>

#define KC 256
#define MC 96
#define NC 2048

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define PARLA_HAVE_AVX2_VARIANT 1
#define PARLA_AVX2_TARGET __attribute__((target("avx2,fma")))
#else
#define PARLA_HAVE_AVX2_VARIANT 0
#define PARLA_AVX2_TARGET
#endif

// GEMM_DEFINE(T, V, NAME, TARGET): defines NAME(m, n, k, ...) for element type T, with vector type V of
// 8 lanes (32 bytes for float, 64 bytes for double, split by the compiler into registers it has).
// The tile is MR=6 rows by NR=16 columns: 12 (float) or 24 (double, halves) vector accumulators.
#define GEMM_DEFINE(T, V, NAME, TARGET)                                                                    \
    TARGET static void NAME##_kernel(ptrdiff_t kc, const T *restrict ap, const T *restrict bp, T *c,       \
                                     ptrdiff_t c_row, ptrdiff_t mr, ptrdiff_t nr) {                        \
        V acc[6][2];                                                                                       \
        for (int r = 0; r < 6; r++) {                                                                      \
            for (int h = 0; h < 2; h++) {                                                                  \
                for (int l = 0; l < 8; l++) acc[r][h][l] = 0;                                              \
            }                                                                                              \
        }                                                                                                  \
        for (ptrdiff_t p = 0; p < kc; p++) {                                                               \
            V b0, b1;                                                                                      \
            memcpy(&b0, bp + p * 16, sizeof(V));                                                           \
            memcpy(&b1, bp + p * 16 + 8, sizeof(V));                                                       \
            const T *arow = ap + p * 6;                                                                    \
            for (int r = 0; r < 6; r++) {                                                                  \
                V av;                                                                                      \
                for (int l = 0; l < 8; l++) av[l] = arow[r];                                               \
                acc[r][0] = acc[r][0] + av * b0;                                                           \
                acc[r][1] = acc[r][1] + av * b1;                                                           \
            }                                                                                              \
        }                                                                                                  \
        for (ptrdiff_t r = 0; r < mr; r++) {                                                               \
            T *crow = c + r * c_row;                                                                       \
            if (nr == 16) {                                                                                \
                V c0, c1;                                                                                  \
                memcpy(&c0, crow, sizeof(V));                                                              \
                memcpy(&c1, crow + 8, sizeof(V));                                                          \
                c0 = c0 + acc[r][0];                                                                       \
                c1 = c1 + acc[r][1];                                                                       \
                memcpy(crow, &c0, sizeof(V));                                                              \
                memcpy(crow + 8, &c1, sizeof(V));                                                          \
            } else {                                                                                       \
                for (ptrdiff_t j = 0; j < nr; j++) crow[j] += acc[r][j / 8][j % 8];                        \
            }                                                                                              \
        }                                                                                                  \
    }                                                                                                      \
                                                                                                           \
    TARGET static void NAME##_blocked(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const T *a, ptrdiff_t a_row,  \
                                      ptrdiff_t a_col, const T *b, ptrdiff_t b_row, ptrdiff_t b_col, T *c, \
                                      ptrdiff_t c_row, T *apack, T *bpack) {                               \
        for (ptrdiff_t i = 0; i < m; i++) memset(c + i * c_row, 0, (size_t)n * sizeof(T));                 \
        for (ptrdiff_t jc = 0; jc < n; jc += NC) {                                                         \
            ptrdiff_t nc = n - jc < NC ? n - jc : NC;                                                      \
            for (ptrdiff_t pc = 0; pc < k; pc += KC) {                                                     \
                ptrdiff_t kc = k - pc < KC ? k - pc : KC;                                                  \
                /* Pack B[pc:pc+kc, jc:jc+nc] into slivers of 16 columns, zero-padded. */                  \
                for (ptrdiff_t js = 0; js < nc; js += 16) {                                                \
                    ptrdiff_t nr = nc - js < 16 ? nc - js : 16;                                            \
                    T *dst = bpack + js * kc;                                                              \
                    for (ptrdiff_t p = 0; p < kc; p++) {                                                   \
                        const T *src = b + (pc + p) * b_row + (jc + js) * b_col;                           \
                        ptrdiff_t j = 0;                                                                   \
                        if (b_col == 1) {                                                                  \
                            for (; j < nr; j++) dst[p * 16 + j] = src[j];                                  \
                        } else {                                                                           \
                            for (; j < nr; j++) dst[p * 16 + j] = src[j * b_col];                          \
                        }                                                                                  \
                        for (; j < 16; j++) dst[p * 16 + j] = 0;                                           \
                    }                                                                                      \
                }                                                                                          \
                for (ptrdiff_t ic = 0; ic < m; ic += MC) {                                                 \
                    ptrdiff_t mc = m - ic < MC ? m - ic : MC;                                              \
                    /* Pack A[ic:ic+mc, pc:pc+kc] into slivers of 6 rows, zero-padded. */                  \
                    for (ptrdiff_t is = 0; is < mc; is += 6) {                                             \
                        ptrdiff_t mr = mc - is < 6 ? mc - is : 6;                                          \
                        T *dst = apack + is * kc;                                                          \
                        for (ptrdiff_t p = 0; p < kc; p++) {                                               \
                            ptrdiff_t r = 0;                                                               \
                            for (; r < mr; r++) dst[p * 6 + r] = a[(ic + is + r) * a_row + (pc + p) * a_col]; \
                            for (; r < 6; r++) dst[p * 6 + r] = 0;                                         \
                        }                                                                                  \
                    }                                                                                      \
                    for (ptrdiff_t js = 0; js < nc; js += 16) {                                            \
                        ptrdiff_t nr = nc - js < 16 ? nc - js : 16;                                        \
                        for (ptrdiff_t is = 0; is < mc; is += 6) {                                         \
                            ptrdiff_t mr = mc - is < 6 ? mc - is : 6;                                      \
                            NAME##_kernel(kc, apack + is * kc, bpack + js * kc,                            \
                                          c + (ic + is) * c_row + jc + js, c_row, mr, nr);                 \
                        }                                                                                  \
                    }                                                                                      \
                }                                                                                          \
            }                                                                                              \
        }                                                                                                  \
    }

typedef float parla_v8f __attribute__((vector_size(32)));
typedef double parla_v8d __attribute__((vector_size(64)));

GEMM_DEFINE(float, parla_v8f, sgemm_generic, )
GEMM_DEFINE(double, parla_v8d, dgemm_generic, )
#if PARLA_HAVE_AVX2_VARIANT
GEMM_DEFINE(float, parla_v8f, sgemm_avx2, PARLA_AVX2_TARGET)
GEMM_DEFINE(double, parla_v8d, dgemm_avx2, PARLA_AVX2_TARGET)
#endif

int parla_gemm_uses_avx2(void) {
#if PARLA_HAVE_AVX2_VARIANT
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

#define GEMM_ENTRY(T, NAME)                                                                                \
    void parla_##NAME(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const T *a, ptrdiff_t a_row, ptrdiff_t a_col,  \
                      const T *b, ptrdiff_t b_row, ptrdiff_t b_col, T *c, ptrdiff_t c_row) {               \
        if (m <= 0 || n <= 0) return;                                                                      \
        size_t nc = (size_t)(n < NC ? n : NC);                                                             \
        size_t bsize = ((nc + 15) / 16) * 16 * KC;                                                         \
        T *bpack = aligned_alloc(64, ((bsize * sizeof(T)) + 63) / 64 * 64);                                \
        T *apack = aligned_alloc(64, ((size_t)(MC + 6) * KC * sizeof(T) + 63) / 64 * 64);                  \
        if (!bpack || !apack) abort();                                                                     \
        if (parla_gemm_uses_avx2()) {                                                                      \
            NAME##_avx2_dispatch(m, n, k, a, a_row, a_col, b, b_row, b_col, c, c_row, apack, bpack);       \
        } else {                                                                                           \
            NAME##_generic_blocked(m, n, k, a, a_row, a_col, b, b_row, b_col, c, c_row, apack, bpack);     \
        }                                                                                                  \
        free(apack);                                                                                       \
        free(bpack);                                                                                       \
    }

#if PARLA_HAVE_AVX2_VARIANT
#define sgemm_avx2_dispatch sgemm_avx2_blocked
#define dgemm_avx2_dispatch dgemm_avx2_blocked
#else
#define sgemm_avx2_dispatch sgemm_generic_blocked
#define dgemm_avx2_dispatch dgemm_generic_blocked
#endif

GEMM_ENTRY(float, sgemm)
GEMM_ENTRY(double, dgemm)

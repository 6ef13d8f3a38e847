#ifndef C_PARLA_KERNELS_H
#define C_PARLA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// C[i, j] = sum_k A[i, k] * B[k, j] for i < m, j < n, with element strides.
/// A is read at a[i * a_row + k * a_col], B at b[k * b_row + j * b_col]; C is written at
/// c[i * c_row + j] (its rows contiguous), overwriting what was there.
/// Cache-blocked, packed, with an AVX2/FMA micro-kernel chosen at run time when the CPU has it.
void parla_sgemm(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                 const float *a, ptrdiff_t a_row, ptrdiff_t a_col,
                 const float *b, ptrdiff_t b_row, ptrdiff_t b_col,
                 float *c, ptrdiff_t c_row);

/// The double-precision twin of parla_sgemm.
void parla_dgemm(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                 const double *a, ptrdiff_t a_row, ptrdiff_t a_col,
                 const double *b, ptrdiff_t b_row, ptrdiff_t b_col,
                 double *c, ptrdiff_t c_row);

/// 1 when the AVX2+FMA micro-kernels are in use on this CPU, else 0.
int parla_gemm_uses_avx2(void);

#ifdef __cplusplus
}
#endif

#endif

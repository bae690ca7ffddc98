/* qc_kernel.h: the one portability header every kernel in kernels/ includes.
 *
 * Each kernel file compiles two ways (DESIGN section 5):
 *   - on a GPU by NVRTC through CuPy's RawModule (__CUDACC__ is defined);
 *   - on a CPU by the system C++ compiler with OpenMP into a shared library
 *     called through ctypes.
 * A kernel is written once as a loop body over an index range; QC_FOR turns
 * that into a grid-stride loop on the GPU and an OpenMP loop on the CPU.
 *
 * Conventions the Python loader relies on (qc_sim/backend/kernels.py):
 *   - every kernel is declared `QC_KERNEL void name(int n, ...)`, on one
 *     logical declaration, and n is the number of loop iterations;
 *   - arguments are pointers to double / int / long long / unsigned
 *     long long, or scalars of those types.
 */
#ifndef QC_KERNEL_H
#define QC_KERNEL_H

#ifdef __CUDACC__
#define QC_KERNEL extern "C" __global__
#define QC_DEVICE __device__ __forceinline__
#define QC_RESTRICT __restrict__
#define QC_FOR(i, n)                                                        \
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n);            \
         i += blockDim.x * gridDim.x)
#define QC_LDG(p) __ldg(p)
#else
#include <math.h>
#define QC_KERNEL extern "C"
#define QC_DEVICE static inline
#define QC_RESTRICT __restrict__
#define QC_PRAGMA(x) _Pragma(#x)
#define QC_FOR(i, n)                                                        \
    QC_PRAGMA(omp parallel for schedule(static))                            \
    for (int i = 0; i < (n); ++i)
#define QC_LDG(p) (*(p))
#endif

#define QC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define QC_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Periodic image codes: three shifts in [-511, 511] packed into one int, so a
 * neighbour entry is (index, image) and the bond vector is
 * x[j] - x[i] + shift . box_length, valid for the list's whole lifetime. */
#define QC_IMAGE_BITS 10
#define QC_IMAGE_BIAS 511
#define QC_IMAGE_ZERO (QC_IMAGE_BIAS | (QC_IMAGE_BIAS << QC_IMAGE_BITS) | (QC_IMAGE_BIAS << (2 * QC_IMAGE_BITS)))
QC_DEVICE int qc_image_shift(int code, int axis)
{
    return ((code >> (QC_IMAGE_BITS * axis)) & ((1 << QC_IMAGE_BITS) - 1)) - QC_IMAGE_BIAS;
}

/* The bond vector d = x_i - (x_j + shift * L) of neighbour entry (j, code), Å. Most entries
 * have no periodic shift; they skip the decode. */
QC_DEVICE void qc_bond(const double* QC_RESTRICT x, const double* QC_RESTRICT box, double xi,
                       double yi, double zi, int j, int code, double* dx, double* dy, double* dz)
{
    if (code == QC_IMAGE_ZERO) {
        *dx = xi - x[3 * j]; *dy = yi - x[3 * j + 1]; *dz = zi - x[3 * j + 2];
    } else {
        *dx = xi - x[3 * j] - qc_image_shift(code, 0) * box[0];
        *dy = yi - x[3 * j + 1] - qc_image_shift(code, 1) * box[1];
        *dz = zi - x[3 * j + 2] - qc_image_shift(code, 2) * box[2];
    }
}

#endif

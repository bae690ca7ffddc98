/* runtime.cu: small kernels the backend itself uses (and tests of the loader). */
#include "qc_kernel.h"

#ifndef __CUDACC__
#include <omp.h>
extern "C" int qc_max_threads(void) { return omp_get_max_threads(); }
#endif

/* y[i] = a * x[i] + y[i]: the smallest kernel, used to check that a target works. */
QC_KERNEL void axpy(int n, double a, const double* QC_RESTRICT x, double* QC_RESTRICT y)
{
    QC_FOR(i, n) { y[i] = a * x[i] + y[i]; }
}

/* qc_pair.h: the pair formulas (Lennard-Jones, Morse), shared by the atom kernels
 * (pair.cu) and the Cauchy-Born element kernels (cauchy_born.cu). */
#ifndef QC_PAIR_H
#define QC_PAIR_H
#include "qc_kernel.h"

#define QC_PAIR_NPARAM 5

/* Pair energy e(r) and g = -(de/dr)/r, so the force on i is g * (x_i - x_j). */
QC_DEVICE int qc_pair_eval(int style, const double* QC_RESTRICT p, double r2, double* e, double* g)
{
    if (style == 0) {
        if (r2 >= p[2] * p[2]) return 0;
        const double s2 = p[1] * p[1] / r2, s6 = s2 * s2 * s2;
        *e = 4.0 * p[0] * (s6 * s6 - s6) - p[3];
        *g = 24.0 * p[0] * (2.0 * s6 * s6 - s6) / r2;
        return 1;
    }
    if (r2 >= p[3] * p[3]) return 0;
    const double r = sqrt(r2), ex = exp(-p[1] * (r - p[2]));
    *e = p[0] * (ex * ex - 2.0 * ex) - p[4];
    *g = 2.0 * p[0] * p[1] * (ex * ex - ex) / r;
    return 1;
}

#endif

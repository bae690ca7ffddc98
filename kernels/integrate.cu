/* integrate.cu: the per-atom updates of the integrators and the neighbour-list check, fused
 * so that a step does not make a temporary array per arithmetic operation.
 *
 * The kick and drift arithmetic is written in the order of the NumPy expressions in
 * qc_sim/atomistic/dynamics.py, so the CPU target and the NumPy backend give the same bits.
 */
#include "qc_kernel.h"

/* v = v + ((c * f) / m) * free, for the 3 components of each atom; c = dt * ftm2v (ps). */
QC_KERNEL void md_kick(int n, double c, const double* QC_RESTRICT f,
                       const double* QC_RESTRICT mass, const double* QC_RESTRICT free_,
                       double* QC_RESTRICT v)
{
    QC_FOR(i, n) {
        const double m = mass[i], w = free_[i];
        for (int a = 0; a < 3; ++a) v[3 * i + a] = v[3 * i + a] + ((c * f[3 * i + a]) / m) * w;
    }
}

/* x = x + (dt * v) * free. */
QC_KERNEL void md_drift(int n, double dt, const double* QC_RESTRICT v,
                        const double* QC_RESTRICT free_, double* QC_RESTRICT x)
{
    QC_FOR(i, n) {
        const double w = free_[i];
        for (int a = 0; a < 3; ++a) x[3 * i + a] = x[3 * i + a] + (dt * v[3 * i + a]) * w;
    }
}

/* d2[i] = |x_i - ref_i|^2: how far each atom moved since the neighbour list was built. */
QC_KERNEL void displacement_sq(int n, const double* QC_RESTRICT x, const double* QC_RESTRICT ref,
                               double* QC_RESTRICT d2)
{
    QC_FOR(i, n) {
        const double dx = x[3 * i] - ref[3 * i], dy = x[3 * i + 1] - ref[3 * i + 1],
                     dz = x[3 * i + 2] - ref[3 * i + 2];
        d2[i] = dx * dx + dy * dy + dz * dz;
    }
}

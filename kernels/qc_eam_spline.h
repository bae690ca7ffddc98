/* qc_eam_spline.h: LAMMPS's EAM table lookup and cubic-spline evaluation (7 coefficients per
 * grid point), shared by the atom kernels (eam.cu) and the Cauchy-Born element kernels. */
#ifndef QC_EAM_SPLINE_H
#define QC_EAM_SPLINE_H
#include "qc_kernel.h"

QC_DEVICE int qc_eam_index(double x, double rdx, int npoints, double* p)
{
    double q = x * rdx + 1.0;
    int m = (int)q;
    m = QC_MIN(m, npoints - 1);
    q -= m;
    *p = QC_MIN(q, 1.0);
    return m;
}

QC_DEVICE double qc_spline_value(const double* QC_RESTRICT c, double p)
{
    return ((c[3] * p + c[4]) * p + c[5]) * p + c[6];
}

QC_DEVICE double qc_spline_slope(const double* QC_RESTRICT c, double p)
{
    return (c[0] * p + c[1]) * p + c[2];
}

/* The embedding energy F(rho) (into *F) and F'(rho) (returned) from one type's F table,
 * LAMMPS's lookup (row at least 1) and its linear extrapolation above rhomax. */
QC_DEVICE double qc_eam_embedding(const double* QC_RESTRICT table, double rho, double rdrho,
                                  int nrho, double rhomax, double* F)
{
    double p = rho * rdrho + 1.0;
    int m = (int)p;
    m = QC_MAX(1, QC_MIN(m, nrho - 1));
    p -= m;
    p = QC_MIN(p, 1.0);
    const double* coeff = table + (long long)m * 7;
    const double fp = qc_spline_slope(coeff, p);
    double value = qc_spline_value(coeff, p);
    if (rho > rhomax) value += fp * (rho - rhomax);
    *F = value;
    return fp;
}

#endif

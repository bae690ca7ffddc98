/* cauchy_born.cu: Cauchy-Born energy density and first Piola stress per element, and the
 * node gather of element forces (DESIGN section 4).
 *
 * One thread per element: x_j = F R_j over the reference shell R (m, dim), r_j = |x_j|;
 *   W = E_site(r) / Omega_0,   P = sum_j dE/dr_j x_j (x) R_j / (r_j Omega_0)
 * with E_site the potential's site energy (EAM: F(sum rho) + 1/2 sum phi; pair: 1/2 sum e),
 * evaluated with the same helpers as the atom kernels, so element and atom agree.
 * F and P are (ne, dim*dim) row-major; shell (m, dim); W (ne).
 */
#include "qc_kernel.h"
#include "qc_eam_spline.h"
#include "qc_pair.h"

QC_DEVICE void qc_cb_bond(const double* QC_RESTRICT f, const double* QC_RESTRICT R, int dim,
                          double* x, double* rsq)
{
    double s = 0.0;
    for (int a = 0; a < dim; ++a) {
        double v = 0.0;
        for (int b = 0; b < dim; ++b) v += f[a * dim + b] * R[b];
        x[a] = v;
        s += v * v;
    }
    *rsq = s;
}

/* grid = (nrho, nr); scal = (rdrho, rdr, rhomax, cutoff^2); frho, rhor, z2r: this species'
 * tables, (npoints + 1) x 7 each. */
QC_KERNEL void cb_eam(int ne, int dim, const double* QC_RESTRICT F,
                      const double* QC_RESTRICT shell, int m, const int* QC_RESTRICT grid,
                      const double* QC_RESTRICT scal, const double* QC_RESTRICT frho,
                      const double* QC_RESTRICT rhor, const double* QC_RESTRICT z2r,
                      double inv_volume, double* QC_RESTRICT W, double* QC_RESTRICT P)
{
    const int nrho = grid[0], nr = grid[1];
    const double rdrho = scal[0], rdr = scal[1], rhomax = scal[2], cutsq = scal[3];
    QC_FOR(e, ne) {
        const double* f = F + (long long)e * dim * dim;
        double x[3], rsq, rho = 0.0, phisum = 0.0;
        for (int j = 0; j < m; ++j) {
            qc_cb_bond(f, shell + j * dim, dim, x, &rsq);
            if (rsq >= cutsq) continue;
            const double r = sqrt(rsq);
            double p;
            const int k = qc_eam_index(r, rdr, nr, &p);
            rho += qc_spline_value(rhor + (long long)k * 7, p);
            phisum += qc_spline_value(z2r + (long long)k * 7, p) / r;
        }
        double embed;
        const double fp = qc_eam_embedding(frho, rho, rdrho, nrho, rhomax, &embed);
        double acc[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
        for (int j = 0; j < m; ++j) {
            const double* R = shell + j * dim;
            qc_cb_bond(f, R, dim, x, &rsq);
            if (rsq >= cutsq) continue;
            const double r = sqrt(rsq);
            double p;
            const int k = qc_eam_index(r, rdr, nr, &p);
            const double rhop = qc_spline_slope(rhor + (long long)k * 7, p);
            const double* cz = z2r + (long long)k * 7;
            const double z2 = qc_spline_value(cz, p), z2p = qc_spline_slope(cz, p);
            const double phi = z2 / r;
            const double phip = z2p / r - phi / r;
            const double c = (fp * rhop + 0.5 * phip) / r;
            for (int a = 0; a < dim; ++a)
                for (int b = 0; b < dim; ++b) acc[a * dim + b] += c * x[a] * R[b];
        }
        W[e] = (embed + 0.5 * phisum) * inv_volume;
        for (int q = 0; q < dim * dim; ++q) P[(long long)e * dim * dim + q] = acc[q] * inv_volume;
    }
}

/* style and params as pair.cu (one species pair, QC_PAIR_NPARAM values). */
QC_KERNEL void cb_pair(int ne, int dim, const double* QC_RESTRICT F,
                       const double* QC_RESTRICT shell, int m, int style,
                       const double* QC_RESTRICT params, double inv_volume,
                       double* QC_RESTRICT W, double* QC_RESTRICT P)
{
    QC_FOR(e, ne) {
        const double* f = F + (long long)e * dim * dim;
        double x[3], rsq, energy = 0.0;
        double acc[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
        for (int j = 0; j < m; ++j) {
            const double* R = shell + j * dim;
            qc_cb_bond(f, R, dim, x, &rsq);
            double eb, g;
            if (!qc_pair_eval(style, params, rsq, &eb, &g)) continue;
            energy += eb;
            const double c = -0.5 * g;  /* (dE/dr) / r with E = 1/2 sum e and g = -e'/r */
            for (int a = 0; a < dim; ++a)
                for (int b = 0; b < dim; ++b) acc[a * dim + b] += c * x[a] * R[b];
        }
        W[e] = 0.5 * energy * inv_volume;
        for (int q = 0; q < dim * dim; ++q) P[(long long)e * dim * dim + q] = acc[q] * inv_volume;
    }
}

/* out[a] = sum over the CSR entries of node a, in order, of values[element][local] (ncomp
 * components each): element forces gathered per node, deterministic, no atomics. */
QC_KERNEL void gather_nodes(int nn, int ncomp, int k, const long long* QC_RESTRICT start,
                            const long long* QC_RESTRICT element,
                            const long long* QC_RESTRICT local,
                            const double* QC_RESTRICT values, double* QC_RESTRICT out)
{
    QC_FOR(a, nn) {
        for (int c = 0; c < ncomp; ++c) {
            double s = 0.0;
            for (long long q = start[a]; q < start[a + 1]; ++q)
                s += values[(element[q] * k + local[q]) * ncomp + c];
            out[(long long)a * ncomp + c] = s;
        }
    }
}

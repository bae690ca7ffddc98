/* eam.cu: the embedded-atom method over a full neighbour list, interpolated exactly as
 * LAMMPS's pair_style eam (src/MANYBODY/pair_eam.cpp): cubic splines with 7 coefficients
 * per grid point, grid index m = (int)(x * rdx + 1) clamped, fraction p clamped to 1.
 *
 * Two kernels, one thread per atom each (no atomics):
 *   eam_density: rho_i = sum_j rho_{t_j -> t_i}(r_ij), then F'(rho_i) and, if eflag,
 *                F(rho_i) (linearly extrapolated above rhomax, as LAMMPS does);
 *   eam_force:   f_i = sum_j [F'_i rho'_{j->i} + F'_j rho'_{i->j} + phi'_ij] (x_i - x_j)/r
 *                and, if eflag, adds 0.5 * sum_j phi_ij to the site energy.
 * Weighted energies sum_i w_i E_i (the blended handshake, DESIGN section 2): the caller
 * passes F' already multiplied by w, and with wflag the pair term of bond ij is weighted by
 * (w_i + w_j) / 2 (the site energies are multiplied by w afterwards).
 * Spline tables are flattened (table, m, 7) with m = 0..npoints (row 0 unused, as LAMMPS).
 * grid = (nrho, nr, ntypes); scal = (rdrho, rdr, rhomax, cutoff^2).
 */
#include "qc_kernel.h"
#include "qc_eam_spline.h"

/* F'_i rho'_j + F'_j rho'_i, the same bits from either atom of the bond: both products are
 * rounded before the sum (a compiler that fuses a product into an addition, as -O3 with FMA
 * does, would fuse the first-written one, which differs between the two atoms' rows), so the
 * half-row kernels, which compute a bond once for both atoms, match the full-row ones. */
QC_DEVICE double qc_eam_embedding_pair(double a, double b)
{
    return QC_MIN(a, b) + QC_MAX(a, b);
}

/* Bond ij of the force kernels at distance r (entries m, p of the r grid): its pair energy
 * phi and fpair, the force on i being fpair * (x_i - x_j); wscale multiplies the pair term
 * (the blended handshake's (w_i + w_j) / 2) when wflag is set. */
QC_DEVICE double qc_eam_bond(double r, int m, double p, int ti, int tj, double fpi, double fpj,
                             int ntypes, int nr, const double* QC_RESTRICT rhor_spline,
                             const double* QC_RESTRICT z2r_spline,
                             const int* QC_RESTRICT type2rhor, const int* QC_RESTRICT type2z2r,
                             int wflag, double wscale, double* phi)
{
    const int tij = type2rhor[ti * ntypes + tj], tji = type2rhor[tj * ntypes + ti];
    const double rhoip = qc_spline_slope(rhor_spline + ((long long)tij * (nr + 1) + m) * 7, p);
    const double rhojp = tij == tji ? rhoip
        : qc_spline_slope(rhor_spline + ((long long)tji * (nr + 1) + m) * 7, p);
    const double* cz = z2r_spline + ((long long)type2z2r[ti * ntypes + tj] * (nr + 1) + m) * 7;
    const double z2p = qc_spline_slope(cz, p), z2 = qc_spline_value(cz, p);
    const double recip = 1.0 / r;
    *phi = z2 * recip;
    double phip = z2p * recip - *phi * recip;
    if (wflag) phip *= wscale;
    const double psip = qc_eam_embedding_pair(fpi * rhojp, fpj * rhoip) + phip;
    return -psip * recip;
}

QC_KERNEL void eam_density(int n, const double* QC_RESTRICT x, const int* QC_RESTRICT type,
                           const double* QC_RESTRICT box, const int* QC_RESTRICT neighbors,
                           const int* QC_RESTRICT images, const int* QC_RESTRICT counts, int cap,
                           const int* QC_RESTRICT grid, const double* QC_RESTRICT scal,
                           const double* QC_RESTRICT frho_spline, const double* QC_RESTRICT rhor_spline,
                           const int* QC_RESTRICT type2frho, const int* QC_RESTRICT type2rhor,
                           int eflag, double* QC_RESTRICT fp, double* QC_RESTRICT energy)
{
    const int nrho = grid[0], nr = grid[1], ntypes = grid[2];
    const double rdrho = scal[0], rdr = scal[1], rhomax = scal[2], cutsq = scal[3];
    QC_FOR(i, n) {
        const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
        const int ti = type[i];
        double rho = 0.0;
        QC_CUTOFF_ROW(i, cutsq) {
            double p;
            const int m = qc_eam_index(QC_ROW_R, rdr, nr, &p);
            const double* coeff = rhor_spline + ((long long)type2rhor[type[QC_ROW_J] * ntypes + ti] * (nr + 1) + m) * 7;
            rho += qc_spline_value(coeff, p);
        }
        QC_CUTOFF_ROW_END
        double embed;
        fp[i] = qc_eam_embedding(frho_spline + (long long)type2frho[ti] * (nrho + 1) * 7, rho,
                                 rdrho, nrho, rhomax, &embed);
        if (eflag) energy[i] = embed;
    }
}

QC_KERNEL void eam_force(int n, const double* QC_RESTRICT x, const int* QC_RESTRICT type,
                         const double* QC_RESTRICT box, const int* QC_RESTRICT neighbors,
                         const int* QC_RESTRICT images, const int* QC_RESTRICT counts, int cap,
                         const int* QC_RESTRICT grid, const double* QC_RESTRICT scal,
                         const double* QC_RESTRICT rhor_spline, const double* QC_RESTRICT z2r_spline,
                         const int* QC_RESTRICT type2rhor, const int* QC_RESTRICT type2z2r,
                         const double* QC_RESTRICT fp, const double* QC_RESTRICT weight,
                         int wflag, int eflag, int vflag,
                         double* QC_RESTRICT force, double* QC_RESTRICT energy,
                         double* QC_RESTRICT virial)
{
    const int nr = grid[1], ntypes = grid[2];
    const double rdr = scal[1], cutsq = scal[3];
    QC_FOR(i, n) {
        const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
        const int ti = type[i];
        const double fpi = fp[i];
        double fx = 0, fy = 0, fz = 0, ephi = 0;
        double v0 = 0, v1 = 0, v2 = 0, v3 = 0, v4 = 0, v5 = 0;
        QC_CUTOFF_ROW(i, cutsq) {
            const int j = QC_ROW_J;
            const double dx = QC_ROW_DX, dy = QC_ROW_DY, dz = QC_ROW_DZ, r = QC_ROW_R;
            double p, phi;
            const int m = qc_eam_index(r, rdr, nr, &p);
            const double fpair = qc_eam_bond(r, m, p, ti, type[j], fpi, fp[j], ntypes, nr,
                                             rhor_spline, z2r_spline, type2rhor, type2z2r, wflag,
                                             wflag ? 0.5 * (weight[i] + weight[j]) : 1.0, &phi);
            fx += dx * fpair; fy += dy * fpair; fz += dz * fpair;
            ephi += phi;
            v0 += dx * dx * fpair; v1 += dy * dy * fpair; v2 += dz * dz * fpair;
            v3 += dx * dy * fpair; v4 += dx * dz * fpair; v5 += dy * dz * fpair;
        }
        QC_CUTOFF_ROW_END
        force[3 * i] = fx; force[3 * i + 1] = fy; force[3 * i + 2] = fz;
        if (eflag) energy[i] += 0.5 * ephi;
        if (vflag) {
            virial[6 * i] = 0.5 * v0; virial[6 * i + 1] = 0.5 * v1; virial[6 * i + 2] = 0.5 * v2;
            virial[6 * i + 3] = 0.5 * v3; virial[6 * i + 4] = 0.5 * v4; virial[6 * i + 5] = 0.5 * v5;
        }
    }
}

/* The same two sums over half rows, walked by one thread (the CPU target on one OpenMP thread,
 * where they do half the pair work). The list holds upper rows (each atom's partners of higher
 * global id, still in id order), taken in id order (order[s] is the atom of rank s), and a bond
 * adds its term to both atoms at once. Each atom then receives its bonds in the order of its
 * full, id-sorted row, starting from zero, with bitwise the same terms (d_ji = -d_ij exactly;
 * the density, embedding and pair terms are symmetric, a + b = b + a, and
 * qc_eam_embedding_pair rounds both products): the results are bitwise those of eam_density
 * and eam_force. Every atom has a row, ghosts included (a ghost of lower id carries its bonds
 * with owned atoms); bonds of two ghosts (index >= owned) are skipped, and only the owned
 * atoms' results are written. rho, ephi (n,) are scratch. No weights (the blended handshake
 * uses the full-row kernels). */
QC_KERNEL void eam_density_half(int n, int owned, const int* QC_RESTRICT order,
                                const double* QC_RESTRICT x,
                                const int* QC_RESTRICT type, const double* QC_RESTRICT box,
                                const int* QC_RESTRICT neighbors, const int* QC_RESTRICT images,
                                const int* QC_RESTRICT counts, int cap,
                                const int* QC_RESTRICT grid, const double* QC_RESTRICT scal,
                                const double* QC_RESTRICT frho_spline, const double* QC_RESTRICT rhor_spline,
                                const int* QC_RESTRICT type2frho, const int* QC_RESTRICT type2rhor,
                                int eflag, double* QC_RESTRICT rho, double* QC_RESTRICT fp,
                                double* QC_RESTRICT energy)
{
    const int nrho = grid[0], nr = grid[1], ntypes = grid[2];
    const double rdrho = scal[0], rdr = scal[1], rhomax = scal[2], cutsq = scal[3];
    QC_FOR(walker, 1) {
        for (int a = 0; a < n; ++a) rho[a] = 0.0;
        for (int s = 0; s < n; ++s) {
            const int i = order[s];
            const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
            const int ti = type[i];
            const int ghost_i = i >= owned;
            QC_CUTOFF_ROW(i, cutsq) {
                const int j = QC_ROW_J;
                if (ghost_i && j >= owned) continue;
                const int tj = type[j];
                double p;
                const int m = qc_eam_index(QC_ROW_R, rdr, nr, &p);
                rho[i] += qc_spline_value(rhor_spline + ((long long)type2rhor[tj * ntypes + ti] * (nr + 1) + m) * 7, p);
                rho[j] += qc_spline_value(rhor_spline + ((long long)type2rhor[ti * ntypes + tj] * (nr + 1) + m) * 7, p);
            }
            QC_CUTOFF_ROW_END
        }
        for (int i = 0; i < owned; ++i) {
            double embed;
            fp[i] = qc_eam_embedding(frho_spline + (long long)type2frho[type[i]] * (nrho + 1) * 7,
                                     rho[i], rdrho, nrho, rhomax, &embed);
            if (eflag) energy[i] = embed;
        }
    }
}

QC_KERNEL void eam_force_half(int n, int owned, const int* QC_RESTRICT order,
                              const double* QC_RESTRICT x,
                              const int* QC_RESTRICT type, const double* QC_RESTRICT box,
                              const int* QC_RESTRICT neighbors, const int* QC_RESTRICT images,
                              const int* QC_RESTRICT counts, int cap,
                              const int* QC_RESTRICT grid, const double* QC_RESTRICT scal,
                              const double* QC_RESTRICT rhor_spline, const double* QC_RESTRICT z2r_spline,
                              const int* QC_RESTRICT type2rhor, const int* QC_RESTRICT type2z2r,
                              const double* QC_RESTRICT fp, int eflag, int vflag,
                              double* QC_RESTRICT force, double* QC_RESTRICT ephi,
                              double* QC_RESTRICT energy, double* QC_RESTRICT virial)
{
    const int nr = grid[1], ntypes = grid[2];
    const double rdr = scal[1], cutsq = scal[3];
    QC_FOR(walker, 1) {
        qc_half_start(force, ephi, virial, vflag, n);
        for (int s = 0; s < n; ++s) {
            const int i = order[s];
            const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
            const int ti = type[i];
            const double fpi = fp[i];
            const int ghost_i = i >= owned;
            QC_CUTOFF_ROW(i, cutsq) {
                const int j = QC_ROW_J;
                if (ghost_i && j >= owned) continue;
                const double dx = QC_ROW_DX, dy = QC_ROW_DY, dz = QC_ROW_DZ, r = QC_ROW_R;
                double p, phi;
                const int m = qc_eam_index(r, rdr, nr, &p);
                const double fpair = qc_eam_bond(r, m, p, ti, type[j], fpi, fp[j], ntypes, nr,
                                                 rhor_spline, z2r_spline, type2rhor, type2z2r, 0,
                                                 1.0, &phi);
                qc_half_bond(force, virial, vflag, i, j, dx, dy, dz, fpair);
                ephi[i] += phi; ephi[j] += phi;
            }
            QC_CUTOFF_ROW_END
        }
        if (eflag) for (int i = 0; i < owned; ++i) energy[i] += 0.5 * ephi[i];
        qc_half_finish(force, virial, vflag, owned, n);
    }
}

/* pair.cu: pair potentials over a full neighbour list (DESIGN section 3).
 *
 * One thread per atom i sums over its (id-sorted) row: no atomics, bitwise reproducible.
 * Styles: 0 Lennard-Jones, 1 Morse. params[(ti*ntypes + tj)*QC_PAIR_NPARAM + k]:
 *   LJ:    epsilon (eV), sigma (A), cutoff (A), energy shift (eV)
 *   Morse: D0 (eV), alpha (1/A), r0 (A), cutoff (A), energy shift (eV)
 * The shift is subtracted from the pair energy (0 for the plain, unshifted form); cutsq is
 * the square of the largest cutoff (each pair still checks its own).
 * Outputs: force (n,3) eV/A; if eflag, site energy (n,) eV = half the bond energies;
 * if vflag, per-atom virial (n,6) eV = 0.5 * sum_j d_ij (x) f_ij with d_ij = x_i - x_j
 * (xx, yy, zz, xy, xz, yz; LAMMPS's convention). With wflag the energy is the weighted
 * sum_i w_i E_i (the blended handshake): bond ij's force is weighted by (w_i + w_j) / 2.
 */
#include "qc_kernel.h"

#include "qc_pair.h"

QC_KERNEL void pair_force(int n, int style, int ntypes, const double* QC_RESTRICT params,
                          const double* QC_RESTRICT x, const int* QC_RESTRICT type,
                          const double* QC_RESTRICT box, const int* QC_RESTRICT neighbors,
                          const int* QC_RESTRICT images, const int* QC_RESTRICT counts, int cap,
                          double cutsq, const double* QC_RESTRICT weight, int wflag,
                          int eflag, int vflag, double* QC_RESTRICT force,
                          double* QC_RESTRICT energy, double* QC_RESTRICT virial)
{
    QC_FOR(i, n) {
        const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
        const double* pi = params + (long long)type[i] * ntypes * QC_PAIR_NPARAM;
        double fx = 0, fy = 0, fz = 0, ei = 0;
        double v0 = 0, v1 = 0, v2 = 0, v3 = 0, v4 = 0, v5 = 0;
        QC_CUTOFF_ROW(i, cutsq) {
            const double dx = QC_ROW_DX, dy = QC_ROW_DY, dz = QC_ROW_DZ;
            double e, g;
            if (!qc_pair_eval(style, pi + type[QC_ROW_J] * QC_PAIR_NPARAM, dx * dx + dy * dy + dz * dz, &e, &g))
                continue;
            if (wflag) g *= 0.5 * (weight[i] + weight[QC_ROW_J]);
            fx += g * dx; fy += g * dy; fz += g * dz;
            ei += e;
            v0 += dx * dx * g; v1 += dy * dy * g; v2 += dz * dz * g;
            v3 += dx * dy * g; v4 += dx * dz * g; v5 += dy * dz * g;
        }
        QC_CUTOFF_ROW_END
        force[3 * i] = fx; force[3 * i + 1] = fy; force[3 * i + 2] = fz;
        if (eflag) energy[i] = 0.5 * ei * (wflag ? weight[i] : 1.0);
        if (vflag) {
            virial[6 * i] = 0.5 * v0; virial[6 * i + 1] = 0.5 * v1; virial[6 * i + 2] = 0.5 * v2;
            virial[6 * i + 3] = 0.5 * v3; virial[6 * i + 4] = 0.5 * v4; virial[6 * i + 5] = 0.5 * v5;
        }
    }
}

/* The same sums over half rows, walked by one thread (the CPU target on one OpenMP thread;
 * eam.cu's eam_density_half says how the walk keeps the full-row bits): upper rows in
 * global-id order, each bond added to both atoms, bonds of two ghosts skipped, results for the
 * owned atoms only. ebuf (n,) is scratch. No weights. */
QC_KERNEL void pair_force_half(int n, int owned, const int* QC_RESTRICT order,
                               int style, int ntypes,
                               const double* QC_RESTRICT params, const double* QC_RESTRICT x,
                               const int* QC_RESTRICT type, const double* QC_RESTRICT box,
                               const int* QC_RESTRICT neighbors, const int* QC_RESTRICT images,
                               const int* QC_RESTRICT counts, int cap, double cutsq,
                               int eflag, int vflag, double* QC_RESTRICT force,
                               double* QC_RESTRICT ebuf, double* QC_RESTRICT energy,
                               double* QC_RESTRICT virial)
{
    QC_FOR(walker, 1) {
        qc_half_start(force, ebuf, virial, vflag, n);
        for (int s = 0; s < n; ++s) {
            const int i = order[s];
            const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
            const double* pi = params + (long long)type[i] * ntypes * QC_PAIR_NPARAM;
            const int ghost_i = i >= owned;
            QC_CUTOFF_ROW(i, cutsq) {
                const int j = QC_ROW_J;
                if (ghost_i && j >= owned) continue;
                const double dx = QC_ROW_DX, dy = QC_ROW_DY, dz = QC_ROW_DZ;
                double e, g;
                if (!qc_pair_eval(style, pi + type[j] * QC_PAIR_NPARAM, dx * dx + dy * dy + dz * dz, &e, &g))
                    continue;
                qc_half_bond(force, virial, vflag, i, j, dx, dy, dz, g);
                ebuf[i] += e; ebuf[j] += e;
            }
            QC_CUTOFF_ROW_END
        }
        if (eflag) for (int i = 0; i < owned; ++i) energy[i] = 0.5 * ebuf[i];
        qc_half_finish(force, virial, vflag, owned, n);
    }
}

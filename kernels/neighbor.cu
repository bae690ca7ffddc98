/* neighbor.cu: full neighbour lists from a cell (bin) grid (DESIGN section 3).
 *
 * One thread per atom i visits the bins within reach, keeps every (j, image) with
 * |x[j] + image*L - x[i]| < rc, and sorts its row by (global id of j, image code), so a row
 * is the same whatever the atom order or the partition: forces gathered from it need no
 * atomics and are bitwise reproducible. A row longer than `cap` is counted but not stored;
 * the caller grows the capacity and builds again.
 *
 * Positions are never wrapped by a build (so a trajectory does not depend on when lists were
 * built): binning and the distance test use the wrapped copy `x`, and the stored image is
 * relative to the raw positions, shift + wrap[i] - wrap[j], where wrap (n,3) counts the box
 * lengths each raw position lies outside the box.
 */
#include "qc_kernel.h"

QC_DEVICE int qc_floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* Rows are sorted by (global id of j, image code). The sort runs on 64-bit keys
 * (rank[j] << 30 | code), rank being the position of j's global id among all ids, and
 * inv[rank] = j recovers the atom: one array moves instead of three. */
#ifndef __CUDACC__
#include <vector>
/* CPU: insertion sort of the keys in a per-thread buffer. */
QC_DEVICE void qc_sort_row(int* QC_RESTRICT nb, int* QC_RESTRICT im, int m,
                           const int* QC_RESTRICT rank, const int* QC_RESTRICT inv)
{
    thread_local std::vector<long long> keys;
    if ((int)keys.size() < m) keys.resize(2 * m);
    long long* QC_RESTRICT k = keys.data();
    for (int a = 0; a < m; ++a) k[a] = ((long long)rank[nb[a]] << 30) | (long long)im[a];
    for (int a = 1; a < m; ++a) {
        const long long key = k[a];
        int b = a - 1;
        while (b >= 0 && k[b] > key) { k[b + 1] = k[b]; --b; }
        k[b + 1] = key;
    }
    for (int a = 0; a < m; ++a) {
        nb[a] = inv[k[a] >> 30];
        im[a] = (int)(k[a] & ((1LL << 30) - 1));
    }
}
#else
/* GPU: insertion sort in place (no per-thread scratch). */
QC_DEVICE void qc_sort_row(int* QC_RESTRICT nb, int* QC_RESTRICT im, int m,
                           const int* QC_RESTRICT rank, const int* QC_RESTRICT inv)
{
    for (int a = 1; a < m; ++a) {
        const int j = nb[a], c = im[a];
        const long long key = ((long long)rank[j] << 30) | (long long)c;
        int b = a - 1;
        while (b >= 0 && (((long long)rank[nb[b]] << 30) | (long long)im[b]) > key) {
            nb[b + 1] = nb[b];
            im[b + 1] = im[b];
            --b;
        }
        nb[b + 1] = j;
        im[b + 1] = c;
    }
}
#endif

/* Distance from coordinate v to the interval [lo, lo + w] (0 inside). */
QC_DEVICE double qc_gap(double v, double lo, double w)
{
    return QC_MAX(QC_MAX(lo - v, v - (lo + w)), 0.0);
}

/* Append neighbour j of i seen at bin-grid shift (sx, sy, sz) to the row (if it fits). */
QC_DEVICE void qc_store_neighbor(int* QC_RESTRICT row, int* QC_RESTRICT irow, int* m, int cap,
                                 int i, int j, int sx, int sy, int sz,
                                 const int* QC_RESTRICT wrap)
{
    if (*m < cap) {
        row[*m] = j;
        irow[*m] = (sx + wrap[3 * i] - wrap[3 * j] + QC_IMAGE_BIAS)
            | ((sy + wrap[3 * i + 1] - wrap[3 * j + 1] + QC_IMAGE_BIAS) << QC_IMAGE_BITS)
            | ((sz + wrap[3 * i + 2] - wrap[3 * j + 2] + QC_IMAGE_BIAS) << (2 * QC_IMAGE_BITS));
    }
    ++*m;
}

/* Rows are built for the first n of the natoms atoms (all of them, or a rank's owned atoms
 * whose ghosts need no rows of their own); every atom is a candidate neighbour.
 * x: (natoms,3) positions wrapped into the box; wrap: (natoms,3) box lengths removed;
 * rank: (natoms,) position of each atom's global id among all ids, inv: its inverse;
 * xb: (3,natoms) the wrapped positions in bin order, coordinate by coordinate
 * (xb[a*natoms + s] = x[bin_atoms[s]][a]), read contiguously;
 * atom_bin: (natoms,3) bin coordinates of each atom; bin_atoms: atom indices sorted by bin,
 * slot: its inverse (bin_atoms[slot[i]] = i);
 * bin_start: (nbins+1,) offsets into bin_atoms, bins numbered (bz*nby + by)*nbx + bx;
 * grid: (nbx, nby, nbz, kx, ky, kz, perx, pery, perz) as ints; box: (Lx, Ly, Lz);
 * bo, bw: bin-grid origin and bin widths (3,) (bin b spans [bo + b bw, bo + (b+1) bw));
 * upper: keep only partners of higher global id (half rows for the one-thread CPU kernels),
 * rank_b: (natoms,) rank of the atoms in bin order (rank_b[s] = rank[bin_atoms[s]]),
 * bin_top: (nbins,) the highest rank in each bin (-1 when empty), so upper rows pass over
 * bins that hold no partner of higher id; owned: the atoms whose results are wanted (the
 * first ones; the rest are a rank's ghosts, whose upper rows keep owned partners only). */
QC_KERNEL void build_full_list(int n, int natoms, const double* QC_RESTRICT x,
                               const int* QC_RESTRICT wrap,
                               const int* QC_RESTRICT rank, const int* QC_RESTRICT inv,
                               const double* QC_RESTRICT xb, const int* QC_RESTRICT atom_bin,
                               const int* QC_RESTRICT bin_atoms, const int* QC_RESTRICT slot,
                               const int* QC_RESTRICT bin_start, const int* QC_RESTRICT grid,
                               const double* QC_RESTRICT box, const double* QC_RESTRICT bo,
                               const double* QC_RESTRICT bw,
                               double rc2, int cap, int upper, const int* QC_RESTRICT rank_b,
                               const int* QC_RESTRICT bin_top, int owned,
                               const int* QC_RESTRICT owned_b,
                               int* QC_RESTRICT neighbors, int* QC_RESTRICT images,
                               int* QC_RESTRICT counts)
{
    QC_FOR(i, n) {
        const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
        /* upper rows keep only the partners of higher global id (rank_b: rank in bin order) */
        const int lowest = upper ? rank[i] + 1 : -1;
        /* a ghost's upper row keeps only owned partners (bonds of two ghosts are not summed);
         * owned_b: (natoms,) 1 for the owned atoms (index < owned) in bin order */
        const int any_partner = !upper || i < owned;
        int* row = neighbors + (long long)i * cap;
        int* irow = images + (long long)i * cap;
        int m = 0;
#ifndef __CUDACC__
        thread_local std::vector<int> cand, cand_shift;
        thread_local std::vector<double> d2;
        int mc = 0;
#endif
        /* a bin is skipped when its nearest point is beyond the reach from atom i (with a
         * slack far above round-off, so no pair inside the reach is ever lost) */
        const double prune = rc2 + 1e-9;
        for (int oz = -grid[5]; oz <= grid[5]; ++oz) {
            const int uz = atom_bin[3 * i + 2] + oz;
            const double gz = qc_gap(zi, bo[2] + uz * bw[2], bw[2]), gz2 = gz * gz;
            if (gz2 > prune) continue;
            int bz = uz, sz = 0;
            if (grid[8]) { sz = qc_floor_div(bz, grid[2]); bz -= sz * grid[2]; }
            else if (bz < 0 || bz >= grid[2]) continue;
            for (int oy = -grid[4]; oy <= grid[4]; ++oy) {
                const int uy = atom_bin[3 * i + 1] + oy;
                const double gy = qc_gap(yi, bo[1] + uy * bw[1], bw[1]), gyz2 = gy * gy + gz2;
                if (gyz2 > prune) continue;
                int by = uy, sy = 0;
                if (grid[7]) { sy = qc_floor_div(by, grid[1]); by -= sy * grid[1]; }
                else if (by < 0 || by >= grid[1]) continue;
                for (int ox = -grid[3]; ox <= grid[3]; ++ox) {
                    const int ux = atom_bin[3 * i] + ox;
                    const double gx = qc_gap(xi, bo[0] + ux * bw[0], bw[0]);
                    if (gx * gx + gyz2 > prune) continue;
                    int bx = ux, sx = 0;
                    if (grid[6]) { sx = qc_floor_div(bx, grid[0]); bx -= sx * grid[0]; }
                    else if (bx < 0 || bx >= grid[0]) continue;
                    const int bin = (bz * grid[1] + by) * grid[0] + bx;
                    if (upper && bin_top[bin] < lowest) continue;  /* no partner of higher id */
                    const double ox0 = sx * box[0], oy0 = sy * box[1], oz0 = sz * box[2];
                    const int self_image = (sx == 0 && sy == 0 && sz == 0);
                    const int s0 = bin_start[bin], s_end = bin_start[bin + 1];
                    const int self_slot = self_image ? slot[i] : -1;
#ifndef __CUDACC__
                    /* CPU: squared distances of the whole bin first (a loop the compiler
                     * vectorises), then every candidate is remembered and only the accepted
                     * ones advance the count (no branch on the distance test); ids and images
                     * come after. */
                    const int nb = s_end - s0;
                    if ((int)cand.size() < mc + nb) {
                        cand.resize(2 * (mc + nb));
                        cand_shift.resize(cand.size());
                    }
                    if ((int)d2.size() < nb) d2.resize(2 * nb);
                    double* QC_RESTRICT r2 = d2.data();
                    const double* QC_RESTRICT bx_ = xb + s0;
                    const double* QC_RESTRICT by_ = xb + natoms + s0;
                    const double* QC_RESTRICT bz_ = xb + 2 * (long long)natoms + s0;
                    for (int t = 0; t < nb; ++t) {
                        const double dx = (bx_[t] + ox0) - xi, dy = (by_[t] + oy0) - yi,
                                     dz = (bz_[t] + oz0) - zi;
                        r2[t] = dx * dx + dy * dy + dz * dz;
                    }
                    const int packed = (sx + QC_IMAGE_BIAS) | ((sy + QC_IMAGE_BIAS) << QC_IMAGE_BITS)
                                     | ((sz + QC_IMAGE_BIAS) << (2 * QC_IMAGE_BITS));
                    int* QC_RESTRICT cs = cand.data();
                    int* QC_RESTRICT cp = cand_shift.data();
                    for (int t = 0; t < nb; ++t) {
                        cs[mc] = s0 + t;
                        cp[mc] = packed;
                        mc += (r2[t] < rc2) & (s0 + t != self_slot) & (rank_b[s0 + t] >= lowest)
                            & (any_partner ? 1 : owned_b[s0 + t]);
                    }
#else
                    for (int s = s0; s < s_end; ++s) {
                        /* (x_j + shift) - x_i: the same rounding as the NumPy builder */
                        const double dx = (xb[s] + ox0) - xi, dy = (xb[natoms + s] + oy0) - yi,
                                     dz = (xb[2 * (long long)natoms + s] + oz0) - zi;
                        if (dx * dx + dy * dy + dz * dz < rc2 && s != self_slot && rank_b[s] >= lowest
                            && (any_partner || owned_b[s]))
                            qc_store_neighbor(row, irow, &m, cap, i, bin_atoms[s], sx, sy, sz, wrap);
                    }
#endif
                }
            }
        }
#ifndef __CUDACC__
        for (int a = 0; a < mc; ++a) {
            const int pk = cand_shift[a];
            qc_store_neighbor(row, irow, &m, cap, i, bin_atoms[cand[a]], qc_image_shift(pk, 0),
                              qc_image_shift(pk, 1), qc_image_shift(pk, 2), wrap);
        }
#endif
        counts[i] = m;
        if (m <= cap) qc_sort_row(row, irow, m, rank, inv);
    }
}


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


/* Looping over the neighbours of atom i that lie within the cutoff (rows hold every pair
 * within cutoff + skin, in global-id order):
 *
 *     QC_CUTOFF_ROW(i, cutsq) { ... QC_ROW_J, QC_ROW_DX/DY/DZ (d = x_i - x_j), QC_ROW_R ... }
 *     QC_CUTOFF_ROW_END
 *
 * expects x, box, xi, yi, zi, neighbors, images, counts and cap in scope. The accepted
 * entries are visited in row order on both targets, so sums come out the same. On the CPU
 * the row is first compacted without branches into a per-thread buffer (whether a pair is
 * inside the cutoff is a coin toss that the branch predictor loses about half the time); on
 * the GPU each thread tests and skips in place. */
#ifdef __CUDACC__
#define QC_CUTOFF_ROW(i, cutsq)                                                         \
    for (int qc_k = 0, qc_end = counts[i]; qc_k < qc_end; ++qc_k) {                     \
        const long long qc_slot = (long long)(i) * cap + qc_k;                          \
        const int qc_j = neighbors[qc_slot];                                            \
        double qc_dx, qc_dy, qc_dz;                                                     \
        qc_bond(x, box, xi, yi, zi, qc_j, images[qc_slot], &qc_dx, &qc_dy, &qc_dz);     \
        const double qc_rsq = qc_dx * qc_dx + qc_dy * qc_dy + qc_dz * qc_dz;            \
        if (qc_rsq >= (cutsq)) continue;                                                \
        const double qc_r = sqrt(qc_rsq);
#define QC_CUTOFF_ROW_END }
#else
#include <vector>
struct qc_row_buffer {
    std::vector<int> j;
    std::vector<double> d;
};
static inline qc_row_buffer& qc_row_scratch(int cap)
{
    thread_local qc_row_buffer buf;
    if ((int)buf.j.size() < cap) { buf.j.resize(cap); buf.d.resize(4 * (size_t)cap); }
    return buf;
}
#define QC_CUTOFF_ROW(i, cutsq)                                                         \
    {                                                                                   \
        qc_row_buffer& qc_buf = qc_row_scratch(cap);                                    \
        int* QC_RESTRICT qc_bj = qc_buf.j.data();                                       \
        double* QC_RESTRICT qc_bd = qc_buf.d.data();                                    \
        int qc_m = 0;                                                                   \
        for (int qc_k = 0, qc_end = counts[i]; qc_k < qc_end; ++qc_k) {                 \
            const long long qc_slot = (long long)(i) * cap + qc_k;                      \
            const int qc_jk = neighbors[qc_slot];                                       \
            double qc_dxk, qc_dyk, qc_dzk;                                              \
            qc_bond(x, box, xi, yi, zi, qc_jk, images[qc_slot], &qc_dxk, &qc_dyk, &qc_dzk); \
            const double qc_rsqk = qc_dxk * qc_dxk + qc_dyk * qc_dyk + qc_dzk * qc_dzk;  \
            qc_bj[qc_m] = qc_jk;                                                        \
            qc_bd[4 * qc_m] = qc_dxk; qc_bd[4 * qc_m + 1] = qc_dyk;                     \
            qc_bd[4 * qc_m + 2] = qc_dzk; qc_bd[4 * qc_m + 3] = qc_rsqk;                \
            qc_m += qc_rsqk < (cutsq);                                                  \
        }                                                                               \
        for (int qc_a = 0; qc_a < qc_m; ++qc_a) {                                       \
            const int qc_j = qc_bj[qc_a];                                               \
            const double qc_dx = qc_bd[4 * qc_a], qc_dy = qc_bd[4 * qc_a + 1],          \
                         qc_dz = qc_bd[4 * qc_a + 2], qc_r = sqrt(qc_bd[4 * qc_a + 3]);
#define QC_CUTOFF_ROW_END }}
#endif
/* The half-row kernels' bond: force g d on atom i and -g d on j, where d = x_i - x_j (so j
 * gets bitwise the term its full row would give it), and, with vflag, the same d (x) d g to
 * both atoms' virial sums. */
QC_DEVICE void qc_half_bond(double* QC_RESTRICT force, double* QC_RESTRICT virial, int vflag,
                            int i, int j, double dx, double dy, double dz, double g)
{
    const double gx = dx * g, gy = dy * g, gz = dz * g;
    force[3 * i] += gx; force[3 * i + 1] += gy; force[3 * i + 2] += gz;
    force[3 * j] -= gx; force[3 * j + 1] -= gy; force[3 * j + 2] -= gz;
    if (vflag) {
        const double w[6] = {dx * dx * g, dy * dy * g, dz * dz * g,
                             dx * dy * g, dx * dz * g, dy * dz * g};
        for (int c = 0; c < 6; ++c) {
            virial[6LL * i + c] += w[c];
            virial[6LL * j + c] += w[c];
        }
    }
}

/* Before a half-row walk: the force, bond-energy and (with vflag) virial sums of all n atoms
 * start from zero. */
QC_DEVICE void qc_half_start(double* QC_RESTRICT force, double* QC_RESTRICT ebond,
                             double* QC_RESTRICT virial, int vflag, int n)
{
    for (long long a = 0; a < 3LL * n; ++a) force[a] = 0.0;
    for (int a = 0; a < n; ++a) ebond[a] = 0.0;
    if (vflag) for (long long a = 0; a < 6LL * n; ++a) virial[a] = 0.0;
}

/* After it: the owned atoms' virials halved (0.5 sum_j d (x) f, as the full rows write
 * them), the ghosts' forces and virials zero. */
QC_DEVICE void qc_half_finish(double* QC_RESTRICT force, double* QC_RESTRICT virial, int vflag,
                              int owned, int n)
{
    if (vflag) for (long long a = 0; a < 6LL * owned; ++a) virial[a] *= 0.5;
    for (long long a = 3LL * owned; a < 3LL * n; ++a) force[a] = 0.0;
    if (vflag) for (long long a = 6LL * owned; a < 6LL * n; ++a) virial[a] = 0.0;
}

#define QC_ROW_J qc_j
#define QC_ROW_DX qc_dx
#define QC_ROW_DY qc_dy
#define QC_ROW_DZ qc_dz
#define QC_ROW_R qc_r

#endif

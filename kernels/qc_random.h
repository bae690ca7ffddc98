/* qc_random.h: counter-based random numbers (Philox4x32-10) for Langevin noise.
 *
 * Every number is a pure function of (seed, step, global atom id), so a restarted or
 * re-partitioned run draws the same numbers on every backend (DESIGN section 3). The
 * NumPy twin is qc_sim/atomistic/random.py; the two must stay in step.
 *
 * Philox4x32-10: J. K. Salmon, M. A. Moraes, R. O. Dror, D. E. Shaw, "Parallel random
 * numbers: as easy as 1, 2, 3", SC'11. Ten rounds; the key is bumped by the Weyl
 * constants before every round but the first. All arithmetic is on 32-bit unsigned
 * words, the 32x32->64 products through unsigned long long, so the integer output is
 * bitwise identical under nvcc/NVRTC and g++.
 *
 * The scheme for one atom (qc_uniform4, qc_gaussian3):
 *   key      = (seed low 32 bits, seed high 32 bits)
 *   counter  = (gid low, gid high | block << 31, step low, step high)
 *              gid >= 0 (a global id), so bit 31 of word 1 is free and selects the
 *              Philox block: block 0 and block 1 give 8 words x0..x7 per (step, atom).
 *              step is a signed 64-bit integer (two's complement words); negative steps
 *              are separate streams (step = -1: initial Maxwell-Boltzmann velocities).
 *   uniforms u0 = U(x0, x1), u1 = U(x2, x3)   (block 0)
 *            u2 = U(x4, x5), u3 = U(x6, x7)   (block 1)
 *            U(hi, lo) = (2 m + 1) 2^-53, m = (hi << 20) | (lo >> 12) (52 bits):
 *            the 2^52 odd multiples of 2^-53, all exact doubles, in [2^-53, 1 - 2^-53],
 *            never 0 or 1, and 1 - u is in the same set. Bitwise identical everywhere.
 *   gaussians (Box-Muller, G. E. P. Box & M. E. Muller, Ann. Math. Stat. 29 (1958) 610):
 *            r = sqrt(-2 log u0), t = 2 pi u1: z0 = r cos t, z1 = r sin t;
 *            r' = sqrt(-2 log u2), t' = 2 pi u3: z2 = r' cos t' (r' sin t' is unused).
 *            |z| <= sqrt(2 * 53 ln 2) = 8.57.
 * log, cos and sin come from the target's maths library (glibc, CUDA's libdevice, NumPy's
 * SIMD loops) and may differ in the last ulp or few, so the gaussians agree across
 * targets to ~1e-15 relative, not bitwise; the integers and the uniforms are bitwise.
 */
#ifndef QC_RANDOM_H
#define QC_RANDOM_H

#include "qc_kernel.h"

#define QC_PHILOX_M0 0xD2511F53u
#define QC_PHILOX_M1 0xCD9E8D57u
#define QC_PHILOX_W0 0x9E3779B9u /* golden ratio */
#define QC_PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */
#define QC_TWO_PI 6.283185307179586232 /* 2 pi rounded to double, = 2 * numpy.pi */

/* One Philox4x32-10 block: out = philox(ctr, key); out may alias ctr. */
QC_DEVICE void qc_philox4x32_10(const unsigned int ctr[4], const unsigned int key[2],
                                unsigned int out[4])
{
    unsigned int c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    unsigned int k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k0 += QC_PHILOX_W0;
            k1 += QC_PHILOX_W1;
        }
        unsigned long long p0 = (unsigned long long)QC_PHILOX_M0 * c0;
        unsigned long long p1 = (unsigned long long)QC_PHILOX_M1 * c2;
        unsigned int hi0 = (unsigned int)(p0 >> 32), lo0 = (unsigned int)p0;
        unsigned int hi1 = (unsigned int)(p1 >> 32), lo1 = (unsigned int)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* A uniform double in (0, 1) from two words: (2 m + 1) 2^-53 with m the top 32 bits of
 * hi followed by the top 20 bits of lo. Exact: 2m+1 < 2^53 and the scale is a power of 2. */
QC_DEVICE double qc_u01(unsigned int hi, unsigned int lo)
{
    unsigned long long m = ((unsigned long long)hi << 20) | (unsigned long long)(lo >> 12);
    return (double)(2ull * m + 1ull) * 0x1p-53;
}

/* The Philox block `block` (0 or 1) of (seed, step, gid): counter and key as in the header. */
QC_DEVICE void qc_random_block(unsigned long long seed, long long step, long long gid,
                               unsigned int block, unsigned int out[4])
{
    unsigned long long g = (unsigned long long)gid, s = (unsigned long long)step;
    unsigned int ctr[4] = {(unsigned int)g, (unsigned int)(g >> 32) | (block << 31),
                           (unsigned int)s, (unsigned int)(s >> 32)};
    unsigned int key[2] = {(unsigned int)seed, (unsigned int)(seed >> 32)};
    qc_philox4x32_10(ctr, key, out);
}

/* Four uniform doubles in (0, 1) for one atom and step: u0, u1 from block 0, u2, u3 from 1. */
QC_DEVICE void qc_uniform4(unsigned long long seed, long long step, long long gid, double u[4])
{
    unsigned int x[4];
    qc_random_block(seed, step, gid, 0u, x);
    u[0] = qc_u01(x[0], x[1]);
    u[1] = qc_u01(x[2], x[3]);
    qc_random_block(seed, step, gid, 1u, x);
    u[2] = qc_u01(x[0], x[1]);
    u[3] = qc_u01(x[2], x[3]);
}

/* Three standard normal deviates for one atom and step (Box-Muller on u0..u3). */
QC_DEVICE void qc_gaussian3(unsigned long long seed, long long step, long long gid, double z[3])
{
    double u[4];
    qc_uniform4(seed, step, gid, u);
    double r = sqrt(-2.0 * log(u[0]));
    double t = QC_TWO_PI * u[1];
    z[0] = r * cos(t);
    z[1] = r * sin(t);
    z[2] = sqrt(-2.0 * log(u[2])) * cos(QC_TWO_PI * u[3]);
}

#endif

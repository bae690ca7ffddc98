/* random.cu: counter-based random numbers per atom (scheme in qc_random.h).
 *
 * gaussian_noise is the Langevin thermostat's noise; uniform_noise and philox4x32_10 expose
 * the layers beneath it so the tests can check every target against the NumPy twin
 * (qc_sim/atomistic/random.py) bit for bit.
 */
#include "qc_kernel.h"
#include "qc_random.h"

/* out (n, 3): three standard normal deviates for atom gid[i] (>= 0) at `step`. */
QC_KERNEL void gaussian_noise(int n, unsigned long long seed, long long step,
                              const long long* QC_RESTRICT gid, double* QC_RESTRICT out)
{
    QC_FOR(i, n)
    {
        double z[3];
        qc_gaussian3(seed, step, gid[i], z);
        out[3 * i + 0] = z[0];
        out[3 * i + 1] = z[1];
        out[3 * i + 2] = z[2];
    }
}

/* out (n, 4): the four uniforms in (0, 1) that feed gaussian_noise for atom gid[i]. */
QC_KERNEL void uniform_noise(int n, unsigned long long seed, long long step,
                             const long long* QC_RESTRICT gid, double* QC_RESTRICT out)
{
    QC_FOR(i, n)
    {
        double u[4];
        qc_uniform4(seed, step, gid[i], u);
        for (int c = 0; c < 4; ++c) out[4 * i + c] = u[c];
    }
}

/* Raw Philox4x32-10 blocks, 32-bit words packed little end first into 64-bit ones:
 * counter (n, 2) = (c0 | c1 << 32, c2 | c3 << 32), key (n,) = k0 | k1 << 32, out (n, 2). */
QC_KERNEL void philox4x32_10(int n, const unsigned long long* QC_RESTRICT counter,
                             const unsigned long long* QC_RESTRICT key,
                             unsigned long long* QC_RESTRICT out)
{
    QC_FOR(i, n)
    {
        unsigned long long a = counter[2 * i], b = counter[2 * i + 1], k = key[i];
        unsigned int c[4] = {(unsigned int)a, (unsigned int)(a >> 32), (unsigned int)b,
                             (unsigned int)(b >> 32)};
        unsigned int kk[2] = {(unsigned int)k, (unsigned int)(k >> 32)};
        unsigned int x[4];
        qc_philox4x32_10(c, kk, x);
        out[2 * i] = (unsigned long long)x[0] | ((unsigned long long)x[1] << 32);
        out[2 * i + 1] = (unsigned long long)x[2] | ((unsigned long long)x[3] << 32);
    }
}

/* reduce.cu: the bins of an exact sum (qc_sim/parallel/reduce.py, ExactSum).
 *
 * Each float64 term v (a[i], or the product a[i] * b[i] rounded as any float64 product) is
 * m 2^(e - 1075) with e its biased exponent field (1 for subnormals) and m its signed 53-bit
 * integer significand. Chunk c of the index range adds m >> 26 and m & (2^26 - 1) (so that
 * m = high 2^26 + low, low in [0, 2^26)) into its own row of int64 bins by e: rows[c][e]
 * (high) and rows[c][2048 + e] (low), exact for up to 2^36 terms. Non-finite terms are only
 * counted (rows[c][2047]): the caller sums those itself. One loop iteration per chunk, so
 * no two iterations touch the same bins (no atomics) and the result is exact and the same
 * for any chunk count.
 */
#include "qc_kernel.h"

#ifndef __CUDACC__
#include <string.h>
#endif

QC_KERNEL void qc_exact_bins(int chunks, int n, int products, const double* QC_RESTRICT a,
                             const double* QC_RESTRICT b, long long* QC_RESTRICT rows)
{
    QC_FOR(c, chunks) {
        long long* high = rows + 4096LL * c;
        long long* low = high + 2048;
        long long start = (long long)n * c / chunks, end = (long long)n * (c + 1) / chunks;
        for (long long i = start; i < end; ++i) {
            double v = products ? a[i] * b[i] : a[i];
#ifdef __CUDACC__
            unsigned long long u = (unsigned long long)__double_as_longlong(v);
#else
            unsigned long long u;
            memcpy(&u, &v, sizeof u);
#endif
            int e = (int)((u >> 52) & 0x7ff);
            if (e == 0x7ff) {
                high[2047] += 1;
                continue;
            }
            long long m = (long long)(u & 0xfffffffffffffULL);
            if (e) m |= 1LL << 52;
            else e = 1;
            if (u >> 63) m = -m;
            high[e] += m >> 26;
            low[e] += m & ((1LL << 26) - 1);
        }
    }
}

/* out[i] = sum_j coeffs[j] rows[which[j]][i] + coeffs[k] f[i], j = 0..k-1 in that order by
 * fused multiply-adds: a linear combination of k stored vectors of length n (rows: the
 * stored vectors one after the other) and f, each element computed the same way wherever it
 * lies, so a vector split over ranks combines to the bits of the whole. */
QC_KERNEL void qc_combine(int n, int k, const int* QC_RESTRICT which,
                          const double* QC_RESTRICT coeffs, const double* QC_RESTRICT rows,
                          const double* QC_RESTRICT f, double* QC_RESTRICT out)
{
    QC_FOR(i, n) {
        double s = coeffs[k] * f[i];
        for (int j = 0; j < k; ++j) s = fma(coeffs[j], rows[(long long)which[j] * n + i], s);
        out[i] = s;
    }
}

/* bone.cu: the cell-population model of bone remodelling at every element, advanced over one
 * macro step dt by an embedded Runge-Kutta method (DESIGN section 7).
 *
 * Komarova, Smith, Dixon, Sims & Wahl (2003), Bone 33:206-215, per element e:
 *   dx1/dt = alpha1 x1^g11 x2^g21 - beta1 x1                  osteoclasts
 *   dx2/dt = f_e alpha2 x1^g12 x2^g22 - beta2 x2              osteoblasts
 *   dz/dt  = -k1 max(x1 - x1_bar, 0) + k2 max(x2 - x2_bar, 0)  bone mass
 * with f_e the mechanical bias of the osteoblast production (1 = the published model).
 *
 * Integrator: Dormand & Prince (1980) RK5(4)7M, first same as last, local extrapolation (the
 * 5th-order solution is kept). Error control is PER ELEMENT: each element takes its own
 * sequence of sub-steps through [0, dt], so its result depends on its own state only (never
 * on which other elements share the call, the rank or the partition). Error norm: the max
 * over the 3 components of |err_j| / (atol + rtol max(|y_j|, |y_new_j|)); a step with a
 * non-finite stage (a population driven negative) counts as err = 1e300 and is retried with
 * the smallest factor. The step factor is min(fac_max, max(fac_min, safety err^(-3/16))):
 * exponent 3/16 rather than the textbook 1/5, because err^(1/16) is four square roots, which
 * are correctly rounded on every target while pow is not, and near the kinks of
 * max(x - x_bar, 0) the step sequence amplifies an ulp in a step factor a million-fold. With
 * it (and no fused multiply-add on the CPU) the kernel and the reference take the same steps
 * and, for the published exponents (0, 1, +-1/2), give the same bits.
 *
 * The arithmetic is written in the order of the NumPy reference
 * (qc_sim/regions/komarova.py, advance_reference): the CPU target gives its bits. NVRTC
 * fuses multiply-adds, so the GPU agrees with both to rounding only, which step control can
 * amplify to ~1e-10 relative over long macro steps (as for general exponents on the CPU).
 *
 * Arrays: params (12) = alpha1, alpha2, beta1, beta2, g11, g21, g12, g22, k1, k2, x1_bar,
 * x2_bar; control (5) = rtol, atol, safety, fac_min, fac_max; alpha2_factor (n); state (n, 3)
 * = x1, x2, z, in and out; step (n): the element's next trial sub-step, in and out (<= 0:
 * start with dt); counts (n, 2) int: accepted and rejected sub-steps of this call, rejected
 * = -1 when the element ran out of max_steps. After the step, z is clamped to [z_min, z_max].
 */
#include "qc_kernel.h"

/* No fused multiply-add on the CPU target: GCC contracts a * b + c by default even in ISO
 * mode, which would make the CPU kernel differ from the NumPy reference in the last bit. */
#ifndef __CUDACC__
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#endif

#define BONE_A21 (1.0 / 5.0)
#define BONE_A31 (3.0 / 40.0)
#define BONE_A32 (9.0 / 40.0)
#define BONE_A41 (44.0 / 45.0)
#define BONE_A42 (-56.0 / 15.0)
#define BONE_A43 (32.0 / 9.0)
#define BONE_A51 (19372.0 / 6561.0)
#define BONE_A52 (-25360.0 / 2187.0)
#define BONE_A53 (64448.0 / 6561.0)
#define BONE_A54 (-212.0 / 729.0)
#define BONE_A61 (9017.0 / 3168.0)
#define BONE_A62 (-355.0 / 33.0)
#define BONE_A63 (46732.0 / 5247.0)
#define BONE_A64 (49.0 / 176.0)
#define BONE_A65 (-5103.0 / 18656.0)
#define BONE_B1 (35.0 / 384.0)
#define BONE_B3 (500.0 / 1113.0)
#define BONE_B4 (125.0 / 192.0)
#define BONE_B5 (-2187.0 / 6784.0)
#define BONE_B6 (11.0 / 84.0)
/* error weights: 5th-order minus embedded 4th-order weights */
#define BONE_E1 (71.0 / 57600.0)
#define BONE_E3 (-71.0 / 16695.0)
#define BONE_E4 (71.0 / 1920.0)
#define BONE_E5 (-17253.0 / 339200.0)
#define BONE_E6 (22.0 / 525.0)
#define BONE_E7 (-1.0 / 40.0)

/* x^g with the exponents of the published model (0, 1, +-1/2) exact and cheap: sqrt is
 * correctly rounded on every target, so the NumPy reference gives the same bits there. */
QC_DEVICE double bone_pow(double x, double g)
{
    if (g == 0.0) return 1.0;
    if (g == 1.0) return x;
    if (g == 0.5) return sqrt(x);
    if (g == -0.5) return 1.0 / sqrt(x);
    return pow(x, g);
}

QC_DEVICE void bone_komarova_rhs(const double* QC_RESTRICT p, double alpha2_eff,
                                 const double* y, double* dy)
{
    const double x1 = y[0], x2 = y[1];
    dy[0] = p[0] * bone_pow(x1, p[4]) * bone_pow(x2, p[5]) - p[2] * x1;
    dy[1] = alpha2_eff * bone_pow(x1, p[6]) * bone_pow(x2, p[7]) - p[3] * x2;
    const double y1 = QC_MAX(x1 - p[10], 0.0), y2 = QC_MAX(x2 - p[11], 0.0);
    dy[2] = -p[8] * y1 + p[9] * y2;
}

QC_KERNEL void komarova_advance(int n, double dt, const double* QC_RESTRICT params,
                                const double* QC_RESTRICT control,
                                const double* QC_RESTRICT alpha2_factor,
                                double* QC_RESTRICT state, double* QC_RESTRICT step,
                                int max_steps, double z_min, double z_max,
                                int* QC_RESTRICT counts)
{
    const double rtol = control[0], atol = control[1], safety = control[2];
    const double fac_min = control[3], fac_max = control[4];
    QC_FOR(e, n) {
        const double a2 = params[1] * alpha2_factor[e];
        double y[3], k1[3], k2[3], k3[3], k4[3], k5[3], k6[3], k7[3], yt[3], yn[3];
        for (int j = 0; j < 3; ++j) y[j] = state[3 * e + j];
        double h = step[e];
        if (!(h > 0.0)) h = dt;
        double t = 0.0;
        int accepted = 0, rejected = 0;
        bone_komarova_rhs(params, a2, y, k1);
        while (t < dt) {
            if (accepted + rejected >= max_steps) { rejected = -1; break; }
            double hh = h;
            const int last = t + hh >= dt;
            if (last) hh = dt - t;
            for (int j = 0; j < 3; ++j) yt[j] = y[j] + hh * (BONE_A21 * k1[j]);
            bone_komarova_rhs(params, a2, yt, k2);
            for (int j = 0; j < 3; ++j) yt[j] = y[j] + hh * (BONE_A31 * k1[j] + BONE_A32 * k2[j]);
            bone_komarova_rhs(params, a2, yt, k3);
            for (int j = 0; j < 3; ++j)
                yt[j] = y[j] + hh * (BONE_A41 * k1[j] + BONE_A42 * k2[j] + BONE_A43 * k3[j]);
            bone_komarova_rhs(params, a2, yt, k4);
            for (int j = 0; j < 3; ++j)
                yt[j] = y[j] + hh * (BONE_A51 * k1[j] + BONE_A52 * k2[j] + BONE_A53 * k3[j]
                                     + BONE_A54 * k4[j]);
            bone_komarova_rhs(params, a2, yt, k5);
            for (int j = 0; j < 3; ++j)
                yt[j] = y[j] + hh * (BONE_A61 * k1[j] + BONE_A62 * k2[j] + BONE_A63 * k3[j]
                                     + BONE_A64 * k4[j] + BONE_A65 * k5[j]);
            bone_komarova_rhs(params, a2, yt, k6);
            for (int j = 0; j < 3; ++j)
                yn[j] = y[j] + hh * (BONE_B1 * k1[j] + BONE_B3 * k3[j] + BONE_B4 * k4[j]
                                     + BONE_B5 * k5[j] + BONE_B6 * k6[j]);
            bone_komarova_rhs(params, a2, yn, k7);
            double err = 0.0;
            int finite = 1;
            for (int j = 0; j < 3; ++j) {
                const double ej = hh * (BONE_E1 * k1[j] + BONE_E3 * k3[j] + BONE_E4 * k4[j]
                                        + BONE_E5 * k5[j] + BONE_E6 * k6[j] + BONE_E7 * k7[j]);
                const double scale = atol + rtol * QC_MAX(fabs(y[j]), fabs(yn[j]));
                const double v = fabs(ej) / scale;
                finite = finite && (v <= 1.0e308);  /* false for inf and NaN */
                err = QC_MAX(err, v);
            }
            if (!finite) err = 1.0e300;  /* any huge error: the smallest step factor */
            const double root16 = sqrt(sqrt(sqrt(sqrt(err))));  /* err^(1/16) */
            const double factor =
                QC_MIN(fac_max, QC_MAX(fac_min, safety / (root16 * root16 * root16)));
            if (err <= 1.0) {
                t = last ? dt : t + hh;
                for (int j = 0; j < 3; ++j) { y[j] = yn[j]; k1[j] = k7[j]; }
                ++accepted;
                const double proposal = hh * factor;
                h = last ? QC_MAX(proposal, h) : proposal;
            } else {
                ++rejected;
                h = hh * factor;
            }
        }
        y[2] = QC_MIN(QC_MAX(y[2], z_min), z_max);
        for (int j = 0; j < 3; ++j) state[3 * e + j] = y[j];
        step[e] = h;
        counts[2 * e] = accepted;
        counts[2 * e + 1] = rejected;
    }
}

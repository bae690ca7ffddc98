"""Linear solves of the periodic cell problem: symmetric positive definite systems, one
right-hand side per unit macroscopic gradient.

- :func:`amg_cg`: SciPy's conjugate gradients preconditioned by one V-cycle of pyamg's
  smoothed-aggregation hierarchy (Vanek, Mandel & Brezina 1996), built once and reused for
  every right-hand side (CPU).
- :func:`jacobi_pcg`: conjugate gradients with the diagonal as preconditioner, written
  against an array module ``xp`` and a matrix-free operator, so that the same lines run on
  NumPy and on CuPy (the GPU path of the voxel solver). Its iteration count grows like the
  side of the image, which a GPU affords; the CPU path uses :func:`amg_cg`.

Both stop when ``|b - A x| <= rtol |b|`` and report the iterations and that residual.
"""

from __future__ import annotations

import time

import numpy as np

from qc_sim.errors import InputError


def amg_cg(matrix, rtol: float, maxiter: int = 2000):
    """Build the smoothed-aggregation hierarchy of the SPD ``matrix`` (scipy CSR) once and
    return ``(solve, setup_info)``: ``solve(b) -> (x, info)`` runs preconditioned CG from
    zero to ``|b - A x| <= rtol |b|``; info holds iterations, residual and seconds."""
    from scipy.sparse.linalg import cg

    from qc_sim.solvers.amg import smoothed_aggregation

    t0 = time.perf_counter()
    with _single_threaded_blas():
        # forward Gauss-Seidel before, backward after: a symmetric V-cycle (as CG needs)
        # at half the sweeps of pyamg's default symmetric pre- and post-smoothing
        hierarchy = smoothed_aggregation(
            matrix, symmetry="symmetric", max_coarse=500,
            presmoother=("gauss_seidel", {"sweep": "forward"}),
            postsmoother=("gauss_seidel", {"sweep": "backward"}))
    preconditioner = hierarchy.aspreconditioner(cycle="V")
    setup_info = {"setup_seconds": time.perf_counter() - t0,
                  "levels": len(hierarchy.levels),
                  "operator_complexity": float(hierarchy.operator_complexity())}

    def solve(b):
        t0 = time.perf_counter()
        norm_b = float(np.linalg.norm(b))
        if norm_b == 0.0:
            return np.zeros_like(b), {"iterations": 0, "residual": 0.0, "seconds": 0.0}
        count = [0]

        def tick(_x):
            count[0] += 1

        with _single_threaded_blas():
            try:
                x, status = cg(matrix, b, rtol=rtol, atol=0.0, maxiter=maxiter,
                               M=preconditioner, callback=tick)
            except TypeError:  # SciPy < 1.12 names the relative tolerance tol
                x, status = cg(matrix, b, tol=rtol, atol=0.0, maxiter=maxiter,
                               M=preconditioner, callback=tick)
        residual = float(np.linalg.norm(b - matrix @ x)) / norm_b
        if status != 0 and residual > rtol:
            raise RuntimeError(f"CG did not reach rtol {rtol:g} in {maxiter} iterations "
                               f"(relative residual {residual:.3g})")
        return x, {"iterations": count[0], "residual": residual,
                   "seconds": time.perf_counter() - t0}

    return solve, setup_info


def _single_threaded_blas():
    """BLAS does only vector operations here (dots and norms, memory bound); its threads
    cost more than they give (4x slower on a busy two-core machine). threadpoolctl is
    optional: without it, nothing changes."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def jacobi_pcg(apply, diagonal, b, rtol: float, xp, maxiter: int = 200_000):
    """Conjugate gradients for ``apply(x) = b`` preconditioned by ``1 / diagonal``; all
    arrays of the array module ``xp`` (NumPy or CuPy), any shape. Returns (x, info)."""
    t0 = time.perf_counter()
    inverse = 1.0 / diagonal
    x = xp.zeros_like(b)
    r = b.copy()
    norm_b = float(xp.sqrt(xp.vdot(b, b)))
    if norm_b == 0.0:
        return x, {"iterations": 0, "residual": 0.0, "seconds": 0.0}
    z = inverse * r
    p = z.copy()
    rz = float(xp.vdot(r, z))
    iterations = 0
    while float(xp.sqrt(xp.vdot(r, r))) > rtol * norm_b:
        if iterations >= maxiter:
            raise RuntimeError(f"Jacobi-PCG did not reach rtol {rtol:g} in {maxiter} "
                               "iterations")
        q = apply(p)
        alpha = rz / float(xp.vdot(p, q))
        x += alpha * p
        r -= alpha * q
        z = inverse * r
        rz_new = float(xp.vdot(r, z))
        p = z + (rz_new / rz) * p
        rz = rz_new
        iterations += 1
    true_r = b - apply(x)
    residual = float(xp.sqrt(xp.vdot(true_r, true_r))) / norm_b
    return x, {"iterations": iterations, "residual": residual,
               "seconds": time.perf_counter() - t0}


def check_rtol(rtol) -> float:
    try:
        rtol = float(rtol)
    except (TypeError, ValueError):
        raise InputError(f"tolerance: expected a number, got {rtol!r}") from None
    if not 0.0 < rtol < 1.0:
        raise InputError(f"tolerance: expected 0 < rtol < 1, got {rtol:g}")
    return rtol

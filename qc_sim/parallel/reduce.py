"""Reproducible global sums: the exact sum of float64 values, rounded once.

Every float64 is an integer multiple of 2^-1074, so a sum of them is an exact integer in
those units, and rounding that integer once gives the correctly rounded sum, whatever the
order of the terms or however they are split over ranks. The exact integer is kept as
bins by binary exponent: each finite value is mantissa * 2^(exponent - 53) with a 53-bit
integer mantissa, split into a high and a low part of at most 27 and 26 bits whose
sums by exponent (``np.bincount`` in float64, chunks of 2^25 values) are exact integers
below 2^53 in any order; a rank sums its values into at most 2 x 2098 bins, the bins of
all ranks add as integers (an allreduce of small int64 arrays, or merged with
:meth:`ExactSum.merge`), and :meth:`ExactSum.value` rounds the total once
(Python's int / int true division is correctly rounded).

Non-finite values propagate as IEEE addition would (inf + -inf is nan), independent of
order. Cost: a frexp, a few elementwise operations and two bincounts per call (no sort).

Across ranks the partial sum travels as a fixed-width vector (:meth:`ExactSum.digits`): the
exact integer modulo 2^(26 x 90) in 90 base-2^26 digits, plus counts of nan, +inf and -inf.
Digit-wise integer addition of such vectors (an MPI allreduce with SUM of 93 int64, 744
bytes, whatever the rank count) and one carry at the end (:meth:`ExactSum.from_digits`) give
the exact total: each digit stays below 2^26 times the rank count, far inside int64.
"""

from __future__ import annotations

import math

import numpy as np

DIGIT_BITS = 26
DIGITS = 90  # 2340 bits: every finite float64 sum (< 2^(1024 + 1128 + 64)) with room
_SCALE = 1074 + 53  # bin e holds integers in units of 2^(e - 53 - 1074 ... ) (see below)
_LOW = 26  # low half of the 53-bit mantissa
_E_MIN = -1073  # the smallest exponent frexp gives (subnormals)
_CHUNK = 1 << 25  # values per bincount: partial sums stay below 2^53


class ExactSum:
    """An exact sum of float64 values, as integer bins by exponent; add, merge, round."""

    def __init__(self):
        self.bins: dict[int, int] = {}  # exponent -> integer (Python int: no overflow)
        self.special = 0.0  # sum of the non-finite terms (nan, +inf, -inf), order-free

    def add(self, values) -> "ExactSum":
        x = np.asarray(values, np.float64).reshape(-1)
        if len(x) >= _COMPILED_FROM and self._add_compiled(x):
            return self
        finite = np.isfinite(x)
        if not finite.all():
            bad = x[~finite]
            has_nan = np.isnan(bad).any() or (np.isposinf(bad).any() and np.isneginf(bad).any())
            inf = math.inf if np.isposinf(bad).any() else -math.inf
            new = math.nan if has_nan else inf
            self.special = new if self.special == 0.0 else self.special + new
            x = x[finite]
        for start in range(0, len(x), _CHUNK):
            self._add_finite(x[start:start + _CHUNK])
        return self

    def add_products(self, a, b) -> "ExactSum":
        """Add the products a_i b_i (each rounded as a float64 product) without keeping them."""
        a = np.asarray(a, np.float64).reshape(-1)
        b = np.asarray(b, np.float64).reshape(-1)
        if a.shape != b.shape:
            raise ValueError(f"add_products needs equal lengths, got {a.shape} and {b.shape}")
        if len(a) >= _COMPILED_FROM and self._add_compiled(a, b):
            return self
        return self.add(a * b)

    def _add_compiled(self, a, b=None) -> bool:
        """The bins by the compiled kernel (kernels/reduce.cu, one pass, no sort) where the
        CPU backend compiles; False (nothing added) where it does not, or where a term is
        not finite (the NumPy path then propagates nan and inf)."""
        kernel = _bins_kernel()
        if kernel is None:
            return False
        from qc_sim.backend import cpu

        a = np.ascontiguousarray(a)
        b = a if b is None else np.ascontiguousarray(b)
        chunks = max(1, min(cpu.get_num_threads(), len(a) // _COMPILED_FROM))
        rows = np.zeros((chunks, 4096), np.int64)
        kernel(chunks, len(a), 0 if b is a else 1, a, b, rows)
        total = rows.sum(axis=0)
        if total[2047]:
            return False
        high, low = total[:2048], total[2048:]
        for k in np.flatnonzero((high != 0) | (low != 0)).tolist():
            exponent = k - 1022  # bin k holds units of 2^(k - 1075) = 2^(exponent - 53)
            self.bins[exponent] = (self.bins.get(exponent, 0) + int(low[k])
                                   + (int(high[k]) << _LOW))
        return True

    def _add_finite(self, x) -> None:
        """Add finite values, fewer than 2^26: per exponent, the 53-bit integer mantissas
        split into a high part (|h| <= 2^27) and a low part (0 <= l < 2^26), each summed by
        ``np.bincount`` in float64, exact in any order since no partial sum reaches 2^53."""
        if len(x) == 0:
            return
        m, e = np.frexp(x)  # x = m 2^e, 0.5 <= |m| < 1 (m = e = 0 for zeros)
        mant = np.ldexp(m, 53)  # an integer, |mant| < 2^53: exact
        high = np.floor(mant * (1.0 / (1 << _LOW)))
        low = mant - high * float(1 << _LOW)  # in [0, 2^26): exact
        index = e - _E_MIN
        high_sum = np.bincount(index, weights=high)
        low_sum = np.bincount(index, weights=low)
        for k in np.flatnonzero((high_sum != 0.0) | (low_sum != 0.0)).tolist():
            exponent = k + _E_MIN
            self.bins[exponent] = (self.bins.get(exponent, 0) + int(low_sum[k])
                                   + (int(high_sum[k]) << _LOW))

    def merge(self, other: "ExactSum") -> "ExactSum":
        """Add another partial sum (another rank's): exact."""
        for exponent, value in other.bins.items():
            self.bins[exponent] = self.bins.get(exponent, 0) + value
        if other.special != 0.0:
            self.special = other.special if self.special == 0.0 else self.special + other.special
        return self

    def integer(self) -> int:
        """The exact sum in units of 2^-(53 + 1074 + 1)."""
        # a value with exponent e contributes mant * 2^(e - 53) = mant * 2^(e - 53 + K) units
        # of 2^-K, K = 1074 + 53 + 1 (e >= -1073 - 52 + 1 for subnormals): shifts stay >= 0
        K = _SCALE + 1
        return sum(value << (e - 53 + K) for e, value in self.bins.items())

    def digits(self) -> np.ndarray:
        """The partial sum as DIGITS + 3 int64 (the exact integer modulo 2^(26 DIGITS) in
        base-2^26 digits, then counts of nan, +inf and -inf): vectors of several ranks add
        digit by digit (an MPI SUM allreduce) into the digits of the total."""
        total = self.integer() % (1 << (DIGIT_BITS * DIGITS))  # two's complement
        mask = (1 << DIGIT_BITS) - 1
        out = np.zeros(DIGITS + 3, np.int64)
        out[:DIGITS] = [(total >> (DIGIT_BITS * k)) & mask for k in range(DIGITS)]
        s = self.special
        out[DIGITS:] = (int(math.isnan(s)), int(s == math.inf), int(s == -math.inf))
        return out

    @staticmethod
    def from_digits(digits) -> "ExactSum":
        """The ExactSum whose digits (summed over ranks) are ``digits``."""
        digits = [int(v) for v in np.asarray(digits, np.int64)]
        width = DIGIT_BITS * DIGITS
        total = sum(d << (DIGIT_BITS * k) for k, d in enumerate(digits[:DIGITS])) % (1 << width)
        if total >= 1 << (width - 1):
            total -= 1 << width
        out = ExactSum()
        if total:  # one bin, at the exponent whose units are those of integer()
            out.bins[53 - (_SCALE + 1)] = total
        nan, pos, neg = digits[DIGITS:]
        if nan or (pos and neg):
            out.special = math.nan
        elif pos:
            out.special = math.inf
        elif neg:
            out.special = -math.inf
        return out

    def value(self) -> float:
        """The exact sum rounded once to float64 (round half to even)."""
        if self.special != 0.0:
            return float(self.special)
        total = self.integer()
        if total == 0:
            return 0.0
        try:
            return total / (1 << (_SCALE + 1))
        except OverflowError:
            return math.inf if total > 0 else -math.inf


_COMPILED_FROM = 4096  # terms from which the compiled kernel sums (below: NumPy, no compiler)
_KERNEL = []


def _bins_kernel():
    """The compiled ``qc_exact_bins`` (kernels/reduce.cu) on the CPU, or None where the CPU
    backend has no compiler; loaded once."""
    if not _KERNEL:
        try:
            from qc_sim.backend.cpu import CpuModule

            _KERNEL.append(CpuModule("reduce").qc_exact_bins)
        except Exception:  # noqa: BLE001 - no compiler, or a failed build: the NumPy path
            _KERNEL.append(None)
    return _KERNEL[0]


def allreduce_values(comm, partials) -> list[float]:
    """The exact sums of several partial sums over ``comm`` in one allreduce (their digits side
    by side), each rounded once: the same bits on any rank count."""
    if comm is None:
        return [p.value() for p in partials]
    digits = np.stack([p.digits() for p in partials])
    total = np.empty_like(digits)
    comm.Allreduce(digits, total)  # mpi4py's default operation: SUM
    return [ExactSum.from_digits(row).value() for row in total]


def combine(coeffs, rows, which, f) -> np.ndarray:
    """sum_j coeffs[j] rows[which[j]] + coeffs[-1] f on the host, each element by the same
    fused multiply-adds in the same order wherever it lies (the compiled ``qc_combine``; where
    the CPU backend does not compile, fma-free NumPy, still elementwise): a combination of
    vectors split over ranks gives the bits of the whole. rows: (r, n) float64 C-contiguous,
    which: indices of the k rows used, coeffs: k + 1 values."""
    coeffs = np.ascontiguousarray(coeffs, np.float64)
    which = np.ascontiguousarray(which, np.int32)
    n = f.shape[0]
    if _combine_kernel() is not None and rows.flags.c_contiguous and f.flags.c_contiguous:
        out = np.empty(n)
        _combine_kernel()(n, len(which), which, coeffs, rows, f, out)
        return out
    out = coeffs[-1] * f
    for c, j in zip(coeffs[:-1].tolist(), which.tolist()):
        out += c * rows[j]
    return out


_COMBINE = []


def _combine_kernel():
    if not _COMBINE:
        try:
            from qc_sim.backend.cpu import CpuModule

            _COMBINE.append(CpuModule("reduce").qc_combine)
        except Exception:  # noqa: BLE001 - no compiler: NumPy
            _COMBINE.append(None)
    return _COMBINE[0]


def allreduce_value(comm, partial: ExactSum) -> float:
    """The exact sum of every rank's ``partial`` over ``comm`` (one allreduce, SUM, of its
    digits), rounded once: the same bits on any rank count; ``partial.value()`` without a
    communicator. (qc_sim.parallel.mpi.global_exact_sum does this for an array of values.)"""
    if comm is None:
        return partial.value()
    digits = partial.digits()
    total = np.empty_like(digits)
    comm.Allreduce(digits, total)  # mpi4py's default operation: SUM
    return ExactSum.from_digits(total).value()


def exact_sum(values) -> float:
    """The correctly rounded sum of ``values`` (any shape): the same bits in any order."""
    return ExactSum().add(values).value()

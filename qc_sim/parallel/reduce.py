"""Reproducible global sums: the exact sum of float64 values, rounded once.

Every float64 is an integer multiple of 2^-1074, so a sum of them is an exact integer in
those units, and rounding that integer once gives the correctly rounded sum, whatever the
order of the terms or however they are split over ranks. The exact integer is kept as
bins by binary exponent: each finite value is mantissa * 2^(exponent - 53) with a 53-bit
integer mantissa, split into two 26/27-bit halves so that int64 bins take 2^36 terms without
overflow; a rank sums its values into at most 2 x 2046 bins with integer reductions (exact,
vectorised), the bins of all ranks add as integers (an allreduce of small int64 arrays,
or merged with :meth:`ExactSum.merge`), and :meth:`ExactSum.value` rounds the total once
(Python's int / int true division is correctly rounded).

Non-finite values propagate as IEEE addition would (inf + -inf is nan), independent of
order. Cost: a frexp, a sort by exponent and two segmented integer sums per call.

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


class ExactSum:
    """An exact sum of float64 values, as integer bins by exponent; add, merge, round."""

    def __init__(self):
        self.bins: dict[int, int] = {}  # exponent -> integer (Python int: no overflow)
        self.special = 0.0  # sum of the non-finite terms (nan, +inf, -inf), order-free

    def add(self, values) -> "ExactSum":
        x = np.asarray(values, np.float64).reshape(-1)
        finite = np.isfinite(x)
        if not finite.all():
            bad = x[~finite]
            has_nan = np.isnan(bad).any() or (np.isposinf(bad).any() and np.isneginf(bad).any())
            inf = math.inf if np.isposinf(bad).any() else -math.inf
            new = math.nan if has_nan else inf
            self.special = new if self.special == 0.0 else self.special + new
            x = x[finite]
        x = x[x != 0.0]
        if len(x) == 0:
            return self
        m, e = np.frexp(x)  # x = m 2^e, 0.5 <= |m| < 1
        mant = np.ldexp(m, 53).astype(np.int64)  # exact: |mant| < 2^53
        order = np.argsort(e, kind="stable")
        e, mant = e[order], mant[order]
        starts = np.flatnonzero(np.r_[True, e[1:] != e[:-1]])
        sign = np.sign(mant)
        low = sign * (np.abs(mant) & ((1 << _LOW) - 1))
        high = sign * (np.abs(mant) >> _LOW)
        low_sum = np.add.reduceat(low, starts)
        high_sum = np.add.reduceat(high, starts)
        for exponent, lo, hi in zip(e[starts].tolist(), low_sum.tolist(), high_sum.tolist()):
            self.bins[exponent] = self.bins.get(exponent, 0) + lo + (hi << _LOW)
        return self

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


def exact_sum(values) -> float:
    """The correctly rounded sum of ``values`` (any shape): the same bits in any order."""
    return ExactSum().add(values).value()

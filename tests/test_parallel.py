"""The reproducible sum every global reduction goes through (docs/design.md section 7): the exact
sum rounded once, so no order and no partition over ranks changes a bit."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from qc_sim.parallel import ExactSum, exact_sum


def exact(values) -> float:
    return float(sum((Fraction(float(v)) for v in values), Fraction(0)))


@pytest.mark.parametrize("seed", range(5))
def test_any_order_and_any_partition_give_the_correctly_rounded_sum(seed):
    rng = np.random.default_rng(seed)
    n = 20_000
    x = rng.standard_normal(n) * 10.0 ** rng.integers(-200, 200, n)
    x = np.concatenate([x, -x[: n // 3]])  # exact cancellation of a third of the terms
    reference = exact(x)
    assert exact_sum(x) == reference
    for _ in range(3):
        shuffled = rng.permutation(x)
        parts = np.array_split(shuffled, int(rng.integers(1, 9)))
        total = ExactSum()
        for part in parts:  # one ExactSum per "rank", merged as an allreduce would
            total.merge(ExactSum().add(part))
        assert total.value() == reference
    assert math.fsum(x) == reference  # Shewchuk's algorithm agrees where it does not overflow


def test_cancellation_subnormals_and_ties():
    cases = [
        [1.0, 2.0**-53, 2.0**-53],  # naive left-to-right gives 1.0
        [2.0**-53, 2.0**-53, 1.0],
        [1e308, 1e308, -1e308],  # naive overflows to inf
        [5e-324, 5e-324, -5e-324],
        [1.0, 1e100, 1.0, -1e100],  # naive gives 0
        [0.1] * 10,
    ]
    for values in cases:
        assert exact_sum(values) == exact(values), values
        assert exact_sum(values[::-1]) == exact(values)


def test_non_finite_terms_propagate_whatever_the_order():
    assert exact_sum([1.0, np.inf, 2.0]) == math.inf
    assert exact_sum([-np.inf, 1.0]) == -math.inf
    assert math.isnan(exact_sum([np.inf, 1.0, -np.inf]))
    assert math.isnan(exact_sum([1.0, np.nan]))
    a, b = ExactSum().add([np.inf]), ExactSum().add([-np.inf])
    assert math.isnan(a.merge(b).value())
    assert exact_sum([]) == 0.0
    assert exact_sum([1.7976931348623157e308] * 2) == math.inf  # the exact sum overflows


def _coupled_like(seed=0):
    """Dense costly atoms in a corner, cheap coarse nodes everywhere (a coupled model)."""
    rng = np.random.default_rng(seed)
    atoms = rng.random((6000, 3)) * 20.0
    nodes = rng.random((1500, 3)) * 100.0
    return np.vstack([atoms, nodes]), np.r_[np.full(6000, 30.0), np.full(1500, 1.0)]


@pytest.mark.parametrize("ranks", [1, 2, 3, 4, 5, 7, 8])
def test_rcb_balances_cost_and_tiles_the_domain(ranks):
    from qc_sim.parallel.decompose import rcb

    points, cost = _coupled_like()
    part = rcb(points, cost, ranks, [0, 0, 0], [100, 100, 100])
    assert part.imbalance(cost) < 1.01
    # by count the same partition would be badly off: costs, not points, are balanced
    if ranks > 1:
        counts = np.bincount(part.owner, minlength=ranks)
        assert counts.max() / counts.mean() > 1.05
    assert np.all((points >= part.lo[part.owner]) & (points < part.hi[part.owner]))
    assert np.prod(part.hi - part.lo, axis=1).sum() == pytest.approx(1e6, rel=1e-12)
    assert part.thinnest() > 0


def test_rcb_is_independent_of_the_input_order():
    from qc_sim.parallel.decompose import rcb

    points, cost = _coupled_like(1)
    a = rcb(points, cost, 5, [0, 0, 0], [100, 100, 100])
    perm = np.random.default_rng(2).permutation(len(points))
    b = rcb(points[perm], cost[perm], 5, [0, 0, 0], [100, 100, 100])
    assert np.array_equal(a.lo, b.lo) and np.array_equal(a.hi, b.hi)
    assert np.array_equal(a.owner[perm], b.owner)


def test_rcb_refuses_bad_costs():
    from qc_sim.parallel.decompose import rcb

    with pytest.raises(ValueError):
        rcb(np.zeros((3, 2)), [1.0, -1.0, 1.0], 2, [0, 0], [1, 1])
    with pytest.raises(ValueError):
        rcb(np.zeros((3, 2)), [1.0, 1.0, 1.0], 0, [0, 0], [1, 1])


@pytest.mark.parametrize("seed", range(3))
def test_fixed_width_digits_add_across_ranks_into_the_exact_sum(seed):
    """What crosses between ranks: each part's sum as 93 int64 digits; the digit-wise sum
    of the parts (an MPI SUM allreduce) decodes to the correctly rounded total, through
    cancellation, huge and subnormal terms and non-finite ones."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(5000) * 10.0 ** rng.integers(-300, 300, 5000)
    x = np.concatenate([x, -x[:1000], [2.0**-1074, -(2.0**-1073), 1e308, -1e308]])
    parts = np.array_split(rng.permutation(x), int(rng.integers(1, 40)))
    digits = sum(ExactSum().add(p).digits() for p in parts)
    assert digits.dtype == np.int64 and digits.shape == (93,)
    assert ExactSum.from_digits(digits).value() == exact(x)
    assert ExactSum.from_digits(ExactSum().add([-3.5, 1.25]).digits()).value() == -2.25
    assert math.isnan(ExactSum.from_digits(ExactSum().add([math.inf]).digits()
                                           + ExactSum().add([-math.inf]).digits()).value())
    assert ExactSum.from_digits(ExactSum().add([1e308] * 3).digits()).value() == math.inf

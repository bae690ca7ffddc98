"""Neighbour lists against brute force, identical on every backend, rebuilt when needed."""

import numpy as np
import pytest

from qc_sim.backend import get_device
from qc_sim.geometry import Box
from qc_sim.neighbor import build, needs_rebuild
from qc_sim.neighbor import images as image_codes

BACKENDS = ["numpy", "cpu"]


def brute_force(x, ids, box, reach):
    """Every (id_j, image code, j) within reach of each atom, all images, sorted as the list."""
    L = box.lengths
    k = [int(np.ceil(reach / L[a])) if box.periodic[a] else 0 for a in range(3)]
    shifts = np.array([(a, b, c) for a in range(-k[0], k[0] + 1) for b in range(-k[1], k[1] + 1)
                       for c in range(-k[2], k[2] + 1)])
    rows = []
    for i in range(len(x)):
        d = x[None, :, :] + shifts[:, None, :] * L - x[i]
        s, j = np.nonzero((d * d).sum(axis=2) < reach * reach)
        keep = ~((j == i) & ~shifts[s].any(axis=1))
        codes = image_codes.encode(shifts[s[keep]])
        rows.append(sorted(zip(ids[j[keep]].tolist(), codes.tolist(), j[keep].tolist())))
    return rows


def listed(nl, ids, i):
    c = int(nl.counts[i])
    return list(zip(ids[nl.neighbors[i, :c]].tolist(), nl.images[i, :c].tolist(),
                    nl.neighbors[i, :c].tolist()))


BOXES = [
    Box((0, 0, 0), (10, 12, 14), (True, True, True)),
    Box((0, 0, 0), (3, 12, 4), (True, False, True)),  # periodic axes shorter than the reach
    Box((-5, 0, 0), (15, 20, 20), (False, False, False)),
    Box((0, 0, 0), (9, 9, 30), (True, True, False)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("box", BOXES, ids=["periodic", "thin", "open", "slab"])
def test_matches_brute_force(backend, box):
    rng = np.random.default_rng(7)
    n = 150
    x = rng.uniform(box.lo, box.hi, (n, 3))
    ids = rng.permutation(n).astype(np.int64) * 3 + 11
    nl = build(get_device(backend), x, ids, box, cutoff=3.5, skin=0.5)
    ref = brute_force(x, ids, box, 4.0)
    for i in range(n):
        assert listed(nl, ids, i) == ref[i], f"row {i}"


def test_backends_give_identical_lists():
    rng = np.random.default_rng(3)
    box = Box((0, 0, 0), (20, 20, 20))
    x = rng.uniform(0, 20, (800, 3))
    ids = np.arange(800, dtype=np.int64)
    a = build(get_device("numpy"), x, ids, box, 4.0, 1.0)
    b = build(get_device("cpu"), x, ids, box, 4.0, 1.0)
    assert np.array_equal(a.counts, b.counts)
    for i in range(800):
        c = a.counts[i]
        assert np.array_equal(a.neighbors[i, :c], b.neighbors[i, :c])
        assert np.array_equal(a.images[i, :c], b.images[i, :c])


@pytest.mark.parametrize("backend", BACKENDS)
def test_capacity_grows_on_overflow(backend):
    rng = np.random.default_rng(5)
    box = Box((0, 0, 0), (10, 10, 10))
    x = rng.uniform(0, 10, (300, 3))
    nl = build(get_device(backend), x, np.arange(300), box, 4.0, 0.5, capacity=4)
    assert nl.capacity >= int(nl.counts.max()) > 4
    assert listed(nl, np.arange(300), 0) == brute_force(x, np.arange(300), box, 4.5)[0]


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_rebuild_only_after_half_the_skin(backend):
    box = Box((0, 0, 0), (10, 10, 10))
    x = np.random.default_rng(1).uniform(0, 10, (50, 3))
    device = get_device(backend)
    nl = build(device, x, np.arange(50), box, 3.0, 1.0)
    y = x.copy()
    y[7, 0] += 0.49
    assert not needs_rebuild(device, nl, y)
    y[7, 0] += 0.02
    assert needs_rebuild(device, nl, y)

"""Counter-based random numbers: Philox known answers, NumPy against the compiled kernels,
statistics, invariance under atom order and subset, and Maxwell-Boltzmann velocities."""

import shutil
import subprocess

import numpy as np
import pytest
from scipy import stats

from qc_sim.atomistic.random import (VELOCITY_STREAM, gaussian3, gaussian_noise,
                                     kinetic_temperature, maxwell_boltzmann_velocities,
                                     philox4x32, random_blocks, u01, uniform4)
from qc_sim.backend import available_backends, get_device
from qc_sim.backend import sources
from qc_sim.units import BOLTZMANN, MVV2E

# Random123's kat_vectors for Philox4x32-10: counter (4 words), key (2 words) -> output.
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]

# (seed, step, ids): large seeds, negative steps and ids beyond 32 bits exercise every word.
CASES = [
    (0, 0, np.arange(1000)),
    (12345, 17, np.arange(1000) * 7919 + 3),
    (2**64 - 1, VELOCITY_STREAM, np.arange(1000) + 2**40),
    (2**63 + 99, 2**40 + 5, np.array([0, 1, 2**31, 2**32 - 1, 2**32, 2**62, 2**63 - 1])),
]


@pytest.fixture(scope="module")
def cpu_random():
    if available_backends()["cpu"] is not None:
        pytest.skip("no compiled CPU backend")
    return get_device("cpu").kernels("random")


def pack(words):
    """(..., 4) or (..., 2) uint32 words to (..., 2) or (...,) uint64 as the kernel takes them."""
    w = np.asarray(words, dtype=np.uint64)
    lo, hi = w[..., 0::2], w[..., 1::2]
    return np.ascontiguousarray(lo | (hi << np.uint64(32)))


def unpack(packed):
    p = np.asarray(packed, dtype=np.uint64)
    lo = (p & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    hi = (p >> np.uint64(32)).astype(np.uint32)
    return np.stack([lo, hi], axis=-1).reshape(*p.shape[:-1], -1)


# --- Philox4x32-10 ---------------------------------------------------------------------

@pytest.mark.parametrize("counter, key, expected", KAT)
def test_philox_known_answers(counter, key, expected):
    out = philox4x32(np.array(counter, np.uint32), np.array(key, np.uint32))
    assert out.dtype == np.uint32
    assert out.tolist() == list(expected)


def test_philox_broadcasts_over_leading_axes():
    counters = np.array([k[0] for k in KAT], np.uint32)
    keys = np.array([k[1] for k in KAT], np.uint32)
    assert philox4x32(counters, keys).tolist() == [list(k[2]) for k in KAT]
    same_key = philox4x32(counters[:, None, :], keys[0])  # (3, 1, 4) against (2,)
    assert same_key.shape == (3, 1, 4)
    assert same_key[0, 0].tolist() == list(KAT[0][2])


def test_philox_known_answers_compiled(cpu_random):
    counters = pack(np.array([k[0] for k in KAT], np.uint32))
    keys = pack(np.array([k[1] for k in KAT], np.uint32))[:, 0].copy()
    out = np.zeros((len(KAT), 2), np.uint64)
    cpu_random.philox4x32_10(len(KAT), counters, keys, out)
    assert unpack(out).tolist() == [list(k[2]) for k in KAT]


def test_philox_compiled_matches_numpy_on_random_words(cpu_random):
    rng = np.random.default_rng(7)
    counters = rng.integers(0, 2**32, size=(5000, 4), dtype=np.uint32)
    keys = rng.integers(0, 2**32, size=(5000, 2), dtype=np.uint32)
    out = np.zeros((5000, 2), np.uint64)
    cpu_random.philox4x32_10(5000, pack(counters), pack(keys)[:, 0].copy(), out)
    assert np.array_equal(unpack(out), philox4x32(counters, keys))


# --- the scheme: counter layout and uniforms -------------------------------------------

def test_counter_and_key_layout():
    seed, step, gid = 2**63 + 0x1234, -3, 2**40 + 5
    x = random_blocks(seed, step, np.array([gid]))[0]
    key = np.array([seed & 0xFFFFFFFF, seed >> 32], np.uint32)
    s = step & (2**64 - 1)
    ctr = np.array([gid & 0xFFFFFFFF, gid >> 32, s & 0xFFFFFFFF, s >> 32], np.uint32)
    assert x[:4].tolist() == philox4x32(ctr, key).tolist()
    ctr[1] |= np.uint32(1 << 31)
    assert x[4:].tolist() == philox4x32(ctr, key).tolist()


def test_uniform_mapping_is_exact_and_open():
    hi = np.array([0, 0, 0, 0xFFFFFFFF, 0x80000000], np.uint32)
    lo = np.array([0, 0xFFF, 0x1000, 0xFFFFFFFF, 0], np.uint32)
    u = u01(hi, lo)
    assert u.tolist() == [2.0**-53, 2.0**-53, 3 * 2.0**-53, 1 - 2.0**-53, 0.5 + 2.0**-53]
    assert np.all((u > 0) & (u < 1))


@pytest.mark.parametrize("seed, step, ids", CASES)
def test_compiled_uniforms_bitwise_equal_numpy(cpu_random, seed, step, ids):
    gid = np.ascontiguousarray(ids, np.int64)
    out = np.empty((gid.size, 4))
    cpu_random.uniform_noise(gid.size, seed, step, gid, out)
    assert np.array_equal(out, uniform4(seed, step, gid))


@pytest.mark.parametrize("seed, step, ids", CASES)
def test_compiled_gaussians_match_numpy(cpu_random, seed, step, ids):
    gid = np.ascontiguousarray(ids, np.int64)
    out = np.empty((gid.size, 3))
    cpu_random.gaussian_noise(gid.size, seed, step, gid, out)
    np.testing.assert_allclose(out, gaussian3(seed, step, gid), rtol=1e-14, atol=1e-15)


def test_gaussian_noise_on_each_device_agrees():
    gid = np.arange(500, dtype=np.int64) * 3
    ref = gaussian3(42, 9, gid)
    for name, reason in available_backends().items():
        if reason is not None:
            continue
        dev = get_device(name)
        z = dev.to_host(gaussian_noise(dev, 42, 9, dev.asarray(gid)))
        np.testing.assert_allclose(z, ref, rtol=1e-14, atol=1e-15, err_msg=name)


@pytest.mark.gpu
def test_gpu_uniforms_bitwise_equal_cpu():
    reasons = available_backends()
    if reasons["gpu"] is not None or reasons["cpu"] is not None:
        pytest.skip("needs both the GPU and the CPU backends")
    gpu, cpu = get_device("gpu"), get_device("cpu")
    gid = np.arange(10000, dtype=np.int64) * 13 + 2**33
    u_cpu, u_gpu = np.empty((gid.size, 4)), gpu.xp.empty((gid.size, 4))
    cpu.kernels("random").uniform_noise(gid.size, 2**64 - 5, -1, gid, u_cpu)
    gpu.kernels("random").uniform_noise(gid.size, 2**64 - 5, -1, gpu.asarray(gid), u_gpu)
    assert np.array_equal(gpu.to_host(u_gpu), u_cpu)
    z_gpu = gpu.to_host(gaussian_noise(gpu, 2**64 - 5, 123, gpu.asarray(gid)))
    np.testing.assert_allclose(z_gpu, gaussian3(2**64 - 5, 123, gid), rtol=1e-14, atol=1e-15)


def test_negative_ids_and_oversized_steps_are_refused():
    with pytest.raises(ValueError, match=">= 0"):
        gaussian3(1, 0, np.array([3, -1]))
    with pytest.raises(ValueError, match="signed 64-bit"):
        gaussian3(1, 2**63, np.array([0]))


# --- invariance ------------------------------------------------------------------------

def test_numbers_for_an_atom_do_not_depend_on_the_others(cpu_random):
    gid = np.arange(2000, dtype=np.int64) * 5 + 11
    full = gaussian3(77, 1000, gid)
    perm = np.random.default_rng(3).permutation(gid.size)
    assert np.array_equal(gaussian3(77, 1000, gid[perm]), full[perm])
    subset = perm[:137]
    assert np.array_equal(gaussian3(77, 1000, gid[subset]), full[subset])
    assert np.array_equal(gaussian3(77, 1000, gid[5:6]), full[5:6])
    out = np.empty((subset.size, 3))
    cpu_random.gaussian_noise(subset.size, 77, 1000, np.ascontiguousarray(gid[subset]), out)
    compiled = np.empty((gid.size, 3))
    cpu_random.gaussian_noise(gid.size, 77, 1000, gid, compiled)
    assert np.array_equal(out, compiled[subset])


def test_seed_step_and_id_each_change_the_numbers():
    gid = np.arange(100, dtype=np.int64)
    z = gaussian3(5, 10, gid)
    for other in (gaussian3(6, 10, gid), gaussian3(5, 11, gid), gaussian3(5, 10, gid + 100),
                  gaussian3(5 + 2**32, 10, gid), gaussian3(5, 10 + 2**32, gid)):
        assert not np.any(z == other)
    assert not np.any(z == gaussian3(5, VELOCITY_STREAM, gid))


# --- statistics (fixed seeds: deterministic, so these either always pass or never) --------

N_ATOMS = 333_334  # 1e6 deviates


@pytest.fixture(scope="module")
def draws():
    gid = np.arange(N_ATOMS, dtype=np.int64)
    return gid, gaussian3(2024, 7, gid), gaussian3(2024, 8, gid), uniform4(2024, 7, gid)


def test_gaussian_moments(draws):
    _, z, _, _ = draws
    x = z.ravel()
    n = x.size
    assert abs(x.mean()) < 5 / np.sqrt(n)
    assert abs(x.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(stats.skew(x)) < 5 * np.sqrt(6 / n)
    assert abs(stats.kurtosis(x)) < 5 * np.sqrt(24 / n)
    for c in range(3):  # each component is standard normal on its own
        assert abs(z[:, c].mean()) < 5 / np.sqrt(N_ATOMS)
        assert abs(z[:, c].var() - 1) < 5 * np.sqrt(2 / N_ATOMS)
    assert stats.kstest(x, "norm").pvalue > 1e-4


def test_uniform_histogram_chi_square(draws):
    _, _, _, u = draws
    counts, _ = np.histogram(u.ravel(), bins=200, range=(0, 1))
    expected = u.size / 200
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, 199) > 1e-4
    assert stats.kstest(u.ravel(), "uniform").pvalue > 1e-4


def test_no_correlation_between_steps_ids_or_components(draws):
    _, z, z_next, u = draws
    limit = 5 / np.sqrt(z.size)

    def corr(a, b):
        return np.corrcoef(a.ravel(), b.ravel())[0, 1]

    assert abs(corr(z, z_next)) < limit  # consecutive steps, same atoms
    assert abs(corr(z[:-1], z[1:])) < limit  # neighbouring ids, same step
    assert abs(corr(z**2, z_next**2)) < limit  # no dependence in magnitude either
    lim_c = 5 / np.sqrt(N_ATOMS)
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert abs(corr(z[:, a], z[:, b])) < lim_c
        assert abs(corr(z[:, a] ** 2, z[:, b] ** 2)) < lim_c
    for a in range(4):
        for b in range(a + 1, 4):
            assert abs(corr(u[:, a], u[:, b])) < lim_c


# --- Maxwell-Boltzmann -------------------------------------------------------------------

def two_species(n, seed=0):
    rng = np.random.default_rng(seed)
    masses = np.where(rng.random(n) < 0.5, 26.98, 63.546)
    gid = rng.permutation(3 * n)[:n].astype(np.int64) + 1  # sparse, unordered ids
    return masses, gid


def test_kinetic_temperature_matches_definition():
    v = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]])
    m = np.array([2.0, 4.0])
    ke = 0.5 * MVV2E * (2.0 * 14 + 4.0 * 1.25)
    assert kinetic_temperature(v, m, 3) == pytest.approx(2 * ke / (3 * BOLTZMANN), rel=1e-15)


@pytest.mark.parametrize("dimension", [2, 3])
def test_maxwell_boltzmann_exact_temperature_zero_momentum(dimension):
    masses, gid = two_species(5000)
    v = maxwell_boltzmann_velocities(masses, gid, 300.0, seed=11, dimension=dimension)
    assert v.shape == (5000, 3)
    assert np.all(v[:, dimension:] == 0)
    dof = dimension * 5000 - dimension
    assert kinetic_temperature(v, masses, dof) == pytest.approx(300.0, rel=1e-12)
    p = (masses[:, None] * v).sum(axis=0)
    assert np.abs(p).max() < 1e-10 * (masses[:, None] * np.abs(v)).sum()


def test_maxwell_boltzmann_equipartition_per_species():
    masses, gid = two_species(40000, seed=1)
    v = maxwell_boltzmann_velocities(masses, gid, 500.0, seed=3)
    for m in np.unique(masses):
        sel = masses == m
        t = kinetic_temperature(v[sel], masses[sel], 3 * sel.sum())
        assert t == pytest.approx(500.0, rel=0.03)


def test_maxwell_boltzmann_independent_of_atom_order():
    masses, gid = two_species(3000, seed=2)
    v = maxwell_boltzmann_velocities(masses, gid, 100.0, seed=9)
    perm = np.random.default_rng(4).permutation(gid.size)
    v_perm = maxwell_boltzmann_velocities(masses[perm], gid[perm], 100.0, seed=9)
    assert np.array_equal(v_perm, v[perm])
    assert not np.array_equal(v, maxwell_boltzmann_velocities(masses, gid, 100.0, seed=10))


def test_maxwell_boltzmann_fixed_atoms_and_dof():
    masses, gid = two_species(2000, seed=5)
    fixed = np.zeros(2000, bool)
    fixed[:300] = True
    v = maxwell_boltzmann_velocities(masses, gid, 250.0, seed=1, fixed_mask=fixed)
    assert np.all(v[fixed] == 0)
    free = ~fixed
    assert np.abs((masses[free, None] * v[free]).sum(axis=0)).max() < 1e-9
    assert kinetic_temperature(v, masses, 3 * 1700 - 3) == pytest.approx(250.0, rel=1e-12)
    v_dof = maxwell_boltzmann_velocities(masses, gid, 250.0, seed=1, fixed_mask=fixed,
                                         dof=3 * 1700)
    assert kinetic_temperature(v_dof, masses, 3 * 1700) == pytest.approx(250.0, rel=1e-12)


def test_maxwell_boltzmann_degenerate_cases():
    assert np.all(maxwell_boltzmann_velocities([63.5], [0], 300.0, seed=1) == 0)
    assert np.all(maxwell_boltzmann_velocities([63.5, 63.5], [0, 1], 0.0, seed=1) == 0)
    with pytest.raises(ValueError, match="masses"):
        maxwell_boltzmann_velocities([1.0, 2.0], [0, 1, 2], 300.0, seed=1)
    with pytest.raises(ValueError, match="temperature"):
        maxwell_boltzmann_velocities([1.0, 2.0], [0, 1], -1.0, seed=1)


# --- GPU source compiles -----------------------------------------------------------------

@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not on PATH")
def test_random_kernels_compile_to_ptx(tmp_path):
    src = sources.kernel_dir() / "random.cu"
    cmd = ["nvcc", "-ptx", "-arch=sm_80", "-std=c++17", f"-I{sources.kernel_dir()}", str(src),
           "-o", str(tmp_path / "random.ptx")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    ptx = (tmp_path / "random.ptx").read_text()
    for name in ("gaussian_noise", "uniform_noise", "philox4x32_10"):
        assert f".entry {name}" in ptx

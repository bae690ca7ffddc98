"""The backend: choosing it, compiling kernels for the CPU, and (with nvcc) for the GPU."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from qc_sim.backend import available_backends, get_device
from qc_sim.backend import sources
from qc_sim.errors import BackendUnavailable

KERNELS = sorted(p.stem for p in sources.kernel_dir().glob("*.cu"))


def test_numpy_and_cpu_available_here():
    reasons = available_backends()
    assert reasons["numpy"] is None
    assert reasons["cpu"] is None, reasons["cpu"]


def test_unknown_backend_is_one_line_error():
    with pytest.raises(BackendUnavailable, match="unknown backend 'tpu'"):
        get_device("tpu")


def test_gpu_unavailable_message_when_no_gpu():
    if available_backends()["gpu"] is None:
        pytest.skip("a GPU is present")
    with pytest.raises(BackendUnavailable, match="backend 'gpu' is unavailable: "):
        get_device("gpu")


def test_environment_variable_chooses_backend():
    code = "from qc_sim.backend import get_device; print(get_device().name)"
    env = dict(os.environ, QC_SIM_BACKEND="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "numpy", out.stderr


def test_cpu_kernel_runs_and_checks_arguments():
    k = get_device("cpu").kernels("runtime")
    x, y = np.arange(4.0), np.ones(4)
    k.axpy(4, 2.0, x, y)
    assert np.array_equal(y, [1, 3, 5, 7])
    with pytest.raises(TypeError, match="contiguous float64"):
        k.axpy(4, 2.0, np.arange(4), y)


def test_every_kernel_signature_parses():
    for name in KERNELS:
        sigs = sources.signatures(sources.read_source(name))
        assert sigs, name
        for sig in sigs.values():
            assert sig.args[0].kind == "int" and not sig.args[0].pointer


@pytest.mark.parametrize("name", KERNELS)
def test_every_kernel_compiles_for_the_cpu(name):
    module = get_device("cpu").kernels(name)
    assert module.library is not None


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not on PATH")
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("name", KERNELS)
def test_every_kernel_compiles_to_ptx(name, arch, tmp_path):
    src = sources.kernel_dir() / f"{name}.cu"
    cmd = ["nvcc", "-ptx", f"-arch={arch}", "-std=c++17", f"-I{sources.kernel_dir()}", str(src),
           "-o", str(tmp_path / f"{name}.ptx")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr


def test_each_rank_picks_its_gpu_by_node_local_rank_unless_told(monkeypatch):
    from qc_sim.backend.device import LOCAL_RANK_VARIABLES, gpu_index
    from qc_sim.errors import BackendUnavailable

    for var in (*LOCAL_RANK_VARIABLES, "QC_SIM_GPU"):
        monkeypatch.delenv(var, raising=False)
    assert gpu_index(4) == 0
    monkeypatch.setenv("MPI_LOCALRANKID", "5")  # MPICH's launcher
    assert gpu_index(4) == 1  # ranks beyond the GPUs share them round-robin
    monkeypatch.delenv("MPI_LOCALRANKID")
    monkeypatch.setenv("SLURM_LOCALID", "2")
    assert gpu_index(4) == 2
    monkeypatch.setenv("QC_SIM_GPU", "3")  # the override wins
    assert gpu_index(4) == 3
    monkeypatch.setenv("QC_SIM_GPU", "4")
    with pytest.raises(BackendUnavailable, match="QC_SIM_GPU='4' names no device: CuPy sees 4"):
        gpu_index(4)


def test_default_threads_share_a_nodes_cores_and_the_plan_warns_on_oversubscription():
    """The default share of the cores (unbound ranks split the mask, bound ranks keep their
    own cores, never below 1); the header's summary and the one-line warning naming the
    setting that asked for too many threads."""
    from qc_sim.backend.cpu import RankThreads, ThreadPlan, default_threads

    cores = frozenset(range(8))
    assert default_threads(cores, [cores]) == 8  # serial, or one rank on the node
    assert default_threads(cores, [cores] * 2) == 4
    assert default_threads(cores, [cores] * 3) == 2
    assert default_threads(cores, [cores] * 16) == 1
    bound = [frozenset({2 * k, 2 * k + 1}) for k in range(4)]
    assert all(default_threads(m, bound) == 2 for m in bound)
    plan = ThreadPlan(tuple(RankThreads(f"n{k // 2}", 2 * (k // 2), 2, 8, 4) for k in range(4)),
                      1, "default")
    assert plan.summary() == "2 ranks per node x 4 OpenMP threads per rank on 8 cores per node"
    assert plan.warning() is None
    over = plan.with_threads(6, "OMP_NUM_THREADS")
    assert over.warning().startswith("qc-sim: warning: 2 ranks x 6 OpenMP threads on node n0 "
                                     "exceed its 8 cores")
    assert "set OMP_NUM_THREADS=4" in over.warning() and "\n" not in over.warning()
    assert "set [run] threads = 4" in plan.with_threads(5, "[run] threads").warning()
    crowded = ThreadPlan(tuple(RankThreads("n0", 0, 3, 2, 1) for _ in range(3)), 0, "default")
    assert "run at most 2 ranks per node" in crowded.warning()
    serial = ThreadPlan((RankThreads("n0", 0, 1, 2, 1),), 0, "default")
    assert serial.summary() == "1 OpenMP thread" and serial.warning() is None
    assert "set OMP_NUM_THREADS=2 (or unset it: one per core)" in \
        serial.with_threads(3, "OMP_NUM_THREADS").warning()

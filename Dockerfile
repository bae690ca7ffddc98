# qc-sim with its GPU backend (CuPy for CUDA 12, kernels compiled at run time by NVRTC, which
# the CUDA runtime image carries), its CPU backend (g++ with OpenMP) and MPI (mpi4py with the
# mpich wheel, the `mpi` extra).
#
#   docker build -t qc-sim .
#   docker run --rm --gpus all qc-sim                      # qc-sim info: backends and device
#   docker run --rm --gpus all -v $PWD:/work -w /work qc-sim run cases/cu_nve.toml
FROM nvidia/cuda:12.6.3-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv g++ \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /opt/qc-sim
COPY . .
RUN pip install ".[gpu-cuda12,mpi]"

ENTRYPOINT ["qc-sim"]
CMD ["info"]

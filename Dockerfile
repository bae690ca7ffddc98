# qc-sim on the CPU (add the gpu-cuda12 extra on a CUDA base image for the GPU backend).
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/qc-sim
COPY . .
RUN pip install --no-cache-dir ".[mpi]" && qc-sim info
ENTRYPOINT ["qc-sim"]
CMD ["run", "cases/cu_nve.toml"]

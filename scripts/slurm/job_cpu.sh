#!/bin/bash
# scripts/slurm/job.sh for CPU-only nodes: the CPU backend, one MPI rank per core with one
# OpenMP thread each (one thread takes the half-row kernels: the fastest way on a multicore
# node, README "Backends"). For fewer ranks with more threads each, keep
# --ntasks-per-node x --cpus-per-task at the cores of a node: OMP_NUM_THREADS is set from
# --cpus-per-task, so the ranks never oversubscribe the cores (the run header warns if they
# do). Requeue and resume as in job.sh: SIGTERM two minutes before the end, every rank stops
# at the same step with its checkpoint part, and the requeued job continues bitwise.
#
#   sbatch scripts/slurm/job_cpu.sh cases/my_case.toml   (the case needs [output] checkpoint)
#
#SBATCH --job-name=qc-sim
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=64
#SBATCH --cpus-per-task=1
#SBATCH --time=24:00:00
#SBATCH --signal=B:TERM@120
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=qc-sim-%j.log

set -u
CASE=${1:?usage: sbatch scripts/slurm/job_cpu.sh CASE}

# srun starts the ranks with Slurm's PMI (mpi4py built against the site MPI, or the mpich
# wheel with --mpi=pmi2); without --resume's checkpoint the run starts from step 0
# each rank's OpenMP threads are the cores Slurm gives it (srun no longer inherits
# --cpus-per-task from sbatch, so it is passed on too)
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
srun --mpi=pmi2 --cpus-per-task="$OMP_NUM_THREADS" qc-sim run "$CASE" --backend cpu --resume &
pid=$!
trap 'kill -TERM "$pid"' TERM   # pass the scheduler's warning on to the ranks
wait "$pid"; status=$?
if kill -0 "$pid" 2>/dev/null; then   # the trap interrupted wait: let the ranks finish
    wait "$pid"; status=$?
fi
if [ "$status" -eq 143 ] || [ "$status" -eq 130 ]; then  # stopped with a checkpoint written
    scontrol requeue "$SLURM_JOB_ID"
fi
exit "$status"

#!/bin/bash
# A Slurm batch job for qc-sim on GPU nodes that survives its wall time and node failures: one
# GPU per rank (each rank binds its device) and --cpus-per-task cores per rank for its OpenMP
# threads (passed on as OMP_NUM_THREADS), SIGTERM two minutes before the end (--signal), on
# which every rank stops at the same step, writes its checkpoint part and exits 143; the job
# then requeues itself, and the requeued job (on whatever allocation, any rank count)
# continues from the newest good checkpoint with `qc-sim run CASE --resume`, bitwise.
# scripts/slurm/job_cpu.sh is the same job for CPU-only nodes.
#
#   sbatch scripts/slurm/job.sh cases/my_case.toml   (the case needs [output] checkpoint)
#
#SBATCH --job-name=qc-sim
#SBATCH --ntasks=4
#SBATCH --gpus-per-task=1
#SBATCH --cpus-per-task=8
#SBATCH --time=24:00:00
#SBATCH --signal=B:TERM@120
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=qc-sim-%j.log

set -u
CASE=${1:?usage: sbatch scripts/slurm/job.sh CASE}

# srun starts the ranks with Slurm's PMI (mpi4py built against the site MPI, or the mpich
# wheel with --mpi=pmi2); without --resume's checkpoint the run starts from step 0
# each rank's OpenMP threads are the cores Slurm gives it (srun no longer inherits
# --cpus-per-task from sbatch, so it is passed on too)
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
srun --mpi=pmi2 --cpus-per-task="$OMP_NUM_THREADS" qc-sim run "$CASE" --resume &
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

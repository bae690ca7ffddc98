#!/bin/bash
# A Slurm batch job for qc-sim that survives its wall time: Slurm sends SIGTERM two minutes
# before the end (--signal), qc-sim writes its checkpoint and exits 143, and the job requeues
# itself; the requeued job finds the checkpoint and restarts from it, bitwise.
#
#   sbatch scripts/slurm_job.sh cases/my_case.toml      (the case needs [output] checkpoint)
#
#SBATCH --job-name=qc-sim
#SBATCH --ntasks=1
#SBATCH --gpus-per-task=1
#SBATCH --time=24:00:00
#SBATCH --signal=B:TERM@120
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=qc-sim-%j.log

set -u
CASE=${1:?usage: sbatch scripts/slurm_job.sh CASE}
CHECKPOINT=${CHECKPOINT:-run.h5}   # the case's [output] checkpoint

if [ -f "$CHECKPOINT" ]; then
    qc-sim restart "$CHECKPOINT" &
else
    qc-sim run "$CASE" &
fi
pid=$!
trap 'kill -TERM "$pid"' TERM   # pass the scheduler's warning on to qc-sim
wait "$pid"; status=$?
if kill -0 "$pid" 2>/dev/null; then   # the trap interrupted wait: let qc-sim finish writing
    wait "$pid"; status=$?
fi
if [ "$status" -eq 143 ] || [ "$status" -eq 130 ]; then  # stopped with a checkpoint written
    scontrol requeue "$SLURM_JOB_ID"
fi
exit "$status"

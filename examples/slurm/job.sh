#!/usr/bin/env bash
# One whole (unsharded) peff run as one Slurm job with a checkpoint: for `peff stochastic`, which
# takes no `--shard`, or any run small enough for one machine.
#
#   bash examples/slurm/job.sh COMMAND [FLAGS…]        # from the repository root
#
#   CPUS=16 SBATCH_ARGS="--time=04:00:00 --mem=4G" bash examples/slurm/job.sh stochastic --n 6
#
# Run with bash (not sbatch), it submits one job (CPUS cores) that runs
#   peff COMMAND FLAGS… --threads CPUS --out OUT --checkpoint CKPT
# (exec'd, so that peff itself receives Slurm's SIGTERM on preemption, requeue or time limit,
# saves its checkpoint and exits; the requeued job resumes from it) and prints `job <job id>`.
#
# Environment (defaults in brackets): CPUS [1], OUT [results], CKPT [OUT/ckpt-COMMAND.json; one
# per run], PEFF [./target/release/peff], SBATCH_ARGS (more sbatch options, word-split). The Slurm
# log is OUT/slurm-<job id>.log.
set -euo pipefail

CPUS=${CPUS:-1}
OUT=${OUT:-results}
PEFF=${PEFF:-./target/release/peff}
SBATCH_ARGS=${SBATCH_ARGS:-}

case "${1:-}" in
--run)
    shift
    cmd=$1
    shift
    echo "job: $(hostname): peff $cmd (restart ${SLURM_RESTART_COUNT:-0})" >&2
    [[ -e $CKPT ]] && echo "job: resuming from checkpoint $CKPT" >&2
    exec $PEFF "$cmd" "$@" --threads "${SLURM_CPUS_PER_TASK:-$CPUS}" --out "$OUT" --checkpoint "$CKPT"
    ;;
"" | -*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac

cmd=$1
[[ -z ${SLURM_JOB_ID:-} ]] || {
    echo "job: run this script with bash, not sbatch: it submits the job itself" >&2
    exit 2
}
CKPT=${CKPT:-$OUT/ckpt-$cmd.json}
mkdir -p "$OUT" "$(dirname "$CKPT")"
export CPUS OUT CKPT PEFF
# shellcheck disable=SC2086 # SBATCH_ARGS is a list of options
job=$(sbatch --parsable --job-name="peff-$cmd" --cpus-per-task="$CPUS" --requeue --open-mode=append \
    --output="$OUT/slurm-%j.log" $SBATCH_ARGS "$0" --run "$@")
echo "job ${job%%;*}"

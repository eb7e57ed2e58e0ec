#!/usr/bin/env bash
# A Slurm job array that computes one `peff exact` configuration in SHARDS pieces and merges them.
#
#   sbatch examples/slurm/exact-array.sh                  # submits the array and the merge job
#
# Every shard writes one partial-result file (exact integer mask tallies + full configuration +
# checksum) into $OUT; the merge job checks that all shards belong to the same configuration,
# that none is missing or repeated, and writes exactly the table the unsharded run writes.
# Edit PEFF_FLAGS to choose the configuration (every shard and the merge must use the same one).
#SBATCH --job-name=peff-exact
#SBATCH --array=0-6
#SBATCH --cpus-per-task=8
#SBATCH --time=02:00:00
#SBATCH --output=peff-%A_%a.log
set -euo pipefail

SHARDS=${SHARDS:-7}
OUT=${OUT:-shards}
PEFF=${PEFF:-./target/release/peff}
PEFF_FLAGS=${PEFF_FLAGS:---task regression --n 8}

if [[ -n "${SLURM_ARRAY_TASK_ID:-}" ]]; then
    # One shard; --checkpoint lets a preempted or requeued task resume where it stopped.
    $PEFF exact $PEFF_FLAGS --threads "${SLURM_CPUS_PER_TASK:-0}" \
        --shard "${SLURM_ARRAY_TASK_ID}/${SHARDS}" --out "$OUT" \
        --checkpoint "$OUT/checkpoint-${SLURM_ARRAY_TASK_ID}.json"
    # The first task submits the merge, to run once every task of the array has succeeded.
    if [[ "${SLURM_ARRAY_TASK_ID}" == 0 ]]; then
        sbatch --dependency="afterok:${SLURM_ARRAY_JOB_ID}" --job-name=peff-merge \
            --wrap="$PEFF merge $OUT/*.shard-*-of-${SHARDS}.json --out $OUT"
    fi
else
    sbatch "$0"
fi

#!/usr/bin/env bash
# One peff run as a Slurm job array of shards, and the merge as a job that depends on the array.
#
#   bash examples/slurm/shard-array.sh COMMAND [FLAGS…]        # from the repository root
#
#   SHARDS=7 bash examples/slurm/shard-array.sh exact --n 8
#   SHARDS=10 METHODS="random synflow magnitude imp snip grasp" NAME=memorize-fashion-mnist-60k \
#     SBATCH_ARGS="--time=01:00:00 --mem=2G" \
#     bash examples/slurm/shard-array.sh memorize --dataset fashion-mnist --train-size 60000
#
# COMMAND is a command that takes `--shard` (exact, sample, memorize, noise-corr, scaling). Run with
# bash (not sbatch), it submits
#   1. a job array of SHARDS tasks (`sbatch --array`, CPUS cores each), task i running
#        peff COMMAND FLAGS… --shard i/SHARDS --threads CPUS --out OUT \
#          --checkpoint OUT/ckpt-i-of-SHARDS.json
#      so that a preempted or requeued task (`scontrol requeue`) resumes from its checkpoint;
#   2. the merge, `peff merge OUT/*.shard-*-of-SHARDS.json --out RESULTS`, as a job that runs once
#      every task has succeeded (`--dependency=afterok:<array job id>`),
# and prints `array <job id>` and `merge <job id>` on stdout.
#
# METHODS="m1 m2 …" splits the run by method as well: |METHODS| × SHARDS tasks, task t running
# method m = METHODS[t / SHARDS] on shard t % SHARDS with `--methods m --name NAME-m` (pass no
# --methods or --name in FLAGS then), and the merge job writes RESULTS/NAME-m.{csv,json} per method.
#
# Environment (defaults in brackets):
#   SHARDS [10]            shards per run (per method with METHODS)
#   CPUS [1]               cores per task (`--cpus-per-task`, and peff's `--threads`)
#   METHODS, NAME          see above (NAME defaults to `COMMAND`)
#   OUT [shards]           shard files, checkpoints and the Slurm logs (`slurm-<job>_<task>.log`,
#                          appended to on a requeue); use one directory per run, since the merge
#                          takes every `*.shard-*-of-SHARDS.json` in it
#   RESULTS [results]      where the merge writes the table
#   PEFF [./target/release/peff]  the binary, as seen from the submit directory on the nodes
#   SBATCH_ARGS            more sbatch options for the array tasks (word-split), e.g.
#                          "--time=01:00:00 --mem=2G --partition=long"
#   MERGE_SBATCH_ARGS      the same for the merge job (e.g. more memory for large shard files)
# The tasks and the merge run in the directory sbatch was called from, as usual.
set -euo pipefail

SHARDS=${SHARDS:-10}
CPUS=${CPUS:-1}
OUT=${OUT:-shards}
RESULTS=${RESULTS:-results}
PEFF=${PEFF:-./target/release/peff}
METHODS=${METHODS:-}
SBATCH_ARGS=${SBATCH_ARGS:-}
MERGE_SBATCH_ARGS=${MERGE_SBATCH_ARGS:-}

case "${1:-}" in
--task)
    # One array task. `exec`, so that peff itself receives Slurm's SIGTERM (on preemption,
    # requeue, cancel or time limit), saves its checkpoint and exits before the SIGKILL.
    shift
    cmd=$1
    shift
    t=${SLURM_ARRAY_TASK_ID:?not in a Slurm array task}
    if [[ -n $METHODS ]]; then
        read -r -a methods <<<"$METHODS"
        m=${methods[t / SHARDS]}
        s=$((t % SHARDS))
        extra=(--methods "$m" --name "${NAME:-$cmd}-$m")
        ckpt=$OUT/ckpt-${NAME:-$cmd}-$m-$s-of-$SHARDS.json
    else
        s=$t
        extra=()
        ckpt=$OUT/ckpt-$s-of-$SHARDS.json
    fi
    echo "shard-array: task $t on $(hostname): peff $cmd${extra[*]:+ ${extra[*]}} --shard $s/$SHARDS (restart ${SLURM_RESTART_COUNT:-0})" >&2
    [[ -e $ckpt ]] && echo "shard-array: resuming from checkpoint $ckpt" >&2
    exec $PEFF "$cmd" "$@" "${extra[@]}" --shard "$s/$SHARDS" --threads "${SLURM_CPUS_PER_TASK:-$CPUS}" \
        --out "$OUT" --checkpoint "$ckpt"
    ;;
--merge)
    if [[ -n $METHODS ]]; then
        read -r -a methods <<<"$METHODS"
        for m in "${methods[@]}"; do
            $PEFF merge "$OUT/${NAME:-$2}-$m".shard-*-of-"$SHARDS".json --out "$RESULTS"
        done
    else
        $PEFF merge "$OUT"/*.shard-*-of-"$SHARDS".json --out "$RESULTS"
    fi
    exit
    ;;
"" | -*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac

# Submitting.
cmd=$1
[[ -z ${SLURM_ARRAY_TASK_ID:-} ]] || {
    echo "shard-array: run this script with bash, not sbatch: it submits the array itself" >&2
    exit 2
}
if [[ -n $METHODS ]]; then
    read -r -a methods <<<"$METHODS"
    tasks=$((${#methods[@]} * SHARDS))
else
    tasks=$SHARDS
fi
mkdir -p "$OUT" "$RESULTS"
export SHARDS CPUS OUT RESULTS PEFF METHODS NAME
# shellcheck disable=SC2086 # SBATCH_ARGS and MERGE_SBATCH_ARGS are lists of options
array=$(sbatch --parsable --job-name="peff-$cmd" --array="0-$((tasks - 1))" --cpus-per-task="$CPUS" \
    --requeue --open-mode=append --output="$OUT/slurm-%A_%a.log" $SBATCH_ARGS \
    "$0" --task "$@")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable --job-name="peff-merge-$cmd" --dependency="afterok:$array" \
    --kill-on-invalid-dep=yes --output="$OUT/slurm-%j-merge.log" $MERGE_SBATCH_ARGS \
    "$0" --merge "$cmd")
merge=${merge%%;*}
echo "array $array"
echo "merge $merge"

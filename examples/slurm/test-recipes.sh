#!/usr/bin/env bash
# Test: the Slurm recipes of docs/large-runs.md, run on a real (one-node, local) Slurm cluster with
# tiny settings, give byte for byte the tables of the unsharded runs; a requeued (preempted) task
# resumes from its checkpoint to the same table.
#
#   sudo examples/slurm/test-recipes.sh          # from anywhere; run by .ci/run
#
# Starts the cluster with examples/slurm/local-cluster.sh (installs Slurm and munge on Debian),
# then submits the recipes of the block of docs/large-runs.md marked
# `<!-- examples/slurm/test-recipes.sh runs the next block -->`, word for word: real job arrays
# (`sbatch --array`, examples/slurm/shard-array.sh) of memorize (Gaussian; FashionMNIST split by
# method and shard as in Fig. 1b; the ConvNet as in Fig. 1c), noise-corr, scaling and exact, each
# with its merge as a job that depends on the array (`--dependency=afterok`), and `peff stochastic`,
# which takes no --shard, as one job with a checkpoint (examples/slurm/job.sh).
# Meanwhile it runs every recipe unsharded here (the same line, with a `bash` that runs peff), and
# at the end compares: the CSVs byte for byte; the JSONs equal except `wall_seconds` (always),
# `threads` (null in a merge) and `merged_from_shards` (only in a merge); the SVG of stochastic
# byte for byte.
# Preemption: a memorize array with --checkpoint (several seeds per task) has one task requeued
# (`scontrol requeue <job>_<task>`) while it runs, once its checkpoint exists; the test checks that
# peff got the SIGTERM and saved, that the task ran again from its checkpoint, and that the merged
# table equals the unsharded run's.
# Fails (exit 1, with the reason and the job's log) when a job fails, a table differs, or Slurm
# does not come up or the jobs do not finish within SLURM_TEST_TIMEOUT seconds (default 600);
# cancels its jobs on every exit. Leaves the daemons running.
# Environment: PEFF (default ${CARGO_TARGET_DIR:-target}/release/peff; copied, so that a rebuild
# during the test is harmless),
# SLURM_TEST_TIMEOUT, KEEP=1 keeps the work directory (kept anyway on failure).
set -euo pipefail

if [[ -n ${PEFF:-} && $PEFF != /* ]]; then PEFF=$PWD/$PEFF; fi # relative to where it was called
cd "$(dirname "$0")/../.."
ROOT=$PWD
TIMEOUT=${SLURM_TEST_TIMEOUT:-600}
started=$SECONDS
say() { echo "test-recipes: $*" >&2; }
fail() {
    say "FAIL: $*"
    exit 1
}

[[ $(id -u) == 0 ]] || fail "run as root (the local Slurm cluster needs it)"
src=${PEFF:-${CARGO_TARGET_DIR:-target}/release/peff}
[[ -x $src ]] || fail "no peff binary at $src (cargo build --release --locked)"
if [[ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
    apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/peff-slurm-test.XXXXXX")
chmod 755 "$WORK"
cp "$src" "$WORK/peff"
export PEFF=$WORK/peff
JOBS=() # every job id submitted, for the final cancel
ok=0
WHOLE_PID=
cleanup() {
    local rc=$?
    if [[ -n $WHOLE_PID ]]; then # the unsharded runs, and the peff it is running
        local kids
        kids=$(pgrep -P "$WHOLE_PID" || true)
        kill "$WHOLE_PID" 2>/dev/null || true
        # shellcheck disable=SC2086
        [[ -z $kids ]] || kill $kids 2>/dev/null || true
    fi
    if ((${#JOBS[@]})); then
        scancel "${JOBS[@]}" 2>/dev/null || true
        local ids
        ids=$(
            IFS=,
            echo "${JOBS[*]}"
        )
        for _ in $(seq 60); do
            [[ -z $(squeue --noheader --jobs="$ids" 2>/dev/null) ]] && break
            sleep 1
        done
        [[ -z $(squeue --noheader --jobs="$ids" 2>/dev/null) ]] || say "warning: jobs $ids still in squeue"
    fi
    if ((ok)) && [[ ${KEEP:-0} != 1 ]]; then
        rm -rf "$WORK"
    else
        say "work directory kept: $WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SLURM_UP_TIMEOUT=${SLURM_UP_TIMEOUT:-120} "$ROOT/examples/slurm/local-cluster.sh" ||
    fail "the local Slurm cluster did not come up"
say "cluster up after $((SECONDS - started)) s; work directory $WORK"
cd "$WORK"

# ---- the recipes: the block of docs/large-runs.md marked for this test, and the preemption run ----
DOC=$ROOT/docs/large-runs.md
MARK='<!-- examples/slurm/test-recipes.sh runs the next block -->'
grep -qF -- "$MARK" "$DOC" || fail "no '$MARK' in $DOC"
# The sh block after the mark, continuation lines joined, comments and blank lines left out.
mapfile -t DOC_RECIPES < <(
    awk -v mark="$MARK" 'index($0, mark) {f = 1; next} f && /^```sh/ {b = 1; next} b && /^```/ {exit} b' "$DOC" |
        sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$'
)
((${#DOC_RECIPES[@]} >= 8)) || fail "only ${#DOC_RECIPES[@]} recipes in the marked block of $DOC"
# Preemption: 8 seeds of about a second each per task, a checkpoint after every unit of work.
RECIPES=(
    "SHARDS=2 OUT=preempt/shards RESULTS=preempt/merged SBATCH_ARGS='--time=00:10:00 --mem=1G' bash examples/slurm/shard-array.sh memorize --dataset fashion-mnist --train-size 2000 --seeds 16 --width 32 --methods random,magnitude --densities 0.5,0.2 --max-epochs 20 --stop plateau --patience 1000 --checkpoint-interval 0"
    "${DOC_RECIPES[@]}"
)
ln -s "$ROOT/examples" examples # the recipes name the scripts from the repository root

# What a recipe writes: "<kind> <OUT> <where its table goes>", read by running the recipe line
# with a `bash` that only reports.
describe() {
    (
        # shellcheck disable=SC2317 # called through eval
        bash() {
            case "$1" in
            *shard-array.sh) echo "array ${OUT:?} ${RESULTS:-results}" ;;
            *job.sh) echo "job ${OUT:-results} ${OUT:-results}" ;;
            *) echo "unknown - -" ;;
            esac
        }
        eval "$1"
    )
}
declare -A ARRAY MERGE TABLES
ORDER=()
P_OUT=
for line in "${RECIPES[@]}"; do
    read -r kind out tables <<<"$(describe "$line")"
    name=${out%%/*}
    [[ $kind != unknown && $out == "$name/"* && -z ${TABLES[$name]:-} ]] ||
        fail "recipe not of the form 'VAR=… OUT=<name>/… bash examples/slurm/{shard-array,job}.sh …' with a name of its own: $line"
    TABLES[$name]=$tables
    ORDER+=("$name")
    got=$(eval "$line") || fail "submitting $name: $got"
    if [[ $kind == array ]]; then
        ARRAY[$name]=$(awk '$1 == "array" {print $2}' <<<"$got")
        MERGE[$name]=$(awk '$1 == "merge" {print $2}' <<<"$got")
        [[ -n ${ARRAY[$name]} && -n ${MERGE[$name]} ]] || fail "submitting $name: no job ids in: $got"
        JOBS+=("${ARRAY[$name]}" "${MERGE[$name]}")
        say "submitted $name: array ${ARRAY[$name]}, merge ${MERGE[$name]} (afterok)"
        [[ $name != preempt ]] || P_OUT=$out
    else
        job=$(awk '$1 == "job" {print $2}' <<<"$got")
        [[ -n $job ]] || fail "submitting $name: no job id in: $got"
        JOBS+=("$job")
        say "submitted $name: job $job"
    fi
done

# ---- every recipe unsharded, here, while the jobs run: the recipe line with a `bash` that runs
# `peff COMMAND FLAGS…` (per method with METHODS) into <name>/whole ----
(
    set -e
    # shellcheck disable=SC2317 # called through eval
    bash() {
        local cmd=$2 dir=${OUT%%/*}/whole a args=() skip=0
        shift 2
        for a in "$@"; do # no --checkpoint here, so no --checkpoint-interval
            if ((skip)); then
                skip=0
            elif [[ $a == --checkpoint-interval ]]; then
                skip=1
            else
                args+=("$a")
            fi
        done
        mkdir -p "$dir"
        if [[ -n ${METHODS:-} ]]; then
            for m in $METHODS; do
                # shellcheck disable=SC2153 # NAME, like METHODS and OUT, comes with the recipe line
                "$PEFF" "$cmd" "${args[@]}" --methods "$m" --name "$NAME-$m" --threads 1 --out "$dir" >/dev/null
            done
        else
            "$PEFF" "$cmd" "${args[@]}" --threads 1 --out "$dir" >/dev/null
        fi
    }
    for line in "${RECIPES[@]}"; do
        eval "$line"
    done
) 2>"$WORK/whole.log" &
WHOLE_PID=$!

# ---- job states ----
# Prints "<job>[_<task>] <state> <reason>" for every record of the given job ids.
states() {
    local id
    for id in "$@"; do
        scontrol show job --oneliner "$id" 2>/dev/null | awk '{
            id = ""; task = ""; st = ""; rs = ""
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^JobId=/) id = substr($i, 7)
                else if ($i ~ /^ArrayJobId=/) aid = substr($i, 12)
                else if ($i ~ /^ArrayTaskId=/) task = substr($i, 13)
                else if ($i ~ /^JobState=/) st = substr($i, 10)
                else if ($i ~ /^Reason=/) rs = substr($i, 8)
            }
            if (task != "") id = aid "_" task
            print id, st, rs
        }' || echo "$id MISSING -"
    done
}
job_log() { # the log of a job record, for a failure message
    local f
    f=$(scontrol show job --oneliner "$1" 2>/dev/null | grep -o 'StdOut=[^ ]*' | head -n1 | cut -d= -f2)
    [[ -n $f && -f $f ]] && {
        echo "---- $f (last 30 lines)"
        tail -n 30 "$f"
    }
}
check_jobs() { # returns 0 when all done, 1 while some run; fails on a failed job
    local id st rs pending=0
    while read -r id st rs; do
        case "$st" in
        COMPLETED) ;;
        PENDING | RUNNING | CONFIGURING | COMPLETING | REQUEUED | REQUEUE_HOLD | REQUEUE_FED | RESIZING | SUSPENDED)
            [[ $rs == DependencyNeverSatisfied ]] && fail "job $id can never start (a job it depends on failed)"
            pending=1
            ;;
        MISSING) fail "job $id: no record in slurmctld" ;;
        *)
            say "job $id ended $st ($rs)"
            job_log "$id" >&2
            fail "job $id ended $st"
            ;;
        esac
    done < <(states "${JOBS[@]}")
    return $pending
}

# ---- preemption: requeue task 0 of the preempt array once its checkpoint exists ----
P_TASK=${ARRAY[preempt]}_0
P_CKPT=$P_OUT/ckpt-0-of-2.json
while :; do
    ((SECONDS - started < TIMEOUT)) || fail "task $P_TASK did not start and checkpoint within ${TIMEOUT} s"
    check_jobs || true
    st=$(states "$P_TASK" | awk '{print $2}')
    if [[ -e $P_CKPT ]]; then
        [[ $st == RUNNING ]] || fail "task $P_TASK is $st, not running, when its checkpoint appeared: make its seeds longer"
        break
    fi
    sleep 0.2
done
scontrol requeue "$P_TASK" || fail "scontrol requeue $P_TASK failed"
say "requeued $P_TASK (running, checkpoint $P_CKPT present) after $((SECONDS - started)) s"

# ---- wait for every job ----
until check_jobs; do
    ((SECONDS - started < TIMEOUT)) || {
        squeue >&2
        fail "jobs not finished within ${TIMEOUT} s"
    }
    sleep 1
done
say "all jobs completed after $((SECONDS - started)) s"
wait "$WHOLE_PID" || {
    cat "$WORK/whole.log" >&2
    fail "an unsharded reference run failed"
}
WHOLE_PID=

# ---- compare ----
compare_json() { # compare_json A B: equal except for the keys a merge or a rerun may change
    python3 - "$1" "$2" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
# wall_seconds: the run's wall time; threads: null in a merge (its shards' threads are not
# recorded); merged_from_shards: only in a merge.
for d in (a, b):
    for k in ("wall_seconds", "threads", "merged_from_shards"):
        d.pop(k, None)
if a != b:
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    print("differ in", ", ".join(keys))
    sys.exit(1)
EOF
}
bad=0
compared=0
same() { # same MERGED WHOLE
    local m=$1 w=$2
    if [[ ! -f $m || ! -f $w ]]; then
        say "missing: $([[ -f $m ]] || echo "$m ")$([[ -f $w ]] || echo "$w")"
        bad=1
        return
    fi
    case "$m" in
    *.json) msg=$(compare_json "$m" "$w") || {
        say "DIFFER: $m vs $w: $msg"
        bad=1
    } ;;
    *) cmp -s "$m" "$w" || {
        say "DIFFER: $m vs $w (byte for byte)"
        diff "$m" "$w" | head -n 10 >&2 || true
        bad=1
    } ;;
    esac
    compared=$((compared + 1))
}
for name in "${ORDER[@]}"; do
    n=0
    for w in "$name"/whole/*.csv "$name"/whole/*.json "$name"/whole/*.svg; do
        [[ -e $w ]] || continue
        same "${TABLES[$name]}/${w##*/}" "$w"
        n=$((n + 1))
    done
    ((n)) || {
        say "no unsharded result for $name"
        bad=1
    }
done
((bad == 0)) || fail "merged tables differ from the unsharded runs (work directory $WORK)"
say "$compared merged files equal to the unsharded runs' (CSV and SVG byte for byte; JSON but for wall_seconds, threads, merged_from_shards)"

# ---- the preempted task ----
plog=$P_OUT/slurm-${ARRAY[preempt]}_0.log
restarts=$(scontrol show job --oneliner "$P_TASK" | grep -o 'Restarts=[0-9]*' | cut -d= -f2)
((${restarts:-0} >= 1)) || fail "task $P_TASK was not restarted (Restarts=${restarts:-?})"
first=$(sed -n '/(restart 0)/,/(restart 1)/p' "$plog")
grep -q 'DUE TO JOB REQUEUE' <<<"$first" || fail "no requeue in $plog"
grep -q "$P_CKPT" <<<"$first" || {
    cat "$plog" >&2
    fail "peff did not report saving $P_CKPT when Slurm stopped it"
}
grep -q "resuming from checkpoint $P_CKPT" "$plog" || {
    cat "$plog" >&2
    fail "the requeued task did not find its checkpoint"
}
say "preemption: $P_TASK stopped by the requeue, saved its checkpoint, ran again from it (Restarts=$restarts); merged table identical"
ok=1
say "PASS in $((SECONDS - started)) s"

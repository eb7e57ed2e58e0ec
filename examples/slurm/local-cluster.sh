#!/usr/bin/env bash
# Installs and starts a one-node Slurm cluster (munge, slurmctld, slurmd) on this machine, as root:
# the cluster examples/slurm/test-recipes.sh submits the recipes of docs/large-runs.md to.
#
#   sudo examples/slurm/local-cluster.sh        # idempotent: changes nothing if the cluster is up
#
# Debian (or Ubuntu): installs `slurmctld slurmd slurm-client munge` with apt-get when missing.
# Needs no systemd: the daemons are started directly (munged as the munge user, slurmctld and
# slurmd as root). The node is configured from this machine (`slurmd -C`: its CPUs and memory).
#
# Slurm touches only its own jobs: processes are tracked by parent process (proctrack/linuxproc),
# no task plugin, no cgroups, no accounting, so nothing else running on the machine is
# constrained, signalled or killed. Jobs run at the nice value of the sbatch that submitted them
# (PropagatePrioProcess=1: `nice sbatch …` gives niced jobs). A requeued job may start again after
# 10 s (AuthInfo cred_expire; Slurm's default is 120 s), finished jobs stay visible to scontrol for
# an hour (MinJobAge), a job that asks for no memory gets 1 GB per CPU; the rest is Slurm's default
# (KillWait=30: a preempted task gets SIGTERM, then SIGKILL 30 s later).
#
# Run again, it changes nothing when the cluster is up with this configuration; a changed
# configuration is applied with `scontrol reconfigure`.
# Environment: SLURM_UP_TIMEOUT (seconds to wait for the node to come up, default 120).
# The configuration is written to /etc/slurm/slurm.conf only if there is none or it is one this
# script wrote (marked by its first line); a foreign slurm.conf is left alone and is an error.
# Logs: /var/log/slurm/slurmctld.log, /var/log/slurm/slurmd.log, /var/log/munge/munged.log.
set -euo pipefail

TIMEOUT=${SLURM_UP_TIMEOUT:-120}
CONF=/etc/slurm/slurm.conf
MARK="# peff examples/slurm/local-cluster.sh: a one-node test cluster"
say() { echo "local-cluster: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

[[ $(id -u) == 0 ]] || die "run as root (it installs packages and starts the Slurm daemons)"

node_state() { sinfo --noheader --format=%T 2>/dev/null | head -n1 | tr -d '*~#!%$@^-' || true; }
node_up() {
    case "$(node_state)" in
    idle | mixed | allocated | completing) return 0 ;;
    *) return 1 ;;
    esac
}
pid_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

acted=0 # set when this run installed, wrote or started anything

# ---- packages ----
need=()
command -v munged >/dev/null || [[ -x /usr/sbin/munged ]] || need+=(munge)
[[ -x /usr/sbin/slurmctld ]] || need+=(slurmctld)
[[ -x /usr/sbin/slurmd ]] || need+=(slurmd)
command -v sbatch >/dev/null || need+=(slurm-client)
if ((${#need[@]})); then
    say "installing ${need[*]}"
    command -v apt-get >/dev/null || die "no apt-get: install ${need[*]} by hand"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    acted=1
fi

# ---- munge ----
install -d -o munge -g munge -m 0700 /etc/munge
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
if [[ ! -s /etc/munge/munge.key ]]; then
    say "creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null; then
        runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key
    else
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "starting munged"
    acted=1
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.2
    done
    munge -n | unmunge >/dev/null || die "munged does not answer (see /var/log/munge/munged.log)"
fi

# ---- slurm.conf ----
host=$(hostname -s)
# This machine's node line (CPUs, sockets, cores, threads, RealMemory) as slurmd sees it.
node=$(/usr/sbin/slurmd -C 2>/dev/null | head -n1 | sed -E 's/^NodeName=[^ ]+ //')
if [[ $node != *CPUs=* || $node != *RealMemory=* ]]; then
    node="CPUs=$(nproc) RealMemory=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))"
fi
if [[ -e $CONF ]] && [[ "$(head -n1 "$CONF")" != "$MARK" ]]; then
    die "$CONF exists and was not written by this script: not touching a real cluster's configuration"
fi
install -d -m 0755 /etc/slurm /var/log/slurm /var/spool/slurmctld /var/spool/slurmd
new=$(
    cat <<EOF
$MARK
ClusterName=peff-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=10
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# Track job processes by parent pid; no cgroups, no task binding: nothing outside Slurm's jobs
# is ever touched.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
# Jobs run at the nice value of the sbatch that submitted them (\`nice sbatch …\`).
PropagatePrioProcess=1
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=1024
ReturnToService=2
# Finished jobs stay visible to scontrol for an hour (the test reads their states).
MinJobAge=3600
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
)
if [[ ! -e $CONF ]] || [[ "$(cat "$CONF")" != "$new" ]]; then
    say "writing $CONF (node $host: $node)"
    printf '%s\n' "$new" >"$CONF.tmp"
    mv "$CONF.tmp" "$CONF"
    changed=1
    acted=1
else
    changed=0
fi

# ---- daemons ----
if pid_alive /run/slurmctld.pid; then
    ((changed)) && scontrol reconfigure
else
    say "starting slurmctld"
    acted=1
    /usr/sbin/slurmctld
fi
for _ in $(seq "$TIMEOUT"); do
    scontrol ping 2>/dev/null | grep -q UP && break
    sleep 1
done
scontrol ping 2>/dev/null | grep -q UP || die "slurmctld not up after ${TIMEOUT} s (see /var/log/slurm/slurmctld.log)"
if ! pid_alive /run/slurmd.pid; then
    say "starting slurmd"
    acted=1
    /usr/sbin/slurmd
fi
start=$SECONDS
resumed=0
until node_up; do
    state=$(node_state)
    if ((!resumed)) && [[ $state == down* || $state == drain* ]]; then
        scontrol update nodename="$host" state=resume 2>/dev/null || true
        resumed=1
    fi
    ((SECONDS - start < TIMEOUT)) ||
        die "node $host is '${state:-unknown}' after ${TIMEOUT} s (see /var/log/slurm/slurmd.log, slurmctld.log)"
    sleep 1
done
((acted)) || say "already running"
say "up: $(sinfo --noheader --format='%P %D node(s) %T, %c CPUs, %m MB' | head -n1)"

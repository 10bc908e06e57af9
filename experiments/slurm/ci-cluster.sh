#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine (slurmctld + slurmd on localhost, the machine's CPUs as
# resources), for the end-to-end tests in tests/slurm.rs. Idempotent: installs Debian's slurm-wlm and munge if
# missing, reuses running daemons, and waits until the node accepts jobs. Needs root (Debian/Ubuntu, no cgroups
# needed). Prints `SLURM_CONF=…` on its last line.
#
#   experiments/slurm/ci-cluster.sh          # start (or check) the cluster
#   experiments/slurm/ci-cluster.sh stop     # stop the daemons it started
set -euo pipefail

ROOT=${RANKER_CI_SLURM_DIR:-/var/lib/ranker-ci-slurm}
CONF=$ROOT/slurm.conf

if [ "$(id -u)" != 0 ]; then
    echo "ci-cluster.sh: needs root (it installs packages and starts munged, slurmctld and slurmd)" >&2
    exit 1
fi

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if [ "${1:-}" = stop ]; then
    for d in slurmd slurmctld; do
        if pid_alive "$ROOT/run/$d.pid"; then kill "$(cat "$ROOT/run/$d.pid")"; fi
    done
    exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
fi

mkdir -p "$ROOT"/state/ctld "$ROOT"/state/d "$ROOT"/run "$ROOT"/log

# munge: a key, and the daemon running as the munge user.
if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --force
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
fi
if ! munge -n </dev/null >/dev/null 2>&1; then
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    su -s /bin/sh munge -c "/usr/sbin/munged"
    for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
fi

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(awk '/MemTotal/ { print int($2 / 1024 * 0.8) }' /proc/meminfo)
cat >"$CONF.new" <<CONF
# Written by experiments/slurm/ci-cluster.sh: a one-node cluster for tests, no cgroups, root daemons.
ClusterName=ranker-ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$ROOT/state/ctld
SlurmdSpoolDir=$ROOT/state/d
SlurmctldPidFile=$ROOT/run/slurmctld.pid
SlurmdPidFile=$ROOT/run/slurmd.pid
SlurmctldLogFile=$ROOT/log/slurmctld.log
SlurmdLogFile=$ROOT/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$ROOT/log/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
restart=0
if ! cmp -s "$CONF.new" "$CONF"; then
    mv "$CONF.new" "$CONF"
    restart=1
else
    rm "$CONF.new"
fi
export SLURM_CONF=$CONF
# The clients (sbatch, squeue, …) read the default path.
mkdir -p /etc/slurm
ln -sf "$CONF" /etc/slurm/slurm.conf

for d in slurmctld slurmd; do
    if [ "$restart" = 1 ] && pid_alive "$ROOT/run/$d.pid"; then
        kill "$(cat "$ROOT/run/$d.pid")"
        sleep 1
    fi
    if ! pid_alive "$ROOT/run/$d.pid"; then
        nohup "/usr/sbin/$d" -D -f "$CONF" >>"$ROOT/log/$d.stdout" 2>&1 </dev/null &
        echo $! >"$ROOT/run/$d.pid"
    fi
done

for _ in $(seq 100); do
    state=$(sinfo -h -N -o %t 2>/dev/null | head -n1 || true)
    case "$state" in
        idle | mix | alloc) echo "SLURM_CONF=$CONF"; exit 0 ;;
        down* | drain*) scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.2
done
echo "ci-cluster.sh: the node did not become idle; see $ROOT/log/" >&2
sinfo -N -l >&2 || true
exit 1

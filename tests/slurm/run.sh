#!/usr/bin/env bash
# tests/slurm/run.sh (`make test-slurm`) - sharded extraction on a real Slurm cluster.
#
# Installs Debian's slurm-wlm and munge (apt, needs root), starts a private one-node
# cluster on localhost (munged on its own socket, slurmctld + slurmd with a generated
# slurm.conf and unused ports, state in a temp dir), submits extract/slurm/extract.sbatch
# (a job array of `extract --shard I/N` + a dependent merge), waits for it with a bounded
# timeout, and checks the merged store against a single-machine extract of the same
# folder: same images, labels, splits and byte-identical decoded features. Stops the
# daemons it started (by pid) on exit.
#
# SKIPs (exit 0, with a message) when not root or without apt-get, since it must install
# packages and run daemons. Needs FEATCACHE and BUILD (set by make).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${FEATCACHE:=$ROOT/featcache}"
: "${BUILD:=$ROOT/build}"
SHARDS=${SHARDS:-3}
TIMEOUT=${SLURM_TEST_TIMEOUT:-600}

skip() { echo "test-slurm: SKIP: $*"; exit 0; }
die() { echo "test-slurm: FAIL: $*"; [ -n "${W:-}" ] && tail -n 20 "$W"/log/*.log 2>/dev/null | sed 's/^/    /'; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (installs slurm-wlm and munge, runs slurmctld/slurmd)"
command -v apt-get >/dev/null || skip "apt-get not available (Debian/Ubuntu only)"
[ -x "$FEATCACHE" ] || die "featcache binary not found at $FEATCACHE (run make first)"
DUMP=$BUILD/tests/tools/storedump
[ -x "$DUMP" ] || die "$DUMP not built (make builds tests/tools)"

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    echo "test-slurm: installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends slurm-wlm munge >/tmp/fc-slurm-apt.log 2>&1 ||
        { apt-get update >>/tmp/fc-slurm-apt.log 2>&1 &&
          apt-get install -y --no-install-recommends slurm-wlm munge >>/tmp/fc-slurm-apt.log 2>&1; } ||
        die "apt-get install slurm-wlm munge failed (see /tmp/fc-slurm-apt.log)"
fi

W=$(mktemp -d /tmp/fc-slurm.XXXXXX)
chmod 755 "$W"
mkdir -p "$W/log" "$W/state" "$W/spool" "$W/munge"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    [ "${KEEP:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT

# A free TCP port on localhost (bound and released by python's socket module).
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_munge() {
    local key=$W/munge/munge.key
    if [ -r /etc/munge/munge.key ]; then cp /etc/munge/munge.key "$key"
    else dd if=/dev/urandom of="$key" bs=1024 count=1 2>/dev/null; fi
    chmod 600 "$key"
    chmod 711 "$W/munge"
    munged --force --foreground --socket="$W/munge/munge.sock" --key-file="$key" \
        --pid-file="$W/munge/munged.pid" --seed-file="$W/munge/seed" \
        --log-file="$W/log/munged.log" >"$W/log/munged.out" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do [ -S "$W/munge/munge.sock" ] && return 0; sleep 0.1; done
    die "munged did not start"
}

write_conf() {
    local host cpus mem
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
    cat >"$W/slurm.conf" <<EOF
ClusterName=fctest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$W/munge/munge.sock
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
InactiveLimit=0
KillWait=5
MinJobAge=300
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=fc Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF=$W/slurm.conf
}

start_slurm() {
    slurmctld -D -c -f "$SLURM_CONF" >"$W/log/slurmctld.out" 2>&1 &
    PIDS+=($!)
    slurmd -D -f "$SLURM_CONF" -N "$(hostname -s)" >"$W/log/slurmd.out" 2>&1 &
    PIDS+=($!)
    local state=""
    for _ in $(seq 120); do
        state=$(sinfo -h -o %T 2>/dev/null | head -1)
        case $state in idle*) echo "test-slurm: one-node cluster up ($(hostname -s), $(nproc) CPUs)"; return 0 ;; esac
        sleep 0.5
    done
    die "cluster did not become idle (node state '$state')"
}

# Waits until job $1 has left the queue; fails after $TIMEOUT seconds.
wait_job() {
    local t0=$SECONDS
    while squeue -h -j "$1" 2>/dev/null | grep -q .; do
        [ $((SECONDS - t0)) -lt "$TIMEOUT" ] || { scancel "$1" 2>/dev/null; die "job $1 still queued after ${TIMEOUT}s"; }
        sleep 1
    done
}

# A small real image set and backbone: the fixtures the extract CLI tests use
# (Fashion-MNIST-like PNG class folders, a tiny Keras model made with h5py).
make_inputs() {
    local fx=$ROOT/tests/py/extract_fixtures.py
    [ -f "$fx" ] || die "$fx missing"
    /usr/bin/python3 "$fx" images "$W/images" --classes 3 --per-class 12 >"$W/log/fixtures.log" 2>&1 &&
        /usr/bin/python3 "$fx" model "$W/tiny.h5" >>"$W/log/fixtures.log" 2>&1 ||
        die "fixtures failed: $(tail -3 "$W/log/fixtures.log")"
    MODEL=$W/tiny.h5
    # --batch 1: extract's float results currently depend on which images share a batch
    # (GEMM edge kernels), so shards batch differently from a single run; one image per
    # batch makes the comparison byte-exact and tests the sharding and merge themselves.
    export EXTRACT_ARGS="--preprocess rescale --batch 1"
}

start_munge
write_conf
start_slurm
make_inputs

echo "test-slurm: submitting $SHARDS-task array + dependent merge"
FEATCACHE=$FEATCACHE bash "$ROOT/extract/slurm/extract.sbatch" "$W/images" "$MODEL" "$W/out/merged.db" "$SHARDS" \
    >"$W/log/submit.log" 2>&1 || die "submission failed: $(cat "$W/log/submit.log")"
array=$(awk '$1 == "array" {print $2}' "$W/log/submit.log")
merge=$(awk '$1 == "merge" {print $2}' "$W/log/submit.log")
[ -n "$array" ] && [ -n "$merge" ] || die "no job ids in: $(cat "$W/log/submit.log")"
wait_job "$array"
wait_job "$merge"
for f in "$W"/out/merged.db.shards/slurm-*.out; do echo "--- $(basename "$f")"; tail -n 5 "$f"; done | sed 's/^/    /'
[ -s "$W/out/merged.db" ] || die "merge job produced no store"
grep -q "^merged $SHARDS stores" "$W"/out/merged.db.shards/slurm-*-merge.out || die "merge job log lacks its summary"
n_shards=$(ls "$W"/out/merged.db.shards/shard-*-of-"$SHARDS".db 2>/dev/null | wc -l)
[ "$n_shards" = "$SHARDS" ] || die "expected $SHARDS shard stores, found $n_shards"

"$FEATCACHE" extract "$W/images" -m "$MODEL" -o "$W/single.db" $EXTRACT_ARGS --quiet >"$W/log/single.log" 2>&1 ||
    die "single extract failed: $(tail -3 "$W/log/single.log")"
"$DUMP" "$W/out/merged.db" | sort >"$W/merged.txt" || die "cannot dump the merged store"
"$DUMP" "$W/single.db" | sort >"$W/single.txt" || die "cannot dump the single store"
n=$(wc -l <"$W/single.txt")
[ "$n" -gt 0 ] || die "single extract stored nothing"
if ! cmp -s "$W/merged.txt" "$W/single.txt"; then
    diff "$W/single.txt" "$W/merged.txt" | head -10 | sed 's/^/    /'
    die "merged shards differ from the single extract"
fi
"$FEATCACHE" diff "$W/single.db" "$W/out/merged.db" >"$W/log/diff.log" || die "featcache diff reports differences: $(tail -2 "$W/log/diff.log")"
echo "ok - slurm: $SHARDS-shard array + merge == single extract ($n images, identical decoded features)"

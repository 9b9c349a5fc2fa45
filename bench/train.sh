#!/usr/bin/env bash
# train.sh - dense-head training speed (issue 5): the seed-001 head (Flatten 4x4x512 ->
# Dense 256 relu -> Dropout 0.5 -> Dense 1 sigmoid, RMSprop 2e-5, batch 20) on 2000 train /
# 1000 validation synthetic ReLU-like features, against a numpy script (and PyTorch when
# /usr/bin/python3 has it) run in the same session; a 12-config sweep vs one config; peak
# RSS of `featcache train` on a store vs decoded features + head state.
# EPOCHS (default 30) for featcache; PEER_EPOCHS (default 10) for the peers, whose time
# is scaled per epoch (they are slow; say PEER_EPOCHS=30 for a full run). PyTorch runs in
# PEER_ROUNDS (default 3) rounds of PEER_EPOCHS/PEER_ROUNDS epochs, each right after
# featcache's run of the same epochs: a ratio per round. THREADS default 2.
set -u
: "${BUILD:?}" "${FEATCACHE:?}"
EPOCHS=${EPOCHS:-30} PEER_EPOCHS=${PEER_EPOCHS:-10} THREADS=${THREADS:-2}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/peer_blas.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/fc-bench-train.XXXXXX")
trap 'rm -rf "$T"' EXIT
B="$BUILD/bench/bench_train"
"$B" --dump "$T" >/dev/null || { echo "bench_train --dump failed"; exit 1; }
"$B" --store "$T/s.db" >/dev/null || { echo "bench_train --store failed"; exit 1; }
secs() { sed -n 's/.*threads: \([0-9.]*\) s.*/\1/p' | head -1; }
fastest() { sed -n 's/^fastest epoch \([0-9.]*\) s.*/\1/p' | head -1; }
cpu() { sed -n 's/.*, cpu \([0-9.]*\) s.*/\1/p' | head -1; }

echo "memory-traffic floor (every step reads and writes each first-layer weight and its RMSprop state):"
"$B" --membw --threads "$THREADS" | tee "$T/membw.txt" | sed 's/^/  /'
floor1=$(sed -n 's/.*one config \([0-9.]*\) s,.*/\1/p' "$T/membw.txt")
floorn=$(sed -n 's/.*, 12 configs \([0-9.]*\) s .*/\1/p' "$T/membw.txt")

echo "featcache (library, fused first-layer pass), $THREADS threads, $EPOCHS epochs:"
"$B" --epochs "$EPOCHS" --threads "$THREADS" | tee "$T/one.txt" | sed 's/^/  /'
"$B" --epochs "$EPOCHS" --threads "$THREADS" --sweep | tee "$T/sweep.txt" | sed -n '1,2p;$p' | sed 's/^/  /'
one=$(secs <"$T/one.txt"); sweep=$(secs <"$T/sweep.txt")
one_fast=$(fastest <"$T/one.txt"); sweep_fast=$(fastest <"$T/sweep.txt")
one_cpu=$(cpu <"$T/one.txt"); sweep_cpu=$(cpu <"$T/sweep.txt")

echo "featcache train on a store (f16, decoded once), peak RSS:"
$PY - "$FEATCACHE" "$T/s.db" "$T/h.h5" "$EPOCHS" "$THREADS" <<'PY' | tee "$T/rss.txt" | sed 's/^/  /'
import resource, subprocess, sys, time
fc, store, out, epochs, threads = sys.argv[1:]
t0 = time.perf_counter()
subprocess.run([fc, "train", store, "-o", out, "--epochs", epochs, "--threads", threads, "-q"], check=True)
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
feat = 3000 * 8192 * 4 / 2**20
state = (8192 * 256 + 256 + 257) * 4 * 2 / 2**20  # weights + RMSprop state
print(f"featcache train {dt:.2f} s (load + {epochs} epochs + save); peak RSS {rss:.1f} MiB = "
      f"{rss / (feat + state):.2f}x decoded features + head state ({feat:.1f} + {state:.1f} MiB; goal <= 1.5x)")
PY

run_peer() { # name, then command
    local name=$1; shift
    local out; out=$("$@" 2>&1) || { echo "  $name: failed: $(echo "$out" | tail -1)"; return 1; }
    echo "$out" | sed -n 's/^SECONDS //p'
    echo "$out" | sed -n 's/^CPU //p' >"$T/$name.cpu"
    echo "$out" | sed -n 's/^FASTEST //p' >"$T/$name.fastest"
}
echo "peers ($PEER_EPOCHS epochs, scaled to $EPOCHS):"
np1=$(run_peer numpy env OPENBLAS_NUM_THREADS=$THREADS $PY "$HERE/train_peer.py" numpy "$T" --epochs "$PEER_EPOCHS")
[ -n "$np1" ] && echo "  numpy (preallocated out= buffers), 1 config: $np1 s (cpu $(cat "$T/numpy.cpu") s)"
th1=""
if $PY -c 'import torch' 2>/dev/null; then
    TC=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
    PRE=""; [ -e "$TC" ] && PRE="LD_PRELOAD=$TC"
    # PyTorch and featcache alternate in ROUNDS rounds of PEER_EPOCHS/ROUNDS epochs each, so
    # both see the same load from the VM's neighbours; each round gives a ratio
    ROUNDS=${PEER_ROUNDS:-3}
    RE=$((PEER_EPOCHS / ROUNDS)); [ "$RE" -ge 1 ] || RE=1
    th1=0 thc=0 ratios=""
    for r in $(seq "$ROUNDS"); do
        fr=$("$B" --epochs "$RE" --threads "$THREADS" | secs)
        tr=$(run_peer torch env $PRE OPENBLAS_NUM_THREADS=1 $PY "$HERE/train_peer.py" torch "$T" --epochs "$RE") || { th1=""; break; }
        rr=$(awk -v a="$tr" -v b="$fr" 'BEGIN { printf "%.2f", a / b }')
        echo "  round $r of $ROUNDS ($RE epochs each, alternating): featcache $fr s, PyTorch $tr s (cpu $(cat "$T/torch.cpu") s) -> ${rr}x"
        th1=$(awk -v a="$th1" -v b="$tr" 'BEGIN { print a + b }')
        thc=$(awk -v a="$thc" -v b="$(cat "$T/torch.cpu")" 'BEGIN { print a + b }')
        ratios="$ratios $rr"
        cat "$T/torch.fastest" >>"$T/torch.fastest.all"
    done
    [ -s "$T/torch.fastest.all" ] && sort -g "$T/torch.fastest.all" | head -1 >"$T/torch.fastest"
    if [ -n "$th1" ]; then
        PEER_EPOCHS=$((ROUNDS * RE))
        echo "$thc" >"$T/torch.cpu"
        echo "  PyTorch (tcmalloc, OPENBLAS_NUM_THREADS=1, 2 threads), 1 config, $PEER_EPOCHS epochs in all: $th1 s (cpu $thc s)"
    fi
else
    echo "  PyTorch: not installed for /usr/bin/python3 (PEERS.md reference: 16.6 s for 30 epochs on Zen 5)"
fi
# the same 12-config grid run by the peer one config after another (what a user's script
# does), PEER_SWEEP_EPOCHS (default 3) per config, scaled
PSE=${PEER_SWEEP_EPOCHS:-3} pname=numpy pcmd=(env OPENBLAS_NUM_THREADS=$THREADS)
[ -n "$th1" ] && pname=torch pcmd=(env $PRE OPENBLAS_NUM_THREADS=1)
pn=$(run_peer "${pname}12" "${pcmd[@]}" $PY "$HERE/train_peer.py" "$pname" "$T" --epochs "$PSE" --configs 12)
[ -n "$pn" ] && echo "  $pname, the 12 configs one after another ($PSE epochs each): $pn s"
$PY - "$one" "$sweep" "$np1" "$th1" "$EPOCHS" "$PEER_EPOCHS" "$one_fast" "$sweep_fast" "$one_cpu" "$sweep_cpu" \
    "$floor1" "$floorn" "$(cat "$T/torch.cpu" 2>/dev/null)" "$pn" "$PSE" "$pname" \
    "$(cat "$T/torch.fastest" 2>/dev/null)" "$(cat "$T/numpy.fastest" 2>/dev/null)" "${ratios:-}" <<'PY'
import sys
one, sweep, np1, th1 = (float(v) if v else None for v in sys.argv[1:5])
e, pe = float(sys.argv[5]), float(sys.argv[6])
f1, fn, c1, cn, fl1, fln, thc, pn, pse = (float(v) if v else None for v in sys.argv[7:16])
pname = sys.argv[16]
thf, npf = (float(v) if v else None for v in sys.argv[17:19])
print("summary (per 30 epochs):")
print(f"  featcache 1 config {one * 30 / e:.2f} s ({one / e:.4f} s/epoch)")
if np1: print(f"  numpy    1 config {np1 * 30 / pe:.2f} s -> featcache is {np1 / pe / (one / e):.1f}x faster")
if th1: print(f"  PyTorch  1 config {th1 * 30 / pe:.2f} s -> featcache is {th1 / pe / (one / e):.1f}x faster (goal >= 5x)")
rounds = [float(v) for v in sys.argv[19].split()] if len(sys.argv) > 19 and sys.argv[19].strip() else []
if rounds:
    med = sorted(rounds)[len(rounds) // 2]
    print(f"  alternating rounds (featcache, then PyTorch, same epochs; the fairest reading on a shared VM): "
          f"{' '.join(f'{r:.1f}x' for r in rounds)}; median {med:.1f}x (goal >= 5x)")
else: print(f"  PyTorch (PEERS.md, Zen 5): 16.6 s -> {16.6 / (one * 30 / e):.1f}x (different machine: indicative only)")
if f1 and (thf or npf):
    peer, pf = ("PyTorch", thf) if thf else ("numpy", npf)
    print(f"  fastest epoch of each (training + validation; the least disturbed by other load on a shared "
          f"machine): {peer} {pf:.4f} s vs featcache {f1:.4f} s -> {pf / f1:.1f}x")
if thc and c1:
    print(f"  CPU time (robust to other load; counts spin-waiting): PyTorch {thc * 30 / pe:.2f} s vs featcache "
          f"{c1 * 30 / e:.2f} s -> {thc / pe / (c1 / e):.1f}x")
print(f"  12-config sweep {sweep * 30 / e:.2f} s = {sweep / one:.2f}x one config (goal <= 3x; the grid holds "
      f"7.5x the first-layer weights of one config, so ~7.5x is the cost of running them one by one)")
p1 = th1 if pname == "torch" else np1
if pn and p1:
    print(f"  {'PyTorch' if pname == 'torch' else 'numpy'} sweep, one config after another: {pn * 30 / pse:.2f} s = {pn / pse / (p1 / pe):.2f}x its own one "
          f"config -> featcache's sweep is {pn / pse / (sweep / e):.1f}x faster, and costs "
          f"{(sweep / e) / (p1 / pe):.2f}x the peer's one config")
if f1 and fn:
    print(f"  fastest epoch (least disturbed by other load): one config {f1:.4f} s, sweep {fn:.4f} s = {fn / f1:.2f}x; "
          f"CPU time {c1:.2f} s vs {cn:.2f} s = {cn / c1:.2f}x")
if fl1 and fln:
    print(f"  memory-traffic floor per epoch: one config {fl1:.4f} s ({f1 / fl1 if f1 else 0:.1f}x above it), "
          f"sweep {fln:.4f} s ({fn / fln if fn else 0:.1f}x above it); floor ratio sweep/one = {fln / fl1:.2f}x, "
          f"sweep floor / measured one config = {fln / f1 if f1 else 0:.2f}x (the best ratio any implementation "
          f"could show against this one-config time)")
PY

# Seeds 000/003's head: InceptionV3 cut at mixed7 at 150x150 flattens to 37632 values,
# Dense(1024): 38.5M first-layer weights (154 MB, plus as much RMSprop state), far past
# the caches: the step streams memory. Synthetic maps with the sparsity of real mixed7
# maps (bench_train.c make_split). BIG_EPOCHS (default 3) for featcache, BIG_PEER_EPOCHS
# (default 1) for PyTorch (~20 s per epoch on these VMs).
BE=${BIG_EPOCHS:-3} BPE=${BIG_PEER_EPOCHS:-1}
echo
echo "seeds 000/003 head (Flatten 7x7x768 -> Dense 1024 relu -> Dropout 0.2 -> Dense 1 sigmoid, RMSprop 1e-4, batch 20; 2000 train / 1000 validation), $THREADS threads:"
"$B" --big --epochs "$BE" --threads "$THREADS" | tee "$T/big.txt" | sed 's/^/  /'
big=$(secs <"$T/big.txt"); big_fast=$(fastest <"$T/big.txt")
bt=""
if [ -n "$th1" ] && mkdir -p "$T/big" && "$B" --big --dump "$T/big" >/dev/null; then
    bt=$(run_peer torchbig env $PRE OPENBLAS_NUM_THREADS=1 $PY "$HERE/train_peer.py" torch "$T/big" --big --epochs "$BPE")
    rm -rf "$T/big"
fi
if [ -n "$bt" ]; then
    $PY - "$big" "$BE" "$bt" "$BPE" "$big_fast" "$(cat "$T/torchbig.fastest")" <<'PY'
import sys
ours, e, peer, pe, f, pf = (float(v) for v in sys.argv[1:])
print(f"  PyTorch {peer / pe:.2f} s/epoch vs featcache {ours / e:.2f} s/epoch -> featcache is {peer / pe / (ours / e):.1f}x "
      f"faster (fastest epoch vs fastest epoch {pf / f:.1f}x)")
PY
else
    echo "  PyTorch: not run (not installed, or the 1-config run above failed)"
fi

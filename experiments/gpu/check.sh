#!/usr/bin/env bash
# GPU checks of issue 5 item 6, run ON a CUDA machine from the repository root with prebuilt binaries
# (that machine needs no Rust and no network):
#   1. find libnccl / libnvrtc / the CUDA headers and make them loadable the way cudarc and cubecl want;
#   2. `gpu_check`: the NCCL world-size-1 all-reduce of a burn-cuda gradient buffer, on the device, through
#      the trainer's own entry point, equals its input bitwise (and the raw device pointer is right);
#   3. 20 training steps of configs/quickstart.yaml on CPU and on CUDA from the same checkpoint: per-step
#      losses within 1e-3;
#   4. `ranker rank` of the committed tiny PairRanker on CPU and CUDA: scores within 1e-4;
#   5. a summary in $OUT/gpu_check.txt (plus the full log, metrics and the train logs next to it).
#
# Usage: experiments/gpu/check.sh            (binaries in .gpu-bin/: ranker[.gz], gpu_check[.gz])
#        GPU_BIN=dir OUT=dir TOL=1e-3 STEPS=20 experiments/gpu/check.sh
# Build the binaries elsewhere with experiments/gpu/build.sh. Exit status 0 when every check passed.
# Time: about 2 minutes on a 16-core H200 machine, most of it NVRTC compiling burn's kernels on first use;
# the steps are bounded by timeouts summing to 450 s.
#
# What the binaries load at run time (read in the sources of the pinned versions):
# - cudarc 0.19.10, built with CUDARC_CUDA_VERSION=12080 (.cargo/config.toml) and dynamic loading, dlopens
#   by name, trying for a library "x": libx.so, libx64.so, libx64_12.so, libx64_128.so, libx64_128_0.so,
#   libx64_120_8.so, libx64_10/11/12.so, libx64_120_0.so, libx64_9.so, libx.so.12, libx.so.12 (again),
#   libx.so.11, .10, .9, libx.so.1 (cudarc src/lib.rs get_lib_name_candidates), and panics when none loads.
#   * libcuda: libcuda.so.1 (the driver) matches. CUDA 13 drivers keep the 12.x entry points cudarc calls.
#   * libnccl: NCCL ships libnccl.so.2, which is NOT a candidate: we symlink libnccl.so -> libnccl.so.2.
#   * libnvrtc (cubecl-cuda compiles every kernel with NVRTC at run time): CUDA 13 ships libnvrtc.so.13,
#     NOT a candidate either: we symlink libnvrtc.so -> libnvrtc.so.13 (cudarc resolves each NVRTC symbol
#     lazily by name; cubecl uses only create/compile/log/PTX calls, present in 13). NVRTC dlopens its
#     libnvrtc-builtins.so.13.* from the real directory, which goes on LD_LIBRARY_PATH too.
# - cubecl-cuda 0.10 passes --include-path=$CUDA_PATH/include (and include/cccl when present) to NVRTC;
#   kernels #include <cuda_runtime.h>. Without CUDA_PATH it tries /usr/local/cuda, /opt/cuda, /usr (if
#   /usr/bin/nvcc) and PANICS when none exists. We export CUDA_PATH to a toolkit with include/cuda_runtime.h,
#   preferring the toolkit whose NVRTC we load, so headers and compiler match.
# - burn and our NCCL communicator share the device's primary context (both retain it through cudarc).
# - NCCL with one rank still bootstraps over a socket: NCCL_SOCKET_IFNAME defaults to lo here.
set -uo pipefail
cd "$(dirname "$0")/../.."

BIN=${GPU_BIN:-.gpu-bin}
OUT=${OUT:-$(mktemp -d)}
TOL=${TOL:-1e-3}
STEPS=${STEPS:-20}
mkdir -p "$OUT"
WORK=$(mktemp -d)
LOG="$OUT/gpu_check.log"
SUMMARY="$OUT/gpu_check.txt"
: >"$LOG"
: >"$SUMMARY"

say() { echo "$*" | tee -a "$LOG"; }
summary() { echo "$*" | tee -a "$LOG" >>"$SUMMARY"; }
FAILED=0
pass() { summary "PASS $*"; }
fail() { summary "FAIL $*"; FAILED=$((FAILED + 1)); }
finish() {
    summary "----"
    if [ "$FAILED" -eq 0 ]; then summary "RESULT: all GPU checks passed"; else summary "RESULT: $FAILED check(s) failed"; fi
    echo "summary: $SUMMARY; full log: $LOG" >&2
    exit $((FAILED > 0 ? 1 : 0))
}
abort() { fail "$*"; finish; }

PY=${PYTHON:-/opt/torch/.venv/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3 || true)

summary "# llm-ranker GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -srm)"
# build.sh leaves the binaries gzipped (small enough to carry); unpack them here.
mkdir -p "$WORK/bin"
for b in ranker gpu_check gpu_check_fusion; do
    if [ -x "$BIN/$b" ]; then
        cp "$BIN/$b" "$WORK/bin/$b"
    elif [ -f "$BIN/$b.gz" ]; then
        gzip -dc "$BIN/$b.gz" >"$WORK/bin/$b" && chmod +x "$WORK/bin/$b" || abort "setup: cannot unpack $BIN/$b.gz"
    elif [ "$b" != gpu_check_fusion ]; then # the fusion build is optional (VARIANTS=1 build.sh)
        abort "setup: neither $BIN/$b nor $BIN/$b.gz exists (build with experiments/gpu/build.sh and carry $BIN)"
    fi
done
BIN="$WORK/bin"

# ---- versions, libraries, headers
# shellcheck source=experiments/gpu/cuda-env.sh
source experiments/gpu/cuda-env.sh

# ---- 1. the device all-reduce
# device_check NAME TIMEOUT: runs the gpu_check binary NAME, its INFO/MISSING/PASS/FAIL lines into the summary.
device_check() {
    local name=$1 limit=$2 rc
    say "== $name"
    timeout "$limit" "$BIN/$name" 0 >"$WORK/$name.out" 2>&1
    rc=$?
    cat "$WORK/$name.out" >>"$LOG"
    grep -E '^(INFO|MISSING|PASS|FAIL|SUMMARY)' "$WORK/$name.out" | tee -a "$LOG" >>"$SUMMARY"
    case $rc in
    0) pass "$name (exit 0)" ;;
    2) abort "$name: the GPU stack is incomplete (MISSING lines above)" ;;
    124) fail "$name: timed out after $limit s" ;;
    *) fail "$name: exit $rc; last lines: $(tail -n 5 "$WORK/$name.out" | tr '\n' ' ')" ;;
    esac
}
device_check gpu_check 120
# The same checks through burn's fused primitive (and the un-fused one), when VARIANTS=1 build.sh built it.
[ -x "$BIN/gpu_check_fusion" ] && device_check gpu_check_fusion 180

# ---- 2. quickstart steps on CPU and CUDA
say "== quickstart: $STEPS steps, cpu vs cuda"
DATA=data/quickstart
mkdir -p "$DATA"
if [ ! -s "$DATA/train.jsonl" ]; then # as experiments/quickstart.sh makes it
    "$BIN/ranker" data synth --items 2000 --seed 1 --output "$DATA/train.jsonl" >>"$LOG" 2>&1 ||
        abort "quickstart: ranker data synth failed (see $LOG)"
fi
RUNS="$WORK/runs"
# Same data order, no evaluation, a log line per step, no dropout (its random masks come from each
# device's own generator); random initialisation also differs per device, so both runs resume from one
# CPU checkpoint taken after step 1 and the comparison covers steps 2..STEPS+1.
COMMON=(--set train.log_every=1 --set train.eval_every=null --set data.dev=null --set data.test=null
    --set model.dropout=0.0)
train() { # device output_dir max_steps timeout
    timeout "$4" "$BIN/ranker" train configs/quickstart.yaml --device "$1" "${COMMON[@]}" \
        --set "run.output_dir=$2" --set "train.max_steps=$3" >"$WORK/train-$1-$3.out" 2>&1
}
train cpu "$RUNS/base" 1 60 || abort "quickstart: the CPU base step failed: $(tail -n 5 "$WORK/train-cpu-1.out" | tr '\n' ' ')"
last=$((STEPS + 1))
for dev in cpu cuda; do
    mkdir -p "$RUNS/$dev" && cp -r "$RUNS/base/." "$RUNS/$dev/"
    started=$(date +%s)
    if [ "$dev" = cpu ]; then limit=90; else limit=180; fi
    train "$dev" "$RUNS/$dev" "$last" "$limit"
    rc=$?
    cat "$WORK/train-$dev-$last.out" >>"$LOG"
    mkdir -p "$OUT/$dev" && cp "$RUNS/$dev/metrics.jsonl" "$OUT/$dev/" 2>/dev/null
    cp -r "$RUNS/$dev/logs" "$OUT/$dev/" 2>/dev/null
    if [ $rc -ne 0 ]; then
        fail "quickstart $dev: ranker train exit $rc$([ $rc -eq 124 ] && echo " (timed out after $limit s)"): $(tail -n 5 "$WORK/train-$dev-$last.out" | tr '\n' ' ')"
    else
        say "quickstart $dev: $((last - 1)) steps in $(($(date +%s) - started)) s"
        grep -h "gradient all-reduce" "$RUNS/$dev/logs/"*.log 2>/dev/null | tail -n 1 | tee -a "$LOG" >>"$SUMMARY"
    fi
done
if [ -s "$RUNS/cpu/metrics.jsonl" ] && [ -s "$RUNS/cuda/metrics.jsonl" ] && [ -n "$PY" ]; then
    "$PY" - "$RUNS/cpu/metrics.jsonl" "$RUNS/cuda/metrics.jsonl" "$TOL" "$last" >"$WORK/compare.out" 2>&1 <<'EOF'
import json, sys
cpu_path, cuda_path, tol, last = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
def steps(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        if "loss" in r:
            out[r["step"]] = r
    return out
cpu, cuda = steps(cpu_path), steps(cuda_path)
want = list(range(2, last + 1))
worst, bad = 0.0, 0
print(f"{'step':>4} {'cpu loss':>12} {'cuda loss':>12} {'|diff|':>10} {'cpu gnorm':>10} {'cuda gnorm':>10}")
for s in want:
    if s not in cpu or s not in cuda:
        print(f"{s:>4} missing in {'cpu' if s not in cpu else 'cuda'} metrics")
        bad += 1
        continue
    a, b = cpu[s]["loss"], cuda[s]["loss"]
    d = abs(a - b)
    worst = max(worst, d)
    bad += d > tol
    print(f"{s:>4} {a:12.6f} {b:12.6f} {d:10.2e} {cpu[s]['grad_norm']:10.4f} {cuda[s]['grad_norm']:10.4f}{'  > tol' if d > tol else ''}")
print(f"steps {want[0]}..{want[-1]}: max |cpu - cuda| loss = {worst:.3e} (tolerance {tol}); {bad} step(s) out")
sys.exit(1 if bad else 0)
EOF
    rc=$?
    tee -a "$LOG" <"$WORK/compare.out" >>"$SUMMARY"
    if [ $rc -eq 0 ]; then pass "quickstart cpu vs cuda: $STEPS step losses within $TOL"; else fail "quickstart cpu vs cuda: a loss differs by more than $TOL or a step is missing (table above)"; fi
else
    fail "quickstart cpu vs cuda: missing metrics.jsonl (or python) to compare"
fi
# ---- 3. reward-model inference on CUDA vs CPU (the same committed tiny PairRanker, the same lines)
say "== ranker rank: cpu vs cuda"
RANK_IN="$WORK/rank.jsonl"
cat >"$RANK_IN" <<'EOF_LINES'
{"instruction": "", "input": "What is 2+2?", "candidates": ["4", "five", "It is 4."]}
{"input": "Name a colour.", "candidates": ["blue", "a colour", "green is one", "?"]}
{"input": "Übersetze: 東京は大きい", "candidates": ["Tokyo is big.", "", "[SEP] big", "Tōkyō ist groß", "no"]}
EOF_LINES
rank_ok=1
for dev in cpu cuda; do
    timeout 120 "$BIN/ranker" -q rank --model tests/fixtures/rankers/pairrm-tiny \
        --base-model tests/fixtures/models/deberta-v3-tiny --device "$dev" --input "$RANK_IN" \
        --output "$WORK/rank-$dev.jsonl" >>"$LOG" 2>&1 || { fail "ranker rank --device $dev: exit $?"; rank_ok=0; }
done
if [ $rank_ok = 1 ] && [ -n "$PY" ]; then
    if "$PY" - "$WORK/rank-cpu.jsonl" "$WORK/rank-cuda.jsonl" >"$WORK/rank.out" 2>&1 <<'EOF_PY'
import json, sys
cpu = [json.loads(l) for l in open(sys.argv[1])]
cuda = [json.loads(l) for l in open(sys.argv[2])]
assert len(cpu) == len(cuda) == 3, (len(cpu), len(cuda))
worst = max(abs(a - b) for x, y in zip(cpu, cuda) for a, b in zip(x["scores"], y["scores"]))
same_ranks = all(x["ranks"] == y["ranks"] for x, y in zip(cpu, cuda))
print(f"max |cpu - cuda| score = {worst:.2e}; ranks identical: {same_ranks}")
sys.exit(0 if worst <= 1e-4 else 1)
EOF_PY
    then pass "ranker rank cpu vs cuda: $(cat "$WORK/rank.out")"
    else fail "ranker rank cpu vs cuda: $(tr '\n' ' ' <"$WORK/rank.out")"
    fi
fi
rm -rf "$WORK"
finish

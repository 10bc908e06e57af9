#!/usr/bin/env bash
# Peak memory table of PairRanker training (issue "Fit PairRM-scale training on one GPU", item 5):
# a random-init DeBERTa-v3-large-sized PairRanker (24 layers, hidden 1024, 16 heads, ffn 4096, vocab 128100,
# 256 position buckets), one PairRM example's 5 pairs per step, for sequence length 384 / 1024 / 2048 ×
# precision fp32 / bf16 × activation checkpointing off / on. Each cell is its own `step_probe` process
# (an out-of-memory cell cannot disturb the next) under its own timeout; a failed or timed-out cell is
# reported as such, not retried.
#
# Usage (repository root):
#   experiments/gpu/memory.sh                # on a CUDA machine, binary from experiments/gpu/build.sh
#                                            # (.gpu-bin/step_probe[.gz]); finds the CUDA libraries as
#                                            # check.sh does (experiments/gpu/cuda-env.sh)
#   SMOKE=1 experiments/gpu/memory.sh        # CPU end-to-end run of the same table with the tiny model
#                                            # (seq 32 / 64 / 128), built with cargo here
#   OUT=dir CELL_TIMEOUT=60 SEQS="384 1024" PAIRS=5 experiments/gpu/memory.sh
# Output: $OUT/memory.md (the table), $OUT/memory.jsonl (one line per cell), $OUT/memory.log.
# Time budget on an H200: 12 cells × at most CELL_TIMEOUT (default 40 s: NVRTC compiling the kernels on
# first use plus two steps) ≈ 8 minutes worst case; expected well under that.
set -uo pipefail
cd "$(dirname "$0")/../.."

OUT=${OUT:-$(mktemp -d)}
PAIRS=${PAIRS:-5}
mkdir -p "$OUT"
JSONL="$OUT/memory.jsonl"
TABLE="$OUT/memory.md"
LOG="$OUT/memory.log"
: >"$JSONL"
: >"$LOG"

if [ "${SMOKE:-0}" = 1 ]; then
    SEQS=${SEQS:-"32 64 128"}
    CONFIG=experiments/gpu/pair_ranker_smoke.json
    DEVICE=cpu
    CELL_TIMEOUT=${CELL_TIMEOUT:-120}
    cargo build -q -p ranker-train --example step_probe >>"$LOG" 2>&1 || {
        echo "memory.sh: building step_probe failed; see $LOG" >&2
        exit 1
    }
    PROBE=${CARGO_TARGET_DIR:-target}/debug/examples/step_probe
else
    SEQS=${SEQS:-"384 1024 2048"}
    CONFIG=experiments/gpu/pair_ranker_large.json
    DEVICE=cuda
    CELL_TIMEOUT=${CELL_TIMEOUT:-40}
    BIN=${GPU_BIN:-.gpu-bin}
    if [ -f "$BIN/step_probe.gz" ] && [ ! -x "$BIN/step_probe" ]; then
        gzip -dkf "$BIN/step_probe.gz" && chmod +x "$BIN/step_probe"
    fi
    PROBE=$BIN/step_probe
    WORK=$(mktemp -d)
    say() { echo "$*" | tee -a "$LOG"; }
    summary() { say "$@"; }
    abort() { say "memory.sh: $*"; exit 1; }
    PY=${PYTHON:-/opt/torch/.venv/bin/python3}
    [ -x "$PY" ] || PY=$(command -v python3 || true)
    # shellcheck source=experiments/gpu/cuda-env.sh
    source experiments/gpu/cuda-env.sh
fi
[ -x "$PROBE" ] || { echo "memory.sh: no $PROBE" >&2; exit 1; }

echo "| seq | precision | checkpointing | peak memory (GiB) | step (s) |" >"$TABLE"
echo "|---:|---|---|---:|---:|" >>"$TABLE"
for seq in $SEQS; do
    for precision in fp32 bf16; do
        for ckpt in off on; do
            started=$(date +%s)
            line=$(timeout "$CELL_TIMEOUT" "$PROBE" --seq "$seq" --pairs "$PAIRS" --precision "$precision" \
                --checkpointing "$ckpt" --config "$CONFIG" --device "$DEVICE" 2>>"$LOG" | tail -n 1)
            status=$?
            if [ $status -eq 0 ] && [ -n "$line" ]; then
                echo "$line" >>"$JSONL"
                python3 - "$line" "$seq" "$precision" "$ckpt" >>"$TABLE" <<'EOF'
import json, sys
r = json.loads(sys.argv[1])
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {r['peak_bytes'] / 2**30:.2f} | {r['step_s']:.2f} |")
EOF
            else
                why=$([ $status -eq 124 ] && echo "timed out after ${CELL_TIMEOUT}s" || echo "failed (exit $status; out of memory?)")
                echo "| $seq | $precision | $ckpt | $why | |" >>"$TABLE"
            fi
            echo "seq $seq $precision ckpt $ckpt: exit $status in $(($(date +%s) - started))s" | tee -a "$LOG"
        done
    done
done
{
    echo
    echo "PairRanker $CONFIG ($DEVICE), $PAIRS pairs per step, AdamW, two steps; peak = $(
        [ "$DEVICE" = cuda ] && echo "cubecl pool bytes reserved" || echo "process VmHWM (includes the binary and data)")"
} >>"$TABLE"
cat "$TABLE"
echo "table: $TABLE; per-cell JSON: $JSONL; log: $LOG" >&2

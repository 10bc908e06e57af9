#!/usr/bin/env bash
# PairRanker speed on one GPU, ours next to transformers + PyTorch in the same script (issue "Speed", item 8):
# a random-init DeBERTa-v3-large-sized PairRanker (experiments/gpu/pair_ranker_large.json: 24 layers, hidden
# 1024, 16 heads, ffn 4096, vocab 128100, 256 position buckets), rows of 128 + 2 × 128 = 384 tokens.
#   - training: 4 examples × 5 pairs = 20 pairs per step with an AdamW update; pairs/s and peak memory, ours in
#     fp32 and bf16 (fp32 master weights) vs PyTorch in fp32 with TF32 matmuls and in bf16 autocast;
#   - our step split into forward / backward (with the gradient flattened) / optimiser, the device synchronised
#     between them (one device: no all-reduce);
#   - time to the first step of each of our processes, from a fresh kernel cache (cold) to a repeat of the first
#     measurement with the kernels cached (warm);
#   - full-mode inference at n = 11 candidates: 110 pair forwards per item, pairs/s, ours vs PyTorch;
#   - kernel launches per training step, ours (cubecl's launch log, step_probe --kernel-log) vs PyTorch's
#     (torch.profiler), with the most launched / most time-consuming kernels;
#   - after those, variants of our split training step (issue "Speed", item 1): without autotuning ("autotune
#     off": .gpu-bin/step_probe_no_autotune.gz), with CUBECL_AUTOTUNE_LEVEL=minimal ("autotune minimal"), and with
#     burn's operation fusion ("fusion": .gpu-bin/step_probe_fusion.gz); the two builds come from
#     VARIANTS=1 experiments/gpu/build.sh and are reported as "not built" without it.
# Each measurement is its own process under its own timeout; a cell that fails or times out is reported as
# such, and cells that would start after the time budget are reported as skipped.
#
# Usage (repository root):
#   experiments/gpu/bench.sh          # on a CUDA machine, step_probe from experiments/gpu/build.sh (.gpu-bin/)
#   SMOKE=1 experiments/gpu/bench.sh  # CPU end-to-end run of the same table on pair_ranker_smoke.json (tiny
#                                     # dimensions), step_probe built with cargo here, PyTorch on CPU
#   OUT=dir STEPS=6 BUDGET_S=450 OURS_TIMEOUT=90 TORCH_TIMEOUT=60 experiments/gpu/bench.sh
#   PART=core | variants | all (default all): `variants` runs our default training step (the baseline) and the
#                                     # variants only, for a second device call when the first ran out of budget
# Output: $OUT/bench.md (the tables), $OUT/bench.jsonl (one line per measurement), $OUT/bench.log.
set -uo pipefail
cd "$(dirname "$0")/../.."

OUT=${OUT:-$(mktemp -d)}
STEPS=${STEPS:-6}
BUDGET_S=${BUDGET_S:-450}
PART=${PART:-all}
case $PART in core | variants | all) ;; *) echo "bench.sh: PART=$PART (core, variants, all)" >&2; exit 2 ;; esac
mkdir -p "$OUT"
WORK=$(mktemp -d)
JSONL="$OUT/bench.jsonl"
TABLE="$OUT/bench.md"
LOG="$OUT/bench.log"
: >"$JSONL"
: >"$LOG"
say() { echo "$*" | tee -a "$LOG"; }
summary() { say "$@"; }
abort() { say "bench.sh: $*"; exit 1; }

PY=${PYTHON:-/opt/torch/.venv/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3 || true)
[ -n "$PY" ] || abort "no python3 (PyTorch side)"

if [ "${SMOKE:-0}" = 1 ]; then
    CONFIG=experiments/gpu/pair_ranker_smoke.json
    DEVICE=cpu
    OURS_TIMEOUT=${OURS_TIMEOUT:-120}
    TORCH_TIMEOUT=${TORCH_TIMEOUT:-120}
    cargo build -q -p ranker-train --example step_probe >>"$LOG" 2>&1 || abort "building step_probe failed; see $LOG"
    PROBE=${CARGO_TARGET_DIR:-target}/debug/examples/step_probe
    # On the CPU the variants only touch burn-cuda: the same binary runs them, proving the table code.
    PROBE_FUSION=$PROBE
    PROBE_NO_AUTOTUNE=$PROBE
    THREADS=(--threads "$(nproc)")
else
    CONFIG=experiments/gpu/pair_ranker_large.json
    DEVICE=cuda
    OURS_TIMEOUT=${OURS_TIMEOUT:-90}
    TORCH_TIMEOUT=${TORCH_TIMEOUT:-60}
    BIN=${GPU_BIN:-.gpu-bin}
    mkdir -p "$WORK/bin"
    if [ -x "$BIN/step_probe" ]; then
        cp "$BIN/step_probe" "$WORK/bin/"
    elif [ -f "$BIN/step_probe.gz" ]; then
        gzip -dc "$BIN/step_probe.gz" >"$WORK/bin/step_probe" && chmod +x "$WORK/bin/step_probe"
    fi
    PROBE=$WORK/bin/step_probe
    unpack_variant() { # step_probe_<variant>: its path, or nothing when it was not built
        if [ -f "$BIN/$1.gz" ] && gzip -dc "$BIN/$1.gz" >"$WORK/bin/$1" && chmod +x "$WORK/bin/$1"; then
            echo "$WORK/bin/$1"
        fi
    }
    PROBE_FUSION=$(unpack_variant step_probe_fusion)
    PROBE_NO_AUTOTUNE=$(unpack_variant step_probe_no_autotune)
    THREADS=()
    # shellcheck source=experiments/gpu/cuda-env.sh
    source experiments/gpu/cuda-env.sh
fi
[ -x "$PROBE" ] || abort "no step_probe (build with experiments/gpu/build.sh and carry .gpu-bin)"
say "# bench.sh $(date -u +%Y-%m-%dT%H:%M:%SZ): $CONFIG on $DEVICE, $STEPS steps per measurement"

STARTED=$(date +%s)
# cell NAME TIMEOUT COMMAND...: runs one measurement, appends its JSON lines (tagged with NAME) to $JSONL.
cell() {
    local name=$1 limit=$2
    shift 2
    if [ $(($(date +%s) - STARTED)) -ge "$BUDGET_S" ]; then
        echo "{\"cell\": \"$name\", \"status\": \"skipped (time budget ${BUDGET_S}s)\"}" >>"$JSONL"
        say "$name: skipped (time budget)"
        return
    fi
    local began out rc
    began=$(date +%s)
    out="$WORK/$name.out"
    timeout "$limit" "$@" >"$out" 2>>"$LOG"
    rc=$?
    if [ $rc -eq 0 ]; then
        grep '^{' "$out" | "$PY" -c 'import json, sys
for line in sys.stdin:
    r = json.loads(line); r["cell"] = sys.argv[1]; r["status"] = "ok"; print(json.dumps(r))' "$name" >>"$JSONL"
    else
        local why="exit $rc"
        [ $rc -eq 124 ] && why="timed out after ${limit}s"
        echo "{\"cell\": \"$name\", \"status\": \"$why\"}" >>"$JSONL"
        tail -n 5 "$out" >>"$LOG"
    fi
    say "$name: exit $rc in $(($(date +%s) - began))s"
}

ours() { # name precision mode pairs [extra...]
    local name=$1 precision=$2 mode=$3 pairs=$4
    shift 4
    cell "$name" "$OURS_TIMEOUT" "$PROBE" --config "$CONFIG" --device "$DEVICE" --precision "$precision" \
        --mode "$mode" --pairs "$pairs" --steps "$STEPS" "$@"
}
torch() { # name precision only pairs
    local name=$1 precision=$2 only=$3 pairs=$4
    local json="$WORK/$name.jsonl"
    : >"$json"
    cell "$name" "$TORCH_TIMEOUT" sh -c 'json=$1; shift; "$@" && cat "$json"' _ "$json" \
        "$PY" experiments/bench/pair_ranker_bench.py \
        --config "$CONFIG" --device "$DEVICE" --precision "$precision" --only "$only" --pairs "$pairs" \
        --optimizer --iters $((STEPS - 1)) --warmup 1 --json "$json" ${THREADS[@]+"${THREADS[@]}"}
}
# A fresh kernel cache: the first process compiles its kernels (cold); the last one repeats the first with
# them cached (warm).
export RANKER_KERNEL_CACHE="$WORK/kernel-cache"
if [ "$PART" != variants ]; then
    # Ours and PyTorch alternate, so a machine that drifts treats both alike.
    for precision in fp32 bf16; do
        ours "ours-train-$precision" "$precision" train 20 --split
        torch "torch-train-$precision" "$precision" train 20
        ours "ours-infer-$precision" "$precision" infer 110
        torch "torch-infer-$precision" "$precision" forward 110
    done
    ours "ours-train-fp32-warm" fp32 train 20 --split
    # Kernel launches of one training step (the second: the first compiles and tunes), in processes of their own
    # because the launch log costs host time; PyTorch's count comes with its training cells above.
    for precision in fp32 bf16; do
        if [ "$DEVICE" = cuda ]; then
            ours "ours-kernels-train-$precision" "$precision" train 20 --steps 2 \
                --kernel-log "$WORK/kernels-$precision.log"
        else
            echo "{\"cell\": \"ours-kernels-train-$precision\", \"status\": \"CUDA only\"}" >>"$JSONL"
        fi
    done
else
    for precision in fp32 bf16; do
        ours "ours-train-$precision" "$precision" train 20 --split
    done
fi

# Variants of the split training step, after the core cells so that the table above comes first within the budget.
# Autotuning is compiled into the default CUDA build (ranker-cli's `cuda`, ranker-train's `autotune`);
# step_probe_no_autotune is built without it (every matmul on one fixed kernel). CUBECL_AUTOTUNE_LEVEL=minimal is
# autotuning's cheapest run-time setting: cubecl still benchmarks the candidate kernels, but anchors the shapes of
# its tuning keys more coarsely (fewer tunings, each reused for more shapes); the default is `balanced`.
# step_probe_fusion is built with `--features autotune,fusion`.
variant() { # name precision probe-command...
    local name=$1 precision=$2
    shift 2
    cell "$name" "$OURS_TIMEOUT" "$@" --config "$CONFIG" --device "$DEVICE" --precision "$precision" \
        --mode train --pairs 20 --steps "$STEPS" --split
}
built_variant() { # name precision probe
    if [ -n "$3" ]; then
        variant "$1" "$2" "$3"
    else
        echo "{\"cell\": \"$1\", \"status\": \"not built\"}" >>"$JSONL"
        say "$1: not built (VARIANTS=1 experiments/gpu/build.sh)"
    fi
}
if [ "$PART" != core ]; then
    for precision in fp32 bf16; do
        built_variant "ours-train-$precision-no-autotune" "$precision" "$PROBE_NO_AUTOTUNE"
        variant "ours-train-$precision-autotune-minimal" "$precision" env CUBECL_AUTOTUNE_LEVEL=minimal "$PROBE"
        built_variant "ours-train-$precision-fusion" "$precision" "$PROBE_FUSION"
    done
fi

"$PY" - "$JSONL" "$CONFIG" "$DEVICE" "$STEPS" "${SMOKE:-0}" >"$TABLE" <<'EOF'
import json, sys
path, config, device, steps, smoke = sys.argv[1:]
rows = [json.loads(line) for line in open(path)]
by = {r["cell"]: r for r in rows}

def rate(name):
    r = by.get(name)
    if r is None:
        return None, "not run"
    if r["status"] != "ok":
        return None, r["status"]
    return r["pairs_per_s"], None

def peak_gib(name):
    r = by.get(name, {})
    if r.get("status") != "ok":
        return ""
    b = r["peak_bytes"] if "peak_bytes" in r else r["peak_mib"] * 2**20
    return f"{b / 2**30:.2f}"

print(f"PairRanker on {device}: {config}, {steps} iterations per measurement (the first untimed).\n")
print("| measurement | precision | ours pairs/s | PyTorch pairs/s | ours / PyTorch | ours peak GiB | PyTorch peak GiB |")
print("|---|---|---:|---:|---:|---:|---:|")
for what, label in (("train", "training step, 20 pairs, AdamW"), ("infer", "full-mode inference, 110 pairs")):
    for precision in ("fp32", "bf16"):
        a, why_a = rate(f"ours-{what}-{precision}")
        b, why_b = rate(f"torch-{what}-{precision}")
        ratio = f"{a / b:.2f}×" if a and b else ""
        print(f"| {label} | {precision} | {f'{a:.1f}' if a else why_a} | {f'{b:.1f}' if b else why_b} | {ratio} | "
              f"{peak_gib(f'ours-{what}-{precision}')} | {peak_gib(f'torch-{what}-{precision}')} |")
print("\nOur training step, split (medians; the device synchronised between the phases):\n")
print("| precision | forward s | backward + flatten s | optimiser s | step s (with the syncs) |")
print("|---|---:|---:|---:|---:|")
for precision in ("fp32", "bf16"):
    r = by.get(f"ours-train-{precision}", {})
    if r.get("status") == "ok":
        print(f"| {precision} | {r['forward_s']:.4f} | {r['backward_s']:.4f} | {r['optimizer_s']:.4f} | {r['step_s']:.4f} |")
    else:
        print(f"| {precision} | {r.get('status', 'not run')} | | | |")
print("\nTime to our first step, per process in the order they ran (a fresh RANKER_KERNEL_CACHE: the first "
      "process compiles its kernels; `-warm` repeats it with them cached):\n")
print("| process | first step s | later steps s (median) |")
print("|---|---:|---:|")
for r in rows:
    if r["cell"].startswith("ours-") and r.get("status") == "ok":
        print(f"| {r['cell']} | {r['first_step_s']:.2f} | {r['step_s']:.4f} |")
print("\nKernel launches per training step (20 pairs, AdamW): ours = cubecl's launch log of the second step "
      "(step_probe --kernel-log), PyTorch = CUDA kernels of one iteration in torch.profiler (no memcpy/memset):\n")
print("| precision | ours launches | PyTorch launches | ours most launched (launches) | PyTorch most GPU time (ms) |")
print("|---|---:|---:|---|---|")
for precision in ("fp32", "bf16"):
    ours_r = by.get(f"ours-kernels-train-{precision}", {})
    torch_r = by.get(f"torch-train-{precision}", {})
    ours_n = ours_r.get("kernels_per_step") if ours_r.get("status") == "ok" else ours_r.get("status", "not run")
    torch_n = torch_r.get("kernels_per_iter") if torch_r.get("status") == "ok" else torch_r.get("status", "not run")
    ours_top = "<br>".join(f"{k['kernel']} ({k['launches']})" for k in ours_r.get("top_kernels") or [])
    top = torch_r.get("top_kernels")
    torch_top = "<br>".join(f"{k['kernel']} ({k['ms']})" for k in top) if isinstance(top, list) else (top or "")
    print(f"| {precision} | {ours_n if ours_n is not None else 'n/a'} | {torch_n if torch_n is not None else 'n/a (CPU)'} "
          f"| {ours_top} | {torch_top} |")
print("\nVariants of our training step (the split step as above; `vs default` compares pairs/s with the first "
      "table's row):\n")
print("| variant | precision | pairs/s | vs default | forward s | backward + flatten s | optimiser s | step s | peak GiB |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for precision in ("fp32", "bf16"):
    base, _ = rate(f"ours-train-{precision}")
    for variant, cell in (("default (autotune balanced)", f"ours-train-{precision}"),
                          ("autotune off", f"ours-train-{precision}-no-autotune"),
                          ("autotune minimal", f"ours-train-{precision}-autotune-minimal"),
                          ("fusion", f"ours-train-{precision}-fusion")):
        a, why = rate(cell)
        if a is None:
            print(f"| {variant} | {precision} | {why} | | | | | | |")
            continue
        r = by[cell]
        vs = f"{a / base:.2f}×" if base else ""
        print(f"| {variant} | {precision} | {a:.1f} | {vs} | {r['forward_s']:.4f} | {r['backward_s']:.4f} | "
              f"{r['optimizer_s']:.4f} | {r['step_s']:.4f} | {peak_gib(cell)} |")
print("\nAutotuning is compiled into the default CUDA build; `autotune off` is step_probe built without it (every "
      "matmul on one fixed kernel); `autotune minimal` (CUBECL_AUTOTUNE_LEVEL=minimal) still tunes, with coarser shape "
      "keys; `fusion` is step_probe built with `--features autotune,fusion`. The two builds come from "
      "VARIANTS=1 experiments/gpu/build.sh.")
if smoke == "1":
    print("On the CPU (SMOKE=1) the variants run the same Flex binary (the autotune level and fusion only touch "
          "burn-cuda): these rows prove the table code, not a difference in speed.")
print("\nPeak memory: ours = cubecl's pool bytes reserved on CUDA, process VmHWM on CPU; PyTorch = "
      "torch.cuda.max_memory_allocated on CUDA, ru_maxrss on CPU.")
EOF
cat "$TABLE"
say "table: $TABLE; per-measurement JSON: $JSONL; log: $LOG"
rm -rf "$WORK"

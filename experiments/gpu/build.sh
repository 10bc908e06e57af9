#!/usr/bin/env bash
# Builds what the GPU scripts run on a GPU machine (check.sh, memory.sh, bench.sh): the `ranker` binary and the
# `gpu_check` and `step_probe` examples, with CUDA (burn-cuda + NCCL, both loaded at run time: the build needs no CUDA), stripped and
# gzipped into .gpu-bin/ (git-ignored through .git/info/exclude). Carry .gpu-bin to the GPU machine and run
# experiments/gpu/check.sh there from the repository root.
# With VARIANTS=1 it also builds two variants of `step_probe` for bench.sh's variant cells (issue "Speed", item 1):
# .gpu-bin/step_probe_fusion.gz (`--features autotune,fusion`: burn's operation fusion; with gpu_check_fusion.gz,
# which check.sh runs to check the device all-reduce through the fused primitive) and
# .gpu-bin/step_probe_no_autotune.gz (`--features cuda` alone: every matmul on one fixed kernel). Each is another
# release build of burn (~15+ min on 2 cores), in its own $target/<variant> so that the builds don't overwrite each
# other's artifacts. Without VARIANTS=1 earlier variant binaries are removed, so that .gpu-bin only holds binaries
# of one checkout.
# Usage: [VARIANTS=1] experiments/gpu/build.sh   (CARGO_TARGET_DIR and JOBS are honoured; JOBS defaults to 2)
set -euo pipefail
cd "$(dirname "$0")/../.."

target=${CARGO_TARGET_DIR:-target}
cargo build --release -j "${JOBS:-2}" -p ranker-cli -p ranker-train \
    --features ranker-cli/cuda,ranker-train/cuda --bin ranker --example gpu_check --example step_probe

mkdir -p .gpu-bin .git/info
grep -qx '/.gpu-bin/' .git/info/exclude 2>/dev/null || echo '/.gpu-bin/' >>.git/info/exclude
# Stripped and gzipped (~70 MiB -> ~20 MiB), so that they fit what a device run carries.
rm -f .gpu-bin/ranker .gpu-bin/gpu_check .gpu-bin/step_probe
strip -o .gpu-bin/ranker "$target/release/ranker"
strip -o .gpu-bin/gpu_check "$target/release/examples/gpu_check"
strip -o .gpu-bin/step_probe "$target/release/examples/step_probe"
gzip -9f .gpu-bin/ranker .gpu-bin/gpu_check .gpu-bin/step_probe
rm -f .gpu-bin/step_probe_fusion.gz .gpu-bin/gpu_check_fusion.gz .gpu-bin/step_probe_no_autotune.gz
if [ "${VARIANTS:-0}" = 1 ]; then
    variant() { # name features examples...
        local name=$1 features=$2
        shift 2
        local args=()
        for example in "$@"; do args+=(--example "$example"); done
        CARGO_TARGET_DIR="$target/$name" cargo build --release -j "${JOBS:-2}" -p ranker-train --features "$features" \
            "${args[@]}"
        for example in "$@"; do
            strip -o ".gpu-bin/${example}_$name" "$target/$name/release/examples/$example"
            gzip -9f ".gpu-bin/${example}_$name"
        done
    }
    variant fusion ranker-train/autotune,ranker-train/fusion step_probe gpu_check
    variant no_autotune ranker-train/cuda step_probe
fi
ls -l .gpu-bin
du -sh .gpu-bin

#!/usr/bin/env bash
# Builds what the GPU scripts run on a GPU machine (check.sh, memory.sh, bench.sh): the `ranker` binary and the
# `gpu_check` and `step_probe` examples, with CUDA (burn-cuda + NCCL, both loaded at run time: the build needs no CUDA), stripped and
# gzipped into .gpu-bin/ (git-ignored through .git/info/exclude). Carry .gpu-bin to the GPU machine and run
# experiments/gpu/check.sh there from the repository root.
# With FUSION=1 it also builds `step_probe` with burn's operation fusion (`--features cuda,fusion`) as
# .gpu-bin/step_probe_fusion.gz, for bench.sh's fusion cells: a second release build of burn (~15+ min on 2 cores),
# in $target/fusion so that the two builds don't overwrite each other's artifacts. Without FUSION=1 an earlier
# step_probe_fusion.gz is removed, so that .gpu-bin only holds binaries of one checkout.
# Usage: [FUSION=1] experiments/gpu/build.sh   (CARGO_TARGET_DIR and JOBS are honoured; JOBS defaults to 2)
set -euo pipefail
cd "$(dirname "$0")/../.."

target=${CARGO_TARGET_DIR:-target}
cargo build --release -j "${JOBS:-2}" -p ranker-cli -p ranker-train \
    --features ranker-cli/cuda,ranker-train/cuda --bin ranker --example gpu_check --example step_probe

mkdir -p .gpu-bin .git/info
grep -qx '/.gpu-bin/' .git/info/exclude 2>/dev/null || echo '/.gpu-bin/' >>.git/info/exclude
# Stripped and gzipped (~70 MiB -> ~20 MiB), so that they fit what a device run carries.
rm -f .gpu-bin/ranker .gpu-bin/gpu_check .gpu-bin/step_probe .gpu-bin/step_probe_fusion
strip -o .gpu-bin/ranker "$target/release/ranker"
strip -o .gpu-bin/gpu_check "$target/release/examples/gpu_check"
strip -o .gpu-bin/step_probe "$target/release/examples/step_probe"
gzip -9f .gpu-bin/ranker .gpu-bin/gpu_check .gpu-bin/step_probe
if [ "${FUSION:-0}" = 1 ]; then
    CARGO_TARGET_DIR="$target/fusion" cargo build --release -j "${JOBS:-2}" -p ranker-train \
        --features ranker-train/cuda,ranker-train/fusion --example step_probe
    strip -o .gpu-bin/step_probe_fusion "$target/fusion/release/examples/step_probe"
    gzip -9f .gpu-bin/step_probe_fusion
else
    rm -f .gpu-bin/step_probe_fusion.gz
fi
ls -l .gpu-bin
du -sh .gpu-bin

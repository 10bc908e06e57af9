#!/usr/bin/env bash
# Builds what the GPU scripts run on a GPU machine (check.sh, memory.sh, bench.sh): the `ranker` binary and the
# `gpu_check` and `step_probe` examples, with CUDA (burn-cuda + NCCL, both loaded at run time: the build needs no CUDA), stripped and
# gzipped into .gpu-bin/ (git-ignored through .git/info/exclude). Carry .gpu-bin to the GPU machine and run
# experiments/gpu/check.sh there from the repository root.
# Usage: experiments/gpu/build.sh   (CARGO_TARGET_DIR and JOBS are honoured; JOBS defaults to 2)
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
ls -l .gpu-bin
du -sh .gpu-bin

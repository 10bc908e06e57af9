# Sourced by the GPU scripts (check.sh, memory.sh, bench.sh) after they define `say MSG` (log), `summary MSG`
# (log + summary), `abort MSG` (fail and exit), `$WORK` (a scratch directory) and `$PY` (a python3 or empty):
# reports the GPU, finds libnccl / libnvrtc / libcuda and the CUDA headers, and exports LD_LIBRARY_PATH,
# CUDA_PATH and the NCCL variables so that cudarc and cubecl load them (the why of each step: check.sh's header).
# shellcheck shell=bash

# ---- versions
if command -v nvidia-smi >/dev/null; then
    summary "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 | head -n 4 | tr '\n' ';')"
    nvidia-smi 2>&1 | head -n 15 >>"$LOG"
else
    abort "setup: nvidia-smi not found: no NVIDIA driver on this machine"
fi
NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
[ -n "$NVCC" ] && summary "nvcc: $("$NVCC" --version 2>&1 | grep -i release | head -n 1)"
if [ -n "$PY" ]; then
    summary "python packages: $("$PY" - <<'EOF' 2>&1
from importlib import metadata
names = [d.metadata["Name"] for d in metadata.distributions()]
print(", ".join(sorted(f"{n}=={metadata.version(n)}" for n in set(names)
                       if n.lower().startswith(("nvidia-nccl", "nvidia-cuda-nvrtc", "nvidia-cuda-runtime")))) or "none")
EOF
)"
fi

# ---- libraries
NV_DIRS=""
if [ -n "$PY" ]; then
    NV_DIRS=$("$PY" -c 'import nvidia; print("\n".join(list(nvidia.__path__)))' 2>/dev/null || true)
fi
CUDA_DIRS=""
for d in "${CUDA_PATH:-}" "${CUDA_HOME:-}" /usr/local/cuda /usr/local/cuda-13* /usr/local/cuda-12* /opt/cuda \
    ${NVCC:+"$(dirname "$(dirname "$NVCC")")"}; do
    [ -n "$d" ] && [ -d "$d" ] && CUDA_DIRS="$CUDA_DIRS $(readlink -f "$d")"
done
CUDA_DIRS=$(echo "$CUDA_DIRS" | tr ' ' '\n' | awk 'NF && !seen[$0]++')
say "CUDA toolkit dirs: $(echo $CUDA_DIRS)"
say "python nvidia dirs: $(echo $NV_DIRS)"

# first_lib PATTERN DIRS...: the first real file matching PATTERN (newest version first) under DIRS.
first_lib() {
    local pattern=$1; shift
    for d in "$@"; do
        [ -d "$d" ] || continue
        find -L "$d" -maxdepth 5 -name "$pattern" -type f 2>/dev/null | grep -v -e builtins -e stub | sort -rV | head -n 1
    done | head -n 1
}
# NVRTC: the newest one the driver can load the PTX of (NVRTC 13.2 writes PTX ISA 9.2, which a 13.0
# driver refuses with CUDA_ERROR_UNSUPPORTED_PTX_VERSION); toolkit before pip wheels on a tie.
DRIVER_CUDA=$(nvidia-smi 2>/dev/null | grep -o 'CUDA Version: *[0-9.]*' | grep -o '[0-9][0-9.]*' | head -n 1)
DRIVER_NUM=$(echo "${DRIVER_CUDA:-0.0}" | awk -F. '{print $1 * 1000 + $2 * 10}')
nvrtc_version() { # libnvrtc path -> 13000-style number (empty when it cannot be asked)
    [ -n "$PY" ] && "$PY" -c 'import ctypes, sys
l = ctypes.CDLL(sys.argv[1]); a, b = ctypes.c_int(), ctypes.c_int()
l.nvrtcVersion(ctypes.byref(a), ctypes.byref(b)); print(a.value * 1000 + b.value * 10)' "$1" 2>/dev/null
}
NVRTC="" NVRTC_NUM=0 NVRTC_FIRST=""
for d in $CUDA_DIRS $NV_DIRS; do
    [ -d "$d" ] || continue
    for f in $(find -L "$d" -maxdepth 5 -name 'libnvrtc.so.*' -type f 2>/dev/null | grep -v -e builtins -e stub | sort -rV); do
        [ -n "$NVRTC_FIRST" ] || NVRTC_FIRST=$f
        v=$(nvrtc_version "$f")
        say "nvrtc candidate: $f (version ${v:-unknown})"
        if [ -n "$v" ] && [ "$v" -le "$DRIVER_NUM" ] && [ "$v" -gt "$NVRTC_NUM" ]; then NVRTC=$f NVRTC_NUM=$v; fi
    done
done
if [ -z "$NVRTC" ] && [ -n "$NVRTC_FIRST" ]; then
    NVRTC=$NVRTC_FIRST
    summary "WARN no NVRTC known to be <= the driver's CUDA ${DRIVER_CUDA:-?}; using $NVRTC (kernels may fail to load)"
fi
NCCL=$(first_lib 'libnccl.so.*' $NV_DIRS $CUDA_DIRS /usr/lib/x86_64-linux-gnu /usr/lib64)
[ -n "$NCCL" ] || abort "libs: libnccl.so.2 not found (looked in: $NV_DIRS $CUDA_DIRS /usr/lib/x86_64-linux-gnu)"
[ -n "$NVRTC" ] || abort "libs: libnvrtc.so.* not found (looked in: $CUDA_DIRS $NV_DIRS)"
LIBS="$WORK/lib"
mkdir -p "$LIBS"
ln -sf "$NCCL" "$LIBS/libnccl.so"
ln -sf "$NVRTC" "$LIBS/libnvrtc.so"
summary "libnccl: $NCCL (as libnccl.so)"
summary "libnvrtc: $NVRTC (as libnvrtc.so; driver supports CUDA ${DRIVER_CUDA:-?})"
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda.so.1'; then
    CUDA_LIB=$(first_lib 'libcuda.so.1*' /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/lib/wsl/lib)
    [ -n "$CUDA_LIB" ] || abort "libs: libcuda.so.1 (the driver library) not found"
    ln -sf "$CUDA_LIB" "$LIBS/libcuda.so.1"
    summary "libcuda: $CUDA_LIB"
fi
export LD_LIBRARY_PATH="$LIBS:$(dirname "$NVRTC"):$(dirname "$NCCL")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# CUDA_PATH: a root whose include/ has cuda_runtime.h, preferring the one NVRTC came from.
NVRTC_ROOT=$(dirname "$(dirname "$NVRTC")")
HEADERS=""
for d in "$NVRTC_ROOT" "$(dirname "$NVRTC_ROOT")" $CUDA_DIRS $NV_DIRS $(for n in $NV_DIRS; do echo "$n"/*; done); do
    if [ -f "$d/include/cuda_runtime.h" ]; then HEADERS=$d; break; fi
done
[ -n "$HEADERS" ] || abort "headers: no include/cuda_runtime.h under $NVRTC_ROOT $CUDA_DIRS $NV_DIRS (cubecl-cuda needs CUDA_PATH)"
export CUDA_PATH=$HEADERS
summary "CUDA_PATH: $CUDA_PATH"
export NCCL_SOCKET_IFNAME=${NCCL_SOCKET_IFNAME:-lo}
export NCCL_IB_DISABLE=${NCCL_IB_DISABLE:-1}
export NCCL_DEBUG=${NCCL_DEBUG:-WARN}
export RUST_BACKTRACE=1

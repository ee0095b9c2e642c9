#!/usr/bin/env bash
# The pc_node GPU check on a machine with an NVIDIA GPU, CUDA's nvcc and CMake but no network:
# builds the pinned llama-cpp-python with CUDA from the source in .device/ (made by
# tests/device/prepare.sh), installs the wheels carried beside it, and runs tests/device/gpu_node.py
# on the model carried there. Results and the build log go to $OUT (default /tmp/gpu-check).
#     CUDA_ARCH=90 tests/device/gpu_check.sh     (90: Hopper; 86: RTX 30xx; 89: RTX 40xx)
set -uo pipefail
OUT=${OUT:-/tmp/gpu-check}
KIT=.device
SITE=/tmp/gpu-check-site
mkdir -p "$OUT" "$SITE" /tmp/gpu-check-src
export PYTHONUNBUFFERED=1 PYTHONPATH="$SITE:$PWD"
command -v nvcc >/dev/null || export PATH="$PATH:$(ls -d /usr/local/cuda*/bin 2>/dev/null | head -1)"
nvidia-smi -L; nvcc --version | tail -1; python3 --version

python3 -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$KIT"/*.whl || exit 1
tar xzf "$KIT"/llama-src.tgz -C /tmp/gpu-check-src || exit 1
started=$(date +%s)
CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH:-90}" \
CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
  timeout "${BUILD_LIMIT:-480}" python3 -m pip install -v --no-index --no-deps --no-build-isolation --target "$SITE" \
  /tmp/gpu-check-src/llama_cpp_python-* >"$OUT/build.log" 2>&1 \
  || { tail -60 "$OUT/build.log"; echo "CUDA build failed"; exit 1; }
echo "CUDA build of llama-cpp-python: $(( $(date +%s) - started )) s"

python3 -m tests.device.gpu_node "$KIT"/model.gguf --out "$OUT/gpu_check.json"

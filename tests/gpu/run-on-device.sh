#!/usr/bin/env bash
# Builds the Qt-free GPU targets (backends, CUDA module, checks, benchmark) and runs them on the
# first GPU, in one call on the device machine. Logs go to $OUT (the device tool's folder) or
# build/gpu/logs. Steps (default: build check sanitize bench; also: ab profile profile-attention
# e2e, the last after tests/gpu/prepare-e2e.sh with carry build/cuda-e2e).
#   tests/gpu/run-on-device.sh                  # everything
#   tests/gpu/run-on-device.sh build check      # just correctness
# HEARTH_CUDA_ARCHITECTURES (default 90), HEARTH_BENCH_MODELS (default: the four of issue 6).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-build/gpu/logs}
mkdir -p "$out"
steps=${*:-build check sanitize bench}
arch=${HEARTH_CUDA_ARCHITECTURES:-90}
status=0
say() { printf '== %s\n' "$*"; }
has() { [[ " $steps " == *" $1 "* ]]; }

if has build; then
  say "building (sm_$arch)"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv > "$out/gpu.txt" 2>&1
  cmake -S tests/gpu/standalone -B build/gpu -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHEARTH_CUDA=ON \
    -DHEARTH_CUDA_ARCHITECTURES="$arch" > "$out/build.log" 2>&1 &&
  cmake --build build/gpu -j "$(nproc)" >> "$out/build.log" 2>&1 || { tail -n 40 "$out/build.log"; exit 1; }
  say "built"
fi

if has check; then
  say "op checks against the CPU backend"
  build/gpu/tests/gpu_ops_check cuda:0 > "$out/ops_check.log" 2>&1 || status=1
  grep -v '^ok' "$out/ops_check.log" | tail -n 30
  say "op checks again on the other paths (no cuBLAS, no fusion, programmatic launch)"
  HEARTH_CUDA_BLAS=0 HEARTH_CUDA_FUSE=0 HEARTH_CUDA_PDL=1 build/gpu/tests/gpu_ops_check cuda:0 \
    > "$out/ops_check_fallback.log" 2>&1 || status=1
  grep -v '^ok' "$out/ops_check_fallback.log" | tail -n 30
  say "op checks again with the GGUF layouts (HEARTH_CUDA_REPACK=0: no planar Q4_0 / Q6_K rows)"
  HEARTH_CUDA_REPACK=0 build/gpu/tests/gpu_ops_check cuda:0 > "$out/ops_check_norepack.log" 2>&1 || status=1
  grep -v '^ok' "$out/ops_check_norepack.log" | tail -n 30
  say "op checks again with half copies of the weights (opt-in prefill path)"
  HEARTH_CUDA_F16_WEIGHTS=1 build/gpu/tests/gpu_ops_check cuda:0 > "$out/ops_check_f16w.log" 2>&1 || status=1
  grep -v '^ok' "$out/ops_check_f16w.log" | tail -n 30
fi

if has sanitize; then
  for tool in memcheck racecheck; do
    say "compute-sanitizer $tool"
    HEARTH_SANITIZE_RUN=1 compute-sanitizer --tool "$tool" --error-exitcode 9 --print-limit 20 \
      build/gpu/tests/gpu_ops_check cuda:0 > "$out/$tool.log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || status=1
    grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|checks failed' "$out/$tool.log" | tail -n 3
    echo "$tool exit $rc"
  done
fi

if has bench; then
  say "decode/prefill benchmark"
  # shellcheck disable=SC2086
  build/gpu/bench/gpu_decode_bench cuda:0 ${HEARTH_BENCH_MODELS:-} > "$out/bench.log" 2>&1 || status=1
  cat "$out/bench.log"
fi
if has ab; then
  say "A/B: what programmatic launch, op fusion and the planar weights bring (decode)"
  for cfg in "HEARTH_CUDA_PDL=1" "HEARTH_CUDA_FUSE=0" "HEARTH_CUDA_REPACK=0"; do
    echo "-- $cfg"
    env $cfg build/gpu/bench/gpu_decode_bench cuda:0 8b-q4_k_m 1b-q4_k_m 2>&1 | tail -n 2
  done | tee "$out/ab.log"
fi
if has e2e; then
  # gpu_e2e_check and the converted fixtures are built here (it links the engine, whose tokenizer
  # needs ICU), carried in build/cuda-e2e with the libraries the device image lacks.
  say "end to end: fixture models, cuda:0 against transformers and the CPU backend"
  LD_LIBRARY_PATH=build/cuda-e2e/lib HEARTH_BACKEND_DIR=$PWD/build/gpu/lib/hearth \
    build/cuda-e2e/gpu_e2e_check build/cuda-e2e tests/fixtures cuda:0 > "$out/e2e.log" 2>&1 || status=1
  grep -v '^ok' "$out/e2e.log" | tail -n 30
fi

if has profile; then
  say "ncu: the kernels of eager decode steps (8B Q4_K_M)"
  HEARTH_BENCH_STEPS=2 ncu --kernel-name regex:'matVec|prepare|attention|combine|ropeStore|argmax' \
    --launch-skip 700 --launch-count 12 --section SpeedOfLight \
    build/gpu/bench/gpu_decode_bench cuda:0 8b-q4_k_m > "$out/ncu.log" 2>&1
  grep -E '^  [a-zA-Z_]|Duration|DRAM Throughput|Memory Throughput|Compute \(SM\)' "$out/ncu.log" | head -n 150
fi
if has profile-attention; then
  say "ncu: one decode attention kernel in detail"
  HEARTH_BENCH_STEPS=2 ncu --kernel-name regex:'attentionKernel' --launch-skip 100 --launch-count 1 \
    --section WarpStateStats --section SchedulerStats --section Occupancy --section LaunchStats \
    --section SourceCounters --print-summary none \
    build/gpu/bench/gpu_decode_bench cuda:0 8b-q4_k_m > "$out/ncu_attention.log" 2>&1
  grep -v '^==PROF==' "$out/ncu_attention.log" | tail -n 120
fi
exit $status

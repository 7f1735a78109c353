#!/usr/bin/env bash
# Quick start: install what is missing, build Hearth (dev preset) and run the whole test suite:
# unit, vulkan (Mesa lavapipe) and gui (Xvfb) tests; with CI=true also warnings-as-errors and the
# parser fuzzers for a bounded time. GPU tests are built but run on a GPU machine
# (tests/gpu/run-on-device.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1mhearth tests:\033[0m %s\n' "$*"; }
jobs=$(nproc)

scripts/install-deps.sh test

say "installing the reference tokenizers and template engine (npm, tests/package.json)"
if [ -f tests/package-lock.json ]; then
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
elif [ -f tests/package.json ]; then
  (cd tests && npm install --no-audit --no-fund --loglevel=error)
fi

werror=OFF
[ "${CI:-}" = true ] && werror=ON
say "configuring build/dev (warnings as errors: $werror)"
cmake --preset dev -DHEARTH_WERROR=$werror >/dev/null
say "building with $jobs jobs"
cmake --build build/dev --parallel "$jobs"

say "running unit, vulkan and gui tests"
export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-$(ls /usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null | head -n1)}
xvfb-run -a -s "-screen 0 1280x800x24" \
  ctest --test-dir build/dev --output-on-failure -j "$jobs" -L 'unit|vulkan|gui' -LE gpu

if [ "${CI:-}" = true ] && [ -f tests/fuzz/CMakeLists.txt ]; then
  say "building the fuzzers (clang, ASan+UBSan)"
  cmake --preset fuzz >/dev/null
  cmake --build build/fuzz --parallel "$jobs" --target hearth_fuzzers
  seconds=${HEARTH_FUZZ_SECONDS:-60}
  for f in build/fuzz/tests/fuzz/fuzz_*; do
    [ -f "$f" ] && [ -x "$f" ] || continue
    name=$(basename "$f")
    corpus=tests/fuzz/corpus/${name#fuzz_}
    say "fuzzing $name for ${seconds}s"
    mkdir -p "build/fuzz/corpus-$name"
    "$f" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 "build/fuzz/corpus-$name" "$corpus" \
      > "build/fuzz/$name.log" 2>&1 || { tail -n 40 "build/fuzz/$name.log"; say "$name found a problem"; exit 1; }
  done
fi
say "all tests passed"

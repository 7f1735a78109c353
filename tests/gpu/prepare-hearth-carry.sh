#!/usr/bin/env bash
# Prepares .devicert/carry/hearth-rt.tar.xz for tests/gpu/run-hearth-on-device.sh: the real `hearth`
# binary (Release, CUDA module for sm_90), make_random_gguf, and the shared libraries it needs that
# the device image (Ubuntu 24.04, CUDA 13, no Qt, no ICU 72, no utf8proc) lacks, taken from the
# Debian 12 packages (`apt-get download` + `dpkg -x`, never installed). Idempotent: re-running
# rebuilds what changed and re-packs; downloaded .debs are kept in .devicert/debs.
#   tests/gpu/prepare-hearth-carry.sh [--head] [BUILD_DIR]   (default build/devrel; configured if needed)
# --head builds the last commit (`git archive HEAD`, synced into build/devrel-src so rebuilds stay
# incremental; default BUILD_DIR build/devrel-head) instead of the working tree, whose files other
# people may be editing. Env: HEARTH_CUDA_ARCHITECTURES (default 90), HEARTH_JOBS (default 2).
# Release with -O3 and no -Werror (GCC 12 warns at -O3 where -O2, the CI build, does not).
# .devicert/ must be ignored (.git/info/exclude) so it travels only when carried; the packed tree
# must stay under the device tool's 64 MiB (it is about 26 MiB).
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
build=build/devrel
if [ "${1:-}" = --head ]; then
  shift
  src=$PWD/build/devrel-src
  build=build/devrel-head
  rm -rf "$src.new" && mkdir -p "$src.new" "$src" && git archive HEAD | tar -x -C "$src.new"
  # Copy only what changed (fresh mtimes, so ninja rebuilds just that) and drop what is gone.
  (cd "$src.new" && find . -type f) | while read -r f; do
    cmp -s "$src.new/$f" "$src/$f" || { mkdir -p "$(dirname "$src/$f")" && cp "$src.new/$f" "$src/$f"; }
  done
  (cd "$src" && find . -type f) | while read -r f; do [ -e "$src.new/$f" ] || rm -f "$src/$f"; done
  rm -rf "$src.new"
  echo "building $(git log --oneline -1 HEAD)"
fi
build=${1:-$build}
arch=${HEARTH_CUDA_ARCHITECTURES:-90}
root=.devicert
grep -qsx '/.devicert/' .git/info/exclude || { mkdir -p .git/info && echo '/.devicert/' >> .git/info/exclude; }

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHEARTH_BUILD_TESTS=OFF \
    -DHEARTH_CUDA=ON -DHEARTH_CUDA_ARCHITECTURES="$arch" -DHEARTH_HIP=OFF -DHEARTH_VULKAN=OFF -DHEARTH_WERROR=OFF
fi
nice -n 10 cmake --build "$build" --target hearth hearth-backend-cuda make_random_gguf -j "${HEARTH_JOBS:-2}"

stage=$root/stage
rm -rf "$stage" && mkdir -p "$stage/bin" "$stage/lib/hearth" "$stage/plugins/sqldrivers" "$root/debs" "$root/unpacked"
strip -o "$stage/bin/hearth" "$build/bin/hearth"
strip -o "$stage/bin/make_random_gguf" "$build/bin/make_random_gguf"
strip --strip-unneeded -o "$stage/lib/hearth/libhearth-backend-cuda.so" "$build/lib/hearth/libhearth-backend-cuda.so"

# The libraries to carry: everything ldd resolves except the C/C++ runtime, which the device has
# in newer versions (glibc 2.39, GCC 14's libstdc++), and PCRE2-8, which it has too. The QSQLITE
# plugin lets `hearth chat` keep its history as on a desktop.
qtplugins=/usr/lib/x86_64-linux-gnu/qt6/plugins
skip='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libresolv|libstdc\+\+|libgcc_s|libpcre2-8)\.so'
mapfile -t libs < <(ldd "$build/bin/hearth" "$build/bin/make_random_gguf" "$qtplugins/sqldrivers/libqsqlite.so" |
  awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u | while read -r l; do
    basename "$l" | grep -Eq "$skip" || echo "$l"; done)
owner() {  # the Debian package that holds a library (usrmerge: dpkg may know either path)
  local f=$1 alt
  for alt in "$f" "${f/#\/usr\/lib\//\/lib\/}" "${f/#\/lib\//\/usr\/lib\/}" "$(readlink -f "$f")"; do
    dpkg -S "$alt" 2>/dev/null | head -n1 | cut -d: -f1 | grep . && return 0
  done
  echo "prepare-hearth-carry: no package owns $f" >&2; return 1
}
mapfile -t pkgs < <({ for l in "${libs[@]}"; do owner "$l"; done; echo libqt6sql6-sqlite; } | sort -u)
(cd "$root/debs" && for p in "${pkgs[@]}"; do ls "${p}"_*.deb > /dev/null 2>&1 || apt-get download -qq "$p" > /dev/null 2>&1; done)
rm -rf "$root/unpacked" && mkdir -p "$root/unpacked"
for p in "${pkgs[@]}"; do dpkg -x "$(ls "$root/debs/${p}"_*.deb | head -n1)" "$root/unpacked"; done
for l in "${libs[@]}"; do
  f=$(find "$root/unpacked" -name "$(basename "$l")" | head -n1)
  [ -n "$f" ] || { echo "prepare-hearth-carry: $(basename "$l") is not in the downloaded packages" >&2; exit 1; }
  cp -L "$f" "$stage/lib/"
done
cp -L "$root/unpacked/usr/lib/x86_64-linux-gnu/qt6/plugins/sqldrivers/libqsqlite.so" "$stage/plugins/sqldrivers/"

mkdir -p "$root/carry"
tar -C "$stage" -cf - . | xz -T2 -6 > "$root/carry/hearth-rt.tar.xz.part"
mv "$root/carry/hearth-rt.tar.xz.part" "$root/carry/hearth-rt.tar.xz"
echo "packed: $(du -sh "$stage" | cut -f1) -> $(du -h "$root/carry/hearth-rt.tar.xz" | cut -f1) in $root/carry" \
     "(${#libs[@]} libraries from ${#pkgs[@]} packages)"

#!/usr/bin/env bash
# The real `hearth` binary on the device machine's GPU (issue 6: `hearth bench --json`, and Hearth
# chatting through CUDA). The device image has no Qt, so hearth is built HERE and carried:
#   1. here:   tests/gpu/prepare-hearth-carry.sh          (Release build in build/devrel, packs
#              hearth + the CUDA module + make_random_gguf + the Debian 12 libraries the device
#              lacks into .devicert/carry/hearth-rt.tar.xz, ~26 MiB; `--head` builds the last
#              commit instead of the working tree)
#   2. device: run(command="tests/gpu/run-hearth-on-device.sh", carry=[".devicert/carry"])
# It unpacks the runtime under /tmp (never into /), sets LD_LIBRARY_PATH/QT_PLUGIN_PATH/
# HEARTH_BACKEND_DIR for hearth alone, then:
#   - makes the issue's four random-weight models under /tmp/hearth-models with make_random_gguf
#     (llama-3.1-8b q4_k_m, q4_0, f16; llama-3.2-1b q4_k_m; kept if already there);
#   - `hearth devices --json`;
#   - `hearth bench --model M -p 512 -n 128 --device cuda:0 --ctx-size 1024 --json` for each
#     (nvidia-smi samples the GPU memory meanwhile, as a cross-check of the VRAM figures);
#   - converts the fixtures chat_llama (F16) and llama (F32) with the carried `hearth convert`,
#     runs `hearth generate --temperature 0 --json` on cuda:0 and on the CPU and compares the ids,
#     and `printf 'Hello\n/stats\n' | hearth chat M --device cuda:0`.
# Writes to $OUT (or build/devrel/device-logs): summary.txt, bench.jsonl, devices.json,
# generate.json, chat.log, run.log (at most 8 files come back from the device tool). A fresh
# machine takes ~8 minutes (timeout_s 600), most of it making the 8B F16 file (single-threaded).
# Env: HEARTH_BENCH_MODELS (default "1b-q4_k_m 8b-q4_0 8b-q4_k_m 8b-f16"), HEARTH_DEVICE (cuda:0),
# HEARTH_MODEL_DIR (/tmp/hearth-models), HEARTH_RT (/tmp/hearth-rt: the unpacked runtime).
# Exit status: 0 when every step worked and the greedy ids match the CPU's, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-build/devrel/device-logs}
mkdir -p "$out"
rt=${HEARTH_RT:-/tmp/hearth-rt}
models=${HEARTH_MODEL_DIR:-/tmp/hearth-models}
device=${HEARTH_DEVICE:-cuda:0}
tarball=.devicert/carry/hearth-rt.tar.xz
log=$out/run.log
status=0
say() { printf '== %s\n' "$*" | tee -a "$log"; }
fail() { printf 'FAILED: %s\n' "$*" | tee -a "$log"; status=1; }
hearth() {
  LD_LIBRARY_PATH="$rt/lib" QT_PLUGIN_PATH="$rt/plugins" QT_QPA_PLATFORM=offscreen \
    HEARTH_BACKEND_DIR="$rt/lib/hearth" "$rt/bin/hearth" "$@"
}
: > "$log"

say "runtime"
[ -f "$tarball" ] || { echo "no $tarball: run tests/gpu/prepare-hearth-carry.sh here and carry .devicert/carry"; exit 1; }
rm -rf "$rt" && mkdir -p "$rt" && xz -dc "$tarball" | tar -C "$rt" -xf - || { echo "cannot unpack $tarball"; exit 1; }
missing=$(LD_LIBRARY_PATH="$rt/lib" ldd "$rt/bin/hearth" "$rt/lib/hearth/libhearth-backend-cuda.so" | grep 'not found')
[ -z "$missing" ] || { echo "$missing"; fail "libraries still missing"; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv >> "$log" 2>&1
hearth --version | tee -a "$log"

say "models (random weights, made here; the 8B F16 one takes a few minutes, made while the rest runs)"
mkdir -p "$models"
declare -A spec=([8b-q4_k_m]="llama-3.1-8b q4_k_m" [8b-q4_0]="llama-3.1-8b q4_0" [8b-f16]="llama-3.1-8b f16"
                 [1b-q4_k_m]="llama-3.2-1b q4_k_m")
declare -A maker=()
names=${HEARTH_BENCH_MODELS:-1b-q4_k_m 8b-q4_0 8b-q4_k_m 8b-f16}
for m in $names; do
  [ -n "${spec[$m]:-}" ] || { fail "unknown model $m"; continue; }
  [ -s "$models/$m.gguf" ] && continue
  read -r preset type <<< "${spec[$m]}"
  (LD_LIBRARY_PATH="$rt/lib" "$rt/bin/make_random_gguf" --preset "$preset" --type "$type" "$models/$m.gguf.part" &&
   mv "$models/$m.gguf.part" "$models/$m.gguf") >> "$log" 2>&1 &
  maker[$m]=$!
done

say "devices"
hearth devices --json > "$out/devices.json" 2>> "$log" || fail "hearth devices"
hearth devices | tee -a "$log"

say "chat through $device: fixtures converted with the carried hearth"
fx=/tmp/hearth-fixtures
mkdir -p "$fx"
hearth convert tests/fixtures/chat_llama "$fx/chat_llama_f16.gguf" --type f16 --quiet >> "$log" 2>&1 || fail "convert chat_llama"
hearth convert tests/fixtures/llama "$fx/llama_f32.gguf" --type f32 --quiet >> "$log" 2>&1 || fail "convert llama"
: > "$out/generate.json"
for f in chat_llama_f16 llama_f32; do
  ref=tests/fixtures/${f%_*}/reference.json  # the 45 random ids of its third prompt, and transformers' greedy
  ids=$(python3 -c 'import json,sys; print(",".join(map(str, json.load(open(sys.argv[1]))["prompts"][2]["ids"])))' "$ref")
  for d in "$device" cpu; do
    hearth generate --model "$fx/$f.gguf" --prompt-ids "$ids" --max-tokens 32 --ignore-eos \
      --temperature 0 --device "$d" --json > "/tmp/gen-$f-$d.json" 2>> "$log" || fail "generate $f on $d"
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["model"]=sys.argv[2]; print(json.dumps(j))' \
      "/tmp/gen-$f-$d.json" "$f" >> "$out/generate.json" 2>> "$log"
  done
  python3 - "/tmp/gen-$f-$device.json" "/tmp/gen-$f-cpu.json" "$ref" "$f" "$device" <<'PY' 2>&1 | tee -a "$log" ||
import json, sys
a, b = (json.load(open(p))["ids"] for p in sys.argv[1:3])
ref = json.load(open(sys.argv[3]))["prompts"][2]
agree = next((i for i, (x, y) in enumerate(zip(a, ref["greedy"])) if x != y), len(ref["greedy"]))
tie = next((i for i, m in enumerate(ref["greedy_margins"]) if m < 1e-2), len(ref["greedy"]))
print(f"{sys.argv[4]}: greedy ids on {sys.argv[5]} {'=' if a == b else '!='} cpu ({len(a)} tokens); "
      f"the first {agree} equal transformers' (first near-tie at {tie})")
sys.exit(0 if a == b and len(a) == 32 else 1)
PY
    fail "greedy ids of $f: $device differs from cpu"
done
printf 'Hello\n/stats\n' | hearth chat "$fx/chat_llama_f16.gguf" --device "$device" --temperature 0 \
  --max-tokens 32 > "$out/chat.log" 2>&1 || fail "hearth chat"
cat "$out/chat.log" | tee -a "$log"
grep -q '^prompt .* tokens' "$out/chat.log" || fail "chat printed no /stats line"

say "bench: -p 512 -n 128 --ctx-size 1024 on $device"
: > "$out/bench.jsonl"
for m in $names; do
  [ -z "${maker[$m]:-}" ] || wait "${maker[$m]}" || fail "make_random_gguf $m"
  [ -s "$models/$m.gguf" ] || { fail "no model $m"; continue; }
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "/tmp/smi-$m.txt" 2>/dev/null &
  smi=$!
  hearth bench --model "$models/$m.gguf" -p 512 -n 128 --device "$device" --ctx-size 1024 --json \
    > "/tmp/bench-$m.json" 2>> "$log" || fail "hearth bench $m"
  kill "$smi" 2>/dev/null; wait "$smi" 2>/dev/null
  peak=$(sort -n "/tmp/smi-$m.txt" | tail -n1)
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["name"]=sys.argv[2]
j["nvidia_smi_peak_mib"]=float(sys.argv[3] or 0); print(json.dumps(j))' \
    "/tmp/bench-$m.json" "$m" "${peak:-0}" >> "$out/bench.jsonl" 2>> "$log"
  tail -n1 "$out/bench.jsonl" >> "$log"
done
ls -la "$models" >> "$log"

say "summary"
python3 - "$out/bench.jsonl" > "$out/summary.txt" <<'EOF'
import json, sys
bench = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
name = bench[0]["device_name"] if bench else "?"
print(f"hearth bench on {name}: -p 512 -n 128, --ctx-size 1024, random weights")
print(f"{'model':<10} {'prefill tok/s':>13} {'decode tok/s':>12} {'GB/s':>7} {'of roof':>9} "
      f"{'weights':>9} {'KV':>7} {'scratch':>8} {'planned':>9} {'measured':>9} {'smi peak':>9}")
mib = lambda b: f"{b / 1048576:.0f}M"
for j in bench:
    print(f"{j['name']:<10} {j['prefill_tps']:>13.1f} {j['decode_tps']:>12.1f} {j['achieved_gbs']:>7.1f} "
          f"{j.get('fraction_of_membw', 0) * 100:>8.1f}% {mib(j['weights_bytes']):>9} {mib(j['kv_cache_bytes']):>7} "
          f"{mib(j['scratch_bytes']):>8} {mib(j.get('device_memory_bytes', 0)):>9} "
          f"{mib(j.get('device_memory_used_bytes', 0)):>9} {j['nvidia_smi_peak_mib']:>8.0f}M")
if bench and bench[0].get("device_stream_gbs"):
    print(f"stream bandwidth (add over 3 x 256 MiB F32): {bench[0].get('device_stream_gbs', 0):.1f} GB/s")
EOF
cat "$out/summary.txt" | tee -a "$log"
[ $status -eq 0 ] && echo "all steps passed" | tee -a "$log"
exit $status

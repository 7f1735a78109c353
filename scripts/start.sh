#!/usr/bin/env bash
# Quick start: install what is missing, build Hearth (release), and start the desktop app.
# Arguments are passed to the app, e.g.  scripts/start.sh --model ~/models/qwen3-0.6b-q4_k_m.gguf
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1mhearth:\033[0m %s\n' "$*"; }

scripts/install-deps.sh app
say "configuring (build/release)"
cmake --preset release >/dev/null
say "building with $(nproc) jobs"
cmake --build build/release --parallel "$(nproc)"
say "starting build/release/bin/hearth"
exec build/release/bin/hearth "$@"

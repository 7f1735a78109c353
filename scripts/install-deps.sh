#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Hearth needs, only those that are missing.
#   scripts/install-deps.sh app     # to build and run the app
#   scripts/install-deps.sh test    # also what the test suite needs (Xvfb, lavapipe, clang, node)
set -euo pipefail

profile=${1:-app}
say() { printf '\033[1mhearth setup:\033[0m %s\n' "$*"; }

build_pkgs=(build-essential cmake ninja-build pkg-config git
  qt6-base-dev qt6-declarative-dev qt6-declarative-dev-tools qt6-httpserver-dev
  qml6-module-qtquick qml6-module-qtqml qml6-module-qtqml-models qml6-module-qt-labs-folderlistmodel
  qml6-module-qtquick-controls qml6-module-qtquick-templates
  qml6-module-qtquick-layouts qml6-module-qtquick-window qml6-module-qtqml-workerscript
  qml6-module-qtquick-dialogs qml6-module-qt-labs-platform qml6-module-qt-labs-settings
  libqt6sql6-sqlite libgl-dev
  nlohmann-json3-dev libpcre2-dev libutf8proc-dev libicu-dev
  libvulkan-dev glslc mesa-vulkan-drivers)
test_pkgs=(xvfb xauth qml6-module-qttest clang libclang-rt-dev nodejs npm sqlite3 vulkan-tools hipcc)

pkgs=("${build_pkgs[@]}")
[ "$profile" = test ] && pkgs+=("${test_pkgs[@]}")

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  say "this script needs a Debian or Ubuntu system (apt); install the packages listed in it by hand"
  exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
  # node may come from elsewhere (nodesource, nvm): accept any node >= 18 on the PATH.
  if [ "$p" = nodejs ] || [ "$p" = npm ]; then
    if command -v node >/dev/null && command -v npm >/dev/null; then continue; fi
  fi
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  say "all ${#pkgs[@]} packages already installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    say "missing packages: ${missing[*]}"
    say "run this script as root (or install sudo) to install them"
    exit 1
  fi
fi
say "installing ${#missing[@]} missing packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get update -qq; then
  say "apt-get update failed: check the network and /etc/apt/sources.list"
  exit 1
fi
if ! $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  say "could not install: ${missing[*]} (see apt's message above)"
  exit 1
fi
say "packages installed"

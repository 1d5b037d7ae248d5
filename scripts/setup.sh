#!/usr/bin/env bash
# One command on a fresh Debian 12 machine (as root): install dependencies, build (release),
# run the main demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [ -d build ]; then
  meson configure build -Dexamples=true   # an existing build dir may have examples off
else
  meson setup build
fi
ninja -C build
./build/examples/chain_rule

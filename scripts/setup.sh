#!/usr/bin/env bash
# One command on a fresh Debian 12 machine (as root): install dependencies, build (release),
# run the main demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d build ] || meson setup build
ninja -C build
./build/examples/chain_rule

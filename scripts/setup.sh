#!/usr/bin/env bash
# One command on a fresh Debian 12 machine (as root): install the build dependencies and the
# demo's (Fashion-MNIST, gnuplot, Graphviz), build (release), train the main demo.
# Extra arguments go to the demo, e.g. scripts/setup.sh --epochs 5
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh scripts/packages.txt scripts/packages-demo.txt
if [ -d build ]; then
  meson configure build -Dexamples=true   # an existing build dir may have examples off
else
  meson setup build
fi
ninja -C build
./build/examples/fashion_mnist "$@"

#!/usr/bin/env bash
# Installs the Debian 12 packages xgrad builds with (run as root). Safe to run again.
# Usage: install-deps.sh [list...]   (default: scripts/packages.txt; one package per line)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
lists=("$@")
[ ${#lists[@]} -gt 0 ] || lists=("$here/packages.txt")
mapfile -t packages < <(cat "${lists[@]}" | grep -v '^#' | grep -v '^$')
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "dependencies installed: ${packages[*]}"

#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages forms-service needs, or says how to.
#   scripts/system-deps.sh run    what `make run` needs (tesseract with English)
#   scripts/system-deps.sh test   that, plus what the tests use (Debian's chromium)
set -euo pipefail
want=(tesseract-ocr tesseract-ocr-eng)
if [ "${1:-run}" = test ]; then
  want+=(chromium poppler-utils)
fi
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "forms-service needs these system packages: ${missing[*]}. Install them with your system's package manager, then run make again." >&2
  exit 1
fi
if [ "$(id -u)" = 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo)
else
  echo "forms-service needs these system packages: ${missing[*]}." >&2
  echo "Run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  echo "then run make again." >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

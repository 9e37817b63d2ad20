#!/usr/bin/env bash
# ci/install-deps.sh: installs the Debian packages notfree needs, if any is
# missing. The one list of dependencies; ./lab and CI call it.
# Not root: prints the exact command to run and exits 1.
set -euo pipefail

PACKAGES=(
  meson ninja-build pkg-config gcc g++   # build
  libbenchmark-dev libhwloc-dev          # the harness
  libjansson-dev                         # JSON, written and read
  gnuplot-nox fonts-dejavu-core jq       # charts; jq reads results JSON
  procps                                  # ps/free for scripts
  python3 perl git hostname               # real programs the preload suite runs
  libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4   # allocators `notfree compare` preloads
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "notfree: missing Debian packages: ${missing[*]}" >&2
  echo "notfree: install them as root, then run again:" >&2
  echo "  sudo sh -c '$cmd'" >&2
  exit 1
fi

echo "notfree: installing ${missing[*]}" >&2
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"

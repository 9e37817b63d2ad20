#!/usr/bin/env bash
# ci/install-deps.sh [--with-browser] [--with-validator]: installs the
# Debian packages notfree needs, if any is missing. The one list of
# dependencies; ./lab and CI call it.
#   --with-browser    also chromium, for the report's browser test (large;
#                     NF_WITH_BROWSER=1 in the environment does the same:
#                     .ci/run sets it, since ./lab test calls this script)
#   --with-validator  also the GitHub workflow validator, the npm package
#                     @action-validator/cli, into .tools/ of the source tree
#                     (the `ci` test suite asks for it; needs npm)
# Not root: prints the exact command to run and exits 1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACKAGES=(
  meson ninja-build pkg-config gcc g++   # build
  clang-format                           # the layout check (ci/format.sh)
  libbenchmark-dev libhwloc-dev          # the harness
  libjansson-dev                         # JSON, written and read
  gnuplot-nox fonts-dejavu-core jq       # charts; jq reads results JSON
  procps                                  # ps/free for scripts
  python3 perl git hostname               # real programs the preload suite runs
  libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4   # allocators `notfree compare` preloads
)
BROWSER_PACKAGES=(chromium)              # tests/report/browser_test.sh
VALIDATOR_PACKAGES=(nodejs npm)          # npm for @action-validator/cli
VALIDATOR="@action-validator/cli@0.6.0"  # tests/report/workflow_test.sh

validator=0
[[ ${NF_WITH_BROWSER:-} != 1 ]] || PACKAGES+=("${BROWSER_PACKAGES[@]}")
for a in "$@"; do
  case "$a" in
    --with-browser) PACKAGES+=("${BROWSER_PACKAGES[@]}") ;;
    --with-validator) validator=1; command -v npm >/dev/null || PACKAGES+=("${VALIDATOR_PACKAGES[@]}") ;;
    *) echo "ci/install-deps.sh: unknown flag '$a' (--with-browser, --with-validator)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -ne 0 ]; then
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
fi

# The validator: an npm package, kept in the source tree's .tools/ (not
# global), installed once.
if [[ $validator == 1 && ! -x $here/.tools/node_modules/.bin/action-validator ]]; then
  echo "notfree: installing $VALIDATOR into $here/.tools" >&2
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$here/.tools" "$VALIDATOR" >&2
fi

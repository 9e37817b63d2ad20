#!/usr/bin/env bash
# ci/format.sh [--check]: lays out every C and C++ file of the tree with
# clang-format and the tree's .clang-format. With --check it changes nothing
# and lists the files whose layout differs (exit 1), as the unit suite runs it.
# The layout is pinned to clang-format 14 (Debian 12's): another major
# version lays some constructs out differently, so there --check skips
# (exit 77, meson's skip) rather than fail on a tool's taste.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "ci/format.sh: unknown flag '$1' (--check)" >&2; exit 2 ;;
esac

cf="${CLANG_FORMAT:-clang-format}"
if ! command -v "$cf" >/dev/null; then
  echo "ci/format.sh: $cf not found (Debian: apt-get install clang-format)" >&2
  exit 77
fi
major="$("$cf" --version | sed -n 's/.*version \([0-9][0-9]*\)\..*/\1/p')"
if [ "$major" != 14 ]; then
  echo "ci/format.sh: $cf is version ${major:-unknown}; the layout is pinned to 14 (Debian 12)" >&2
  exit 77
fi

cd "$here"
# The tree's sources: what git tracks, or, outside a checkout, what find sees
# below the source folders (never a build directory).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- '*.c' '*.h' '*.cc')
else
  mapfile -t files < <(find . \( -name 'build*' -o -name '.*' \) -prune -o \
    -type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) -print | sed 's#^\./##' | sort)
fi

if [ "$check" = 0 ]; then
  "$cf" -i -- "${files[@]}"
  exit 0
fi
# One clang-format for every file: --dry-run -Werror names each place that
# differs as "FILE:LINE:COL: error: code should be clang-formatted".
if out="$("$cf" --dry-run -Werror -- "${files[@]}" 2>&1)"; then
  echo "ci/format.sh: ${#files[@]} files laid out as .clang-format says"
  exit 0
fi
mapfile -t bad < <(sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' <<<"$out" | sort -u)
if [ ${#bad[@]} -eq 0 ]; then
  echo "ci/format.sh: clang-format failed: $out" >&2
  exit 1
fi
for f in "${bad[@]}"; do
  echo "ci/format.sh: $f is not laid out as .clang-format says (run ci/format.sh)" >&2
done
echo "ci/format.sh: ${#bad[@]} file(s) differ" >&2
exit 1

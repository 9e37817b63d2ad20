#!/usr/bin/env bash
# publish/history.sh DIR RECORD.json FILE...
#
# Appends one record (publish/record.jq's output) to DIR/history.json,
#   {"format": "notfree-history-1", "records": [{...}, ...]}
# and keeps the published results files under DIR/runs/<id>/, so a report
# can link every earlier run. The id is the record's number (4 digits)
# and the run's id: each publish adds exactly one record, earlier records
# are never rewritten, and the file is replaced whole (temp + rename).
# A history file that is not such JSON is reported and left untouched.
# Prints the new record's id. Exit: 0 ok, 2 bad usage or corrupt history.
set -euo pipefail

die() { echo "history: $*" >&2; exit 2; }
[[ $# -ge 2 ]] || die "usage: history.sh DIR RECORD.json FILE..."
dir=$1 rec=$2; shift 2
hist=$dir/history.json
mkdir -p "$dir" || die "cannot create $dir"

if [[ -e $hist ]]; then
  why=$(jq -r 'if type != "object" then "not a JSON object"
               elif .format != "notfree-history-1" then "format is not notfree-history-1"
               elif (.records | type) != "array" then "no records array"
               else empty end' "$hist" 2>&1) || why="not valid JSON (${why%%$'\n'*})"
  [[ -z $why ]] || die "$hist: $why; left untouched (move it aside to start a new history)"
  old=$hist
else
  old=$(mktemp); trap 'rm -f "$old"' EXIT
  echo '{"format": "notfree-history-1", "records": []}' >"$old"
fi

n=$(jq '.records | length + 1' "$old")
id=$(printf '%04d-%s' "$n" "$(jq -r '.run_id' "$rec")")
mkdir -p "$dir/runs/$id"
files=()
for f in "$@"; do
  cp "$f" "$dir/runs/$id/"
  files+=("runs/$id/$(basename "$f")")
done

tmp="$dir/.history.json.$$"
jq --slurpfile r "$rec" --arg id "$id" '.records += [$r[0] + {id: $id, files: $ARGS.positional}]' \
   --args "${files[@]}" <"$old" >"$tmp" &&
  mv -f "$tmp" "$hist" || { rm -f "$tmp"; die "cannot write $hist"; }
echo "$id"

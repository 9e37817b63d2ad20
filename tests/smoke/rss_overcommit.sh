#!/usr/bin/env bash
# malloc(64 MiB) untouched costs address space, not RSS; touching half of it
# makes half of it resident.
source "$(dirname "$0")/lib.sh"
run '^rss/overcommit/64/'
b=rss/overcommit/64/
d() { jq -en --argjson a "$(field "$b" "$1")" --argjson z "$(field "$b" "$2")" '$a - $z'; }
dm="$(d rss_kib_after_malloc rss_kib_before)"
dh="$(d rss_kib_after_touch_half rss_kib_before)"
dv="$(d vsz_kib_after_malloc vsz_kib_before)"
echo "rss after malloc +$dm KiB, after touching half +$dh KiB, vsz after malloc +$dv KiB"
jq -en --argjson x "$dm" '$x < 1024' >/dev/null || fail "RSS rose by $dm KiB after an untouched malloc"
jq -en --argjson x "$dh" '$x >= 32768 * 0.9 and $x <= 32768 * 1.1' >/dev/null ||
  fail "RSS rose by $dh KiB after touching half of 64 MiB, want 32768 +-10%"
jq -en --argjson x "$dv" '$x >= 65536' >/dev/null || fail "VSZ rose by only $dv KiB after malloc(64 MiB)"

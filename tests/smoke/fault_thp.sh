#!/usr/bin/env bash
# THP: unavailable with a reason where THP is never; else one fault per 2 MiB
# when the kernel really gave huge pages (thp_confirmed says how much it did).
source "$(dirname "$0")/lib.sh"
r="$(NOTFREE_FULL=0 "$notfree" bench --benchmark_filter='^fault/thp/4/' --benchmark_format=json \
     --benchmark_min_time=0.05 2>/dev/null | jq -r '.context.notfree.unavailable["fault/thp"] // empty')" || true
if [ -n "$r" ]; then echo "skip: fault/thp unavailable: $r"; exit 0; fi
run '^fault/thp/4/'
within fault/thp/4/ thp_confirmed 0 1.0001
within fault/thp/4/ ns_per_2m 1 1e9
c="$(field fault/thp/4/ thp_confirmed)"
if jq -en --argjson c "$c" '$c >= 0.99' >/dev/null; then
  within fault/thp/4/ faults_per_2m 0.99 1.01
else
  echo "note: only $c of the region was huge; faults_per_2m not checked"
fi

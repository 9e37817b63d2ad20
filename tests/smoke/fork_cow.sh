#!/usr/bin/env bash
# fork: the latency counters are there and the reap includes the fork;
# COW: whoever writes first after fork takes one fault per page.
source "$(dirname "$0")/lib.sh"
run '^fork/(latency/16|cow_write/child/16|cow_write/parent/16)/'
within fork/latency/16/ fork_ms 0.000001 1000
r="$(field fork/latency/16/ reap_ms)"; f="$(field fork/latency/16/ fork_ms)"
jq -en --argjson r "$r" --argjson f "$f" '$r >= $f' >/dev/null || fail "reap_ms $r < fork_ms $f"
for w in child parent; do
  within "fork/cow_write/$w/16/" faults_per_page 0.99 1.01
  within_if_present "fork/cow_write/$w/16/" perf_faults_per_page 0.99 1.01
done

#!/usr/bin/env bash
# Faulting in through GUP (MAP_POPULATE, MADV_POPULATE_WRITE, mlock): getrusage
# counts one minor fault per page, the perf page-faults event none.
source "$(dirname "$0")/lib.sh"
run '^fault/(populate|populate_write|mlock)/4/'
for m in populate populate_write mlock; do
  b="fault/$m/4/"
  if [ "$(field "$b" name)" = "null" ]; then
    r="$(unavailable "fault/$m")"
    [ -n "$r" ] || fail "fault/$m neither ran nor is listed unavailable"
    echo "skip: fault/$m unavailable: $r"; continue
  fi
  within "$b" faults_per_page 0.99 1.01
  within_if_present "$b" perf_faults_per_page 0 0.01
done

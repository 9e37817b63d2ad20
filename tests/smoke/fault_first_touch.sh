#!/usr/bin/env bash
# First touch: one fault per 4 KiB page, written or read, by both counts.
source "$(dirname "$0")/lib.sh"
run '^fault/first_touch_(write/hot|read)/4/'
for b in fault/first_touch_write/hot/4/ fault/first_touch_read/4/; do
  within "$b" faults_per_page 0.99 1.01
  within_if_present "$b" perf_faults_per_page 0.99 1.01
  within "$b" ns_per_page 1 1e7
done

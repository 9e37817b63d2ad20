#!/usr/bin/env bash
# MADV_DONTNEED drops the pages: the retouch faults once per page.
# MADV_FREE keeps them mapped until memory is short: the rewrite, with no
# memory pressure, does not fault at all.
source "$(dirname "$0")/lib.sh"
run '^fault/(dontneed_retouch|madv_free_rewrite)/4/'
within fault/dontneed_retouch/4/ faults_per_page 0.99 1.01
within_if_present fault/dontneed_retouch/4/ perf_faults_per_page 0.99 1.01
within fault/madv_free_rewrite/4/ faults_per_page 0 0.01

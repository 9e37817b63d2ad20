#!/usr/bin/env bash
# ci/sanitize.sh: the allocator tests under AddressSanitizer (+UBSan) and
# ThreadSanitizer, each in its own build directory, linked (a sanitizer
# runtime owns malloc, so there is no drop-in build and no LD_PRELOAD run).
# Under TSan the stress test leaves fork-with-threads out (tests/dropin).
#
#   ci/sanitize.sh [asan|tsan]...     default: both
# Environment: THREADS, SCALE, ITER for the stress tests (default 4, 50, 1);
# NF_SANITIZE_SUITES (default "alloc conformance stress"; "all" runs every
# suite meson knows, as CI does for ASan).
set -euo pipefail
cd "$(dirname "$0")/.."
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(asan tsan)
suites=${NF_SANITIZE_SUITES:-alloc conformance stress}
export THREADS=${THREADS:-4} SCALE=${SCALE:-50} ITER=${ITER:-1}
# ASan: abort on the first report, no leak check, NULL (not a report) for
# the impossible sizes the conformance test asks for;
# TSan: second_deadlock_stack for readable lock reports.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-second_deadlock_stack=1:halt_on_error=1:allocator_may_return_null=1}

status=0
for k in "${kinds[@]}"; do
    case $k in
    asan) dir=build-asan; san=address,undefined; extra=() ;;
    # gcc warns (-Wtsan) that TSan does not model atomic_thread_fence; keep
    # the warning visible without failing the build on it.
    tsan) dir=build-tsan; san=thread; extra=(-Dc_args=-Wno-error=tsan) ;;
    *) echo "usage: ci/sanitize.sh [asan|tsan]..." >&2; exit 2 ;;
    esac
    start=$(date +%s)
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" -Db_sanitize="$san" -Db_lundef=false -Dbuildtype=debugoptimized "${extra[@]}"
    fi
    ninja -C "$dir"
    args=()
    if [ "$suites" != all ]; then
        for s in $suites; do args+=(--suite "$s"); done
    fi
    if ! meson test -C "$dir" "${args[@]}" --print-errorlogs --num-processes 2; then
        status=1
    fi
    echo "sanitize: $k took $(( $(date +%s) - start )) s"
done
exit $status

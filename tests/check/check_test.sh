#!/usr/bin/env bash
# tests/check/check_test.sh: `notfree check` end to end.
#   cells ALLOC     every cell of ALLOC as check/expected.tsv says; for
#                   notfree's own allocators every `detected` message names
#                   the allocator and the pointer; the JSON is valid
#   fuzz ALLOC      the overflow fuzz and alignments up to 2^63: correct
#   hang LIB        a preload that never returns from a double free: hang
#   color           colored on a terminal, plain into a pipe
#   badflags [sanitized]   bad flags, unknown allocators, a library that is
#                   not there or not an allocator: exit 2, one line
# usage: check_test.sh CASE NOTFREE EXPECTED TMPDIR [ALLOC]
set -u
case_=$1 nf=$2 expected=$3 tmp=$4 alloc=${5:-}
mkdir -p "$tmp"
fail=0
die() { echo "FAIL: $*" >&2; fail=1; }

case $case_ in
cells)
    json="$tmp/check-$alloc.json"
    "$nf" check --allocators "$alloc" --expect "$expected" --json "$json" > "$tmp/check-$alloc.txt"
    rc=$?
    cat "$tmp/check-$alloc.txt"
    [ $rc -eq 0 ] || die "cells of $alloc differ from $expected (exit $rc)"
    jq -e . "$json" > /dev/null || die "$json is not valid JSON"
    n=$(jq '.cells | length' "$json")
    np=$("$nf" check --list | wc -l)
    [ "$n" -eq "$np" ] || die "$n cells in the JSON, $np probes"
    [ "$(jq -r '.context.allocators[0].name' "$json")" = "$alloc" ] || die "context names no $alloc"
    case $alloc in bins|slab|shard)
        # Each message names the allocator and the pointer it was given.
        bad=$(jq -r --arg a "notfree-$alloc" '.cells[] | select(.cell == "detected")
              | select((.message | contains($a)) and (.pointer != null) and (.message | contains(.pointer)) | not)
              | "\(.probe): \(.message)"' "$json")
        [ -z "$bad" ] || die "detected without naming notfree-$alloc and the pointer: $bad"
        nd=$(jq '[.cells[] | select(.cell == "detected")] | length' "$json")
        [ "$nd" -ge 2 ] || die "only $nd misuse cases detected"
    esac
    ;;
fuzz)
    out=$("$nf" check --allocators "$alloc" --format expected \
          --probes fuzz-aligned_alloc,fuzz-memalign,fuzz-posix_memalign,align-max)
    rc=$?
    echo "$out"
    [ $rc -eq 0 ] || die "exit $rc"
    [ "$(echo "$out" | wc -l)" -eq 4 ] || die "want 4 cells"
    echo "$out" | awk -F'\t' '$3 != "correct" { exit 1 }' || die "the fuzz is not correct under $alloc"
    ;;
hang)
    # A preload whose free never returns on a double free: killed at the
    # timeout, the cell is hang, and the run goes on to the next probe.
    start=$(date +%s)
    out=$("$nf" check --allocators "hang=$alloc" --probes double-free,malloc-zero --timeout 2 --format expected)
    rc=$?
    echo "$out"
    [ $rc -eq 0 ] || die "exit $rc"
    echo "$out" | grep -q "^double-free	hang	hang$" || die "double-free is not hang"
    echo "$out" | grep -q "^malloc-zero	hang	correct$" || die "malloc-zero is not correct"
    [ $(( $(date +%s) - start )) -lt 30 ] || die "the hung probe was not killed at its timeout"
    ;;
color)
    # Colored on a terminal (script gives it one), plain into a pipe.
    plain=$("$nf" check --allocators glibc --probes malloc-zero)
    echo "$plain" | grep -q $'\033' && die "escape codes in piped output"
    echo "$plain" | grep -q "^malloc-zero  *correct" || die "no malloc-zero row: $plain"
    tty=$(NO_COLOR= script -qec "$nf check --allocators glibc --probes malloc-zero" /dev/null)
    echo "$tty" | grep -q $'\033\[32mcorrect' || die "no green 'correct' on a terminal: $tty"
    ;;
badflags)
    sanitized=$alloc
    one() {   # want exit 2 and exactly one line on stderr containing $1
        local want=$1; shift
        "$nf" check "$@" > "$tmp/out" 2> "$tmp/err"
        local rc=$? lines
        lines=$(wc -l < "$tmp/err")
        [ $rc -eq 2 ] || die "notfree check $*: exit $rc, want 2"
        [ "$lines" -eq 1 ] || die "notfree check $*: $lines lines on stderr, want 1: $(cat "$tmp/err")"
        grep -q -- "$want" "$tmp/err" || die "notfree check $*: says '$(cat "$tmp/err")', want '$want'"
    }
    one "unknown flag" --bogus
    one "empty item" --allocators glibc,
    one "unknown allocator 'nosuch'" --allocators nosuch
    one "unknown probe 'nosuch'" --probes nosuch
    one "timeout" --timeout 0
    one "format" --format xml
    one "jobs" --jobs 0
    one "needs a value" --json
    one "named twice" --allocators glibc,glibc
    if [ "$sanitized" != sanitized ]; then
        one "cannot open shared object file" --allocators x=/nonexistent.so
        one "not a malloc replacement" --allocators z=/lib/x86_64-linux-gnu/libz.so.1
    fi
    "$nf" check --list | grep -q "^double-free " || die "--list names no double-free"
    "$nf" check --help | grep -q "^usage: notfree check" || die "--help"
    ;;
*)
    echo "unknown case $case_" >&2
    exit 2
    ;;
esac
exit $fail

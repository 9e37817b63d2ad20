#!/usr/bin/env bash
# tests/tour/tour_test.sh CASE NOTFREE
#   quick      `notfree tour --quick --json`: every step ran or says why not;
#              each has figures and a verdict with its reasoning; the kernel's
#              guarantees hold (one fault per page at first touch, mlock's
#              faults before the touch, the OOM kill is SIGKILL and the
#              cgroup's count rose by one, depth x frame within 10% of
#              RLIMIT_STACK, dropped file pages come back as major faults);
#              the Markdown report has a section per step; nothing is left
#   interrupt  SIGINT in the middle of a cgroup step: exit 130, no cgroup,
#              scratch file or child of the tour left behind
#   badflags   unknown flags, steps, missing values: exit 2 and one line
set -uo pipefail
case_=$1 notfree=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [$case_]: $*" >&2; exit 1; }
q() { jq -e "$@" "$tmp/t.json" >/dev/null || fail "jq $*"; }
need_jq() { command -v jq >/dev/null || { echo "SKIP: jq missing"; exit 77; }; }
leftovers() {   # cgroups and scratch files named after pid $1
  find /sys/fs/cgroup -maxdepth 8 -type d -name "notfree-tour-*-$1" 2>/dev/null
  ls "${TMPDIR:-/var/tmp}"/notfree-tour-"$1".dat /var/tmp/notfree-tour-"$1".dat 2>/dev/null
}

case $case_ in
quick)
  need_jq
  "$notfree" tour --quick --json "$tmp/t.json" --report "$tmp/t.md" >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  wait $pid
  rc=$?
  cat "$tmp/out" "$tmp/err"
  [[ $rc -eq 0 ]] || fail "exit $rc"
  n=$("$notfree" tour --list | tail -n +2 | wc -l)
  q ".steps | length == $n"
  q '.steps | all(.verdict == "holds" or .verdict == "holds, with a nuance" or .verdict == "does not hold here"
                  or .verdict == "skipped")'
  q '.steps | map(select(.verdict == "skipped")) | all((.reason | length) > 10)'
  q '.steps | map(select(.verdict != "skipped")) | all((.reasoning | length) > 20 and (.figures | length) > 0)'
  # Each figure names its source; a missing value says so.
  q '[.steps[].figures[]] | all(has("source") and has("unit") and (.value != null or has("unavailable")))'
  # Every invariant a step checked holds.
  q '[.steps[].invariants[].ok] | all'
  inv() {   # step, invariant: present unless the step was skipped
    q "(.steps[] | select(.name == \"$1\")) as \$s | \$s.verdict == \"skipped\" or \$s.invariants.$2.ok == true"
  }
  inv virtual one_fault_per_page
  inv fault one_fault_per_page
  inv mlock faults_before_first_touch
  inv fork one_cow_fault_per_page
  inv stack depth_times_frame_near_limit
  inv reclaim dropped_pages_refault_major
  inv oom sigkill_and_one_kill
  q '(.steps[] | select(.name == "oom")) as $s | $s.verdict == "skipped" or
     ($s.figures.shell_exit_status.value == 137 and $s.figures.cgroup_oom_kill_delta.value == 1)'
  for s in $(jq -r '.steps[].name' "$tmp/t.json"); do
    grep -q "(\`$s\`)" "$tmp/t.md" || fail "no report section for $s"
  done
  grep -q '^\[1/' "$tmp/out" || fail "no step-by-step progress"
  [[ -z $(leftovers $pid) ]] || fail "left behind: $(leftovers $pid)"
  ;;
interrupt)
  # reclaim then oom: both make a cgroup, reclaim a scratch file. The
  # signal goes as soon as one exists and a child runs; a tour that still
  # finished first (exit 0, a loaded box) is run again, three times at most.
  for attempt in 1 2 3; do
    "$notfree" tour --quick --step reclaim,oom --json "$tmp/t.json" >"$tmp/out" 2>&1 &
    pid=$!
    for _ in $(seq 1 400); do
      [[ -n $(leftovers $pid) && -n $(pgrep -P $pid) ]] && break
      sleep 0.02
    done
    [[ -n $(leftovers $pid) ]] || { cat "$tmp/out"; fail "the tour made no cgroup or file to interrupt"; }
    kids=$(pgrep -P $pid)
    kill -INT $pid
    wait $pid
    rc=$?
    [[ $rc -eq 0 ]] && { echo "attempt $attempt: the tour ended before the signal; again"; continue; }
    break
  done
  cat "$tmp/out"
  [[ $rc -eq 130 ]] || fail "exit $rc after SIGINT, expected 130"
  [[ -z $(leftovers $pid) ]] || fail "left behind: $(leftovers $pid)"
  for k in $kids; do
    kill -0 "$k" 2>/dev/null && fail "child $k still running"
  done
  grep -q interrupted "$tmp/out" || fail "no word of the interruption"
  ;;
badflags)
  for args in "--bogus" "--step nope" "--step" "--step fault,,stack" "--json" "--report"; do
    # shellcheck disable=SC2086
    "$notfree" tour $args >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [[ $rc -eq 2 ]] || fail "'$args' exit $rc"
    [[ $(wc -l <"$tmp/err") -eq 1 ]] || fail "'$args': not one line: $(cat "$tmp/err")"
  done
  "$notfree" tour --list >"$tmp/out" || fail "--list failed"
  grep -q "^12 *stack" "$tmp/out" || fail "--list has no stack step"
  "$notfree" tour --help | grep -q -- "--quick" || fail "--help does not name --quick"
  ;;
*) fail "unknown case" ;;
esac
echo "ok [$case_]"

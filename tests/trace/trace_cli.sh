#!/usr/bin/env bash
# trace_cli.sh NOTFREE KNOWN CASE [STRESS]: `notfree trace` as a user meets it.
#   errors   every bad flag or input: one line on stderr, exit 2; a
#            truncated trace refused with its byte offset
#   stats    trace_known's recorded calls as `trace stats` prints them
#   replay   `trace replay` through system, bins, slab, shard: exact, one
#            checksum, exit 0
#   stress   the drop-in stress client (threads come and go, fork): recorded
#            with no call lost, replayed exactly
#   compare  `notfree compare --trace`: the trace's rows in the table and
#            the JSON; a truncated trace refused (2)
#   python, perl, sort, gcc, git, threads: the program recorded prints
#            what it prints without the recorder, and its trace loads with
#            calls in it (skipped, 77, when the program is not installed)
set -u
NF=$(readlink -f "$1") KNOWN=$(readlink -f "$2") CASE=$3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nf-trace.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C PYTHONHASHSEED=0 PERL_HASH_SEED=0 MALLOC_PERTURB_=0
fail() { echo "FAIL [$CASE]: $*"; exit 1; }

# exit2 WHAT ARGS...: exit 2 with one "notfree trace:" line first
exit2() {
    local what=$1; shift
    "$NF" "$@" > "$TMP/out" 2> "$TMP/err"
    local rc=$?
    [ $rc -eq 2 ] || fail "$what: exit $rc, want 2 ($(head -2 "$TMP/err"))"
    head -1 "$TMP/err" | grep -q '^notfree trace: ' || fail "$what: no one-line error: $(head -2 "$TMP/err")"
    grep -qi 'segmentation\|abort\|assert' "$TMP/err" && fail "$what: crashed"
    echo "ok: $what -> $(head -1 "$TMP/err")"
}

# recorded OUT CMD...: plain and recorded runs print the same; the trace has events
recorded() {
    local out=$1; shift
    "$@" > "$TMP/$out.plain" 2> "$TMP/$out.plain.err" || fail "plain run failed: $(tail -3 "$TMP/$out.plain.err")"
    "$NF" trace record --out "$TMP/$out.nft" -- "$@" > "$TMP/$out.rec" 2> "$TMP/$out.rec.err" \
        || fail "recorded run failed: $(tail -5 "$TMP/$out.rec.err")"
    cmp -s "$TMP/$out.plain" "$TMP/$out.rec" || fail "outputs differ: $(diff "$TMP/$out.plain" "$TMP/$out.rec" | head -5)"
    "$NF" trace stats "$TMP/$out.nft" > "$TMP/$out.stats" || fail "trace stats failed on the recording"
    local n
    n=$(sed -n 's/^events: \([0-9]*\) .*/\1/p' "$TMP/$out.stats")
    [ "${n:-0}" -gt 10 ] || fail "only ${n:-0} events recorded"
    echo "ok: $* -> $n events; $(grep '^notfree trace: .*events of' "$TMP/$out.rec.err" | cut -c1-200)"
}

case $CASE in
errors)
    "$NF" trace record --out "$TMP/k.nft" -- "$KNOWN" known 2> /dev/null || fail "cannot record trace_known"
    exit2 "no subcommand" trace
    exit2 "unknown subcommand" trace bogus
    exit2 "stats without a file" trace stats
    exit2 "stats of a missing file" trace stats "$TMP/none.nft"
    exit2 "stats of two files" trace stats "$TMP/k.nft" "$TMP/k.nft"
    exit2 "stats with a stray flag" trace stats "$TMP/k.nft" --jsn
    exit2 "stats of a directory" trace stats "$TMP"
    exit2 "replay without --allocator" trace replay "$TMP/k.nft"
    exit2 "replay of an unknown allocator" trace replay "$TMP/k.nft" --allocator nope
    exit2 "replay with an empty allocator item" trace replay "$TMP/k.nft" --allocator bins,
    exit2 "replay with a bad --touch" trace replay "$TMP/k.nft" --allocator system --touch some
    exit2 "replay with a bad --reps" trace replay "$TMP/k.nft" --allocator system --reps 0
    exit2 "replay with a stray flag" trace replay "$TMP/k.nft" --allocator system --fast
    exit2 "record without --out" trace record -- true
    exit2 "record without a program" trace record --out "$TMP/x.nft"
    exit2 "record into a missing directory" trace record --out "$TMP/no/such/x.nft" -- true
    exit2 "record of a missing program" trace record --out "$TMP/x.nft" -- /no/such/program
    exit2 "record with a bad --process" trace record --out "$TMP/x.nft" --process some -- true
    printf 'hello, not a trace at all, 40 bytes long....' > "$TMP/text"
    exit2 "stats of a text file" trace stats "$TMP/text"
    size=$(stat -c %s "$TMP/k.nft")
    head -c $((size / 2)) "$TMP/k.nft" > "$TMP/half.nft"
    exit2 "stats of a truncated trace" trace stats "$TMP/half.nft"
    grep -q "truncated at byte [0-9]*" "$TMP/err" || fail "no offset in: $(cat "$TMP/err")"
    off=$(sed -n 's/.*truncated at byte \([0-9]*\).*/\1/p' "$TMP/err" | head -1)
    [ "$off" -le $((size / 2)) ] || fail "offset $off past the $((size / 2)) bytes left"
    exit2 "replay of a truncated trace" trace replay "$TMP/half.nft" --allocator system
    [ -e "$TMP/x.nft" ] && fail "a refused record left $TMP/x.nft"
    ;;
stats)
    "$NF" trace record --out "$TMP/k.nft" -- "$KNOWN" known 2> "$TMP/rec.err" || fail "record: $(cat "$TMP/rec.err")"
    "$NF" trace stats "$TMP/k.nft" > "$TMP/stats" || fail "stats failed"
    cat "$TMP/stats"
    for want in "malloc 100" "calloc 10" "realloc 5" "free 118" "memalign 1" "posix_memalign 3" "aligned_alloc 2"; do
        set -- $want
        grep -qE "^  $1 +$2\$" "$TMP/stats" || fail "no '$1 $2' line"
    done
    grep -q "^live: peak .*(104950 bytes)" "$TMP/stats" || fail "peak live is not 104950 bytes"
    grep -q "^threads: 1;" "$TMP/stats" || fail "not one thread"
    if command -v jq > /dev/null; then
        "$NF" trace stats "$TMP/k.nft" --json > "$TMP/stats.json" || fail "stats --json failed"
        jq -e '.calls.malloc == 100 and .calls.free == 118 and .calls.posix_memalign == 3 and .live.peak_bytes == 104950
               and .threads == 1 and (.thread_events | length) == 1' "$TMP/stats.json" > /dev/null \
            || fail "stats --json: $(cat "$TMP/stats.json")"
    fi
    ;;
replay)
    "$NF" trace record --out "$TMP/k.nft" -- "$KNOWN" threads 2 2> /dev/null || fail "cannot record"
    "$NF" trace replay "$TMP/k.nft" --allocator system,bins,slab,shard --reps 1 > "$TMP/replay" 2> "$TMP/err" \
        || fail "replay exit $?: $(cat "$TMP/replay" "$TMP/err")"
    cat "$TMP/replay"
    [ "$(grep -cE '^(system|bins|slab|shard) .* yes +[0-9]+  ok$' "$TMP/replay")" = 4 ] || fail "not 4 exact, ok rows"
    [ "$(grep -E '^(system|bins|slab|shard) ' "$TMP/replay" | awk '{print $7}' | sort -u | wc -l)" = 1 ] \
        || fail "checksums differ"
    ;;
compare)
    "$NF" trace record --out "$TMP/k.nft" -- "$KNOWN" threads 2 2> /dev/null || fail "cannot record"
    "$NF" compare --trace "$TMP/k.nft" --workloads small-churn --allocators glibc,bins --threads 1,2 --reps 1 \
        --scale 0.01 --no-plots --out "$TMP/cmp.json" > "$TMP/table" 2> "$TMP/err" || fail "compare exit $?: $(tail -3 "$TMP/err")"
    cat "$TMP/table"
    [ "$(grep -cE '^trace:k.nft +[12] (glibc|bins) ' "$TMP/table")" = 4 ] || fail "not 4 trace rows in the table"
    grep -q '"workload": *"trace:k.nft"' "$TMP/cmp.json" || fail "no trace:k.nft run in the JSON"
    grep -q '"trace": *"' "$TMP/cmp.json" || fail "the JSON context does not name the trace file"
    head -c 100 "$TMP/k.nft" > "$TMP/cut.nft"
    "$NF" compare --trace "$TMP/cut.nft" --workloads small-churn --allocators glibc --reps 1 --no-plots \
        --out "$TMP/cmp2.json" > /dev/null 2> "$TMP/err2"
    rc=$?
    [ $rc -eq 2 ] || fail "compare --trace of a truncated file: exit $rc, want 2"
    grep -q "truncated at byte" "$TMP/err2" || fail "no offset: $(cat "$TMP/err2")"
    ;;
stress)
    # tests/dropin's stress client through the process's malloc: threads
    # that come and go, cross-thread frees, realloc, fork with threads
    STRESS=$(readlink -f "$4")
    THREADS=4 SCALE=20 ITER=1 "$NF" trace record --out "$TMP/st.nft" -- "$STRESS" --libc > "$TMP/st.out" 2> "$TMP/st.err" \
        || fail "recorded stress failed: $(tail -5 "$TMP/st.out" "$TMP/st.err")"
    grep -q "errors=0" "$TMP/st.out" || fail "the stress client found errors: $(tail -3 "$TMP/st.out")"
    grep -q "note:" "$TMP/st.err" && fail "the recording lost calls: $(grep note: "$TMP/st.err")"
    "$NF" trace stats "$TMP/st.nft" > "$TMP/st.stats" || fail "stats failed"
    t=$(sed -n 's/^threads: \([0-9]*\);.*/\1/p' "$TMP/st.stats")
    [ "${t:-0}" -ge 5 ] || fail "${t:-0} threads in the trace"
    "$NF" trace replay "$TMP/st.nft" --allocator system,bins --reps 1 > "$TMP/st.replay" 2>&1 || fail "replay: $(cat "$TMP/st.replay")"
    [ "$(grep -cE '^(system|bins) .* yes +[0-9]+  ok$' "$TMP/st.replay")" = 2 ] || fail "not exact: $(cat "$TMP/st.replay")"
    echo "ok: $(grep 'events of' "$TMP/st.err" | cut -c1-160)"
    ;;
threads)
    recorded thr "$KNOWN" threads 8
    grep -q "^threads: 9;" "$TMP/thr.stats" || fail "not 9 threads: $(grep '^threads' "$TMP/thr.stats")"
    ;;
python)
    PY=$(command -v /usr/bin/python3 || command -v python3) || { echo "python3 not installed: skipped"; exit 77; }
    recorded py "$PY" -c '
import threading
d = {}
for i in range(100000):
    d["k%d" % i] = [i, str(i) * (i % 7)]
def work(n):
    return sum(len(str(x) * 50) for x in range(n))
ts = [threading.Thread(target=work, args=(20000,)) for _ in range(3)]
[t.start() for t in ts]; [t.join() for t in ts]
print(len(d), sorted(d)[:3])'
    ;;
perl)
    command -v perl > /dev/null || { echo "perl not installed: skipped"; exit 77; }
    recorded pl perl -e 'my %h; for my $i (1..100000) { $h{"k$i"} = [$i, "v" x ($i % 50)] }
        my @k = sort keys %h; delete $h{"k$_"} for grep { $_ % 3 == 0 } 1..100000;
        print scalar(@k), " ", scalar(keys %h), "\n";'
    ;;
sort)
    command -v sort > /dev/null || { echo "sort not installed: skipped"; exit 77; }
    perl -e 'my $x = 12345; for (1..200000) { $x = ($x * 1103515245 + 12345) % 2147483648;
             printf "%08x line %d %s\n", $x, $_, "z" x ($x % 40) }' > "$TMP/in.txt"
    recorded sort sort "$TMP/in.txt"
    ;;
gcc)
    command -v gcc > /dev/null || { echo "gcc not installed: skipped"; exit 77; }
    perl -e 'for my $i (1..60) { print "struct s$i { int a[$i % 17 + 1]; double d; };\n",
             "int f$i(int x) { struct s$i v = {{0}, 0}; for (int k = 0; k < x; k++) v.a[k % ($i % 17 + 1)] += k * $i; ",
             "return x > 0 ? v.a[0] + f", ($i > 1 ? $i - 1 : 1), "(x - 1) : 0; }\n" }
             print "int main(void) { return f60(3) & 1; }\n"' > "$TMP/gen.c"
    cd "$TMP" || exit 1
    recorded cc bash -c "gcc -O2 -c gen.c -o gen.o && od -An -tx1 gen.o | md5sum"
    grep -q "cc1" "$TMP/cc.rec.err" || fail "the largest image is not cc1: $(grep events "$TMP/cc.rec.err")"
    ;;
git)
    command -v git > /dev/null || { echo "git not installed: skipped"; exit 77; }
    cat > "$TMP/git.sh" <<'GIT'
set -e
D=$(mktemp -d "$TMP/repo.XXXXXX")
cd "$D"
export HOME=$D GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=notfree GIT_AUTHOR_EMAIL=lab@notfree GIT_COMMITTER_NAME=notfree GIT_COMMITTER_EMAIL=lab@notfree
export GIT_AUTHOR_DATE=2020-01-01T00:00:00Z GIT_COMMITTER_DATE=2020-01-01T00:00:00Z
git init -q -b main .
for i in $(seq 1 10); do
    seq 1 $((i * 300)) | sed "s/^/line $i /" > "f$((i % 4)).txt"
    git add -A && git commit -q -m "commit $i"
done
git log --format='%H %s' | head -3
git gc -q
git fsck --no-dangling > /dev/null && echo fsck-ok
GIT
    export TMP
    recorded git bash "$TMP/git.sh"
    ;;
*)
    echo "unknown case $CASE"; exit 2 ;;
esac
echo "ok $CASE"

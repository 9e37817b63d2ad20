#!/usr/bin/env bash
# preload_test.sh LIB NAME CASE: a real program under LD_PRELOAD=LIB.
# Each case runs the program twice, without and with the library, and
# requires the same output; the preloaded run must print notfree-stats
# lines (NOTFREE_STATS=1): one per process, keys in order, allocator NAME,
# and malloc > 0 in at least one. Case `maps` checks /proc/<pid>/maps of a
# preloaded process, and that NOTFREE_STATS=2 adds the path counts.
set -u
LIB=$1 NAME=$2 CASE=$3
[ -f "$LIB" ] || { echo "no library $LIB"; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nf-preload.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C PYTHONHASHSEED=0 PERL_HASH_SEED=0 MALLOC_PERTURB_=0
unset NOTFREE_STATS

fail() { echo "FAIL [$CASE]: $*"; exit 1; }

# stats_ok FILE: the stats lines of a preloaded run are well formed.
stats_ok() {
    local re="^notfree-stats: allocator=$NAME pid=[0-9]+ malloc=([0-9]+) free=[0-9]+ realloc=[0-9]+ peak_live=[0-9]+ mapped=[0-9]+ peak_mapped=[0-9]+ page_calls=[0-9]+( |$)"
    local lines good pids upids
    lines=$(grep -c '^notfree-stats:' "$1")
    good=$(grep -cE "$re" "$1")
    [ "$lines" -ge 1 ] || fail "no notfree-stats line on stderr"
    [ "$lines" = "$good" ] || fail "malformed stats line(s): $(grep '^notfree-stats:' "$1" | grep -vE "$re" | head -2)"
    pids=$(grep -oE '^notfree-stats: allocator=[^ ]+ pid=[0-9]+' "$1" | sort | wc -l)
    upids=$(grep -oE '^notfree-stats: allocator=[^ ]+ pid=[0-9]+' "$1" | sort -u | wc -l)
    [ "$pids" = "$upids" ] || fail "a process printed more than one stats line"
    grep -E "$re" "$1" | sed -E "s/$re.*/\1/" | awk '$1 > 0 { ok = 1 } END { exit !ok }' \
        || fail "no process shows malloc > 0"
    echo "stats: $lines process(es); first: $(grep -m1 '^notfree-stats:' "$1" | cut -c1-160)"
}

# pair OUTNAME CMD...: run plain and preloaded, compare stdout, check stats.
pair() {
    local out=$1; shift
    "$@" > "$TMP/$out.plain" 2> "$TMP/$out.plain.err" || fail "plain run failed: $(tail -3 "$TMP/$out.plain.err")"
    NOTFREE_STATS=1 LD_PRELOAD="$LIB" "$@" > "$TMP/$out.pre" 2> "$TMP/$out.pre.err" \
        || fail "preloaded run failed: $(grep -v '^notfree-stats' "$TMP/$out.pre.err" | tail -5)"
    cmp -s "$TMP/$out.plain" "$TMP/$out.pre" || fail "outputs differ: $(diff "$TMP/$out.plain" "$TMP/$out.pre" | head -5)"
    stats_ok "$TMP/$out.pre.err"
}

case $CASE in
python)
    PY=$(command -v /usr/bin/python3 || command -v python3)
    cat > "$TMP/big.py" <<'EOF'
import hashlib
d = {}
for i in range(300000):
    d["k%d" % (i * 7919 % 1000003)] = [i, str(i) * (i % 7), (i, i * 2)]
keys = sorted(d)
s = sum(len(v[1]) for v in d.values())
big = [list(range(i % 200)) for i in range(40000)]
for i in range(0, 300000, 3):
    d.pop("k%d" % (i * 7919 % 1000003), None)
text = " ".join(str(x) for x in range(200000))
print(len(d), s, sum(map(len, big)), len(text))
print(hashlib.sha256("".join(keys[:20000]).encode()).hexdigest())
print(sorted({x * 7 % 1000 for x in range(100000)})[:10])
EOF
    pair py "$PY" "$TMP/big.py"
    ;;
perl)
    pair pl perl -e '
        my %h; for my $i (1..200000) { $h{"k$i"} = [$i, "v" x ($i % 50)] }
        my @k = sort keys %h; delete $h{"k$_"} for grep { $_ % 3 == 0 } 1..200000;
        my $s = ""; $s .= "x$_" for 1..100000;
        print scalar(@k), " ", scalar(keys %h), " ", length(join(",", @k[0..999])), " ", length($s), "\n";'
    ;;
sort)
    perl -e 'my $x = 12345; for (1..400000) { $x = ($x * 1103515245 + 12345) % 2147483648;
             printf "%08x line %d %s\n", $x, $_, "z" x ($x % 40) }' > "$TMP/in.txt"
    pair sort sort "$TMP/in.txt"
    [ "$(wc -l < "$TMP/sort.pre")" = 400000 ] || fail "sort lost lines"
    ;;
gcc)
    CC=${CC:-gcc}
    perl -e 'for my $i (1..300) { print "struct s$i { int a[$i % 17 + 1]; double d; };\n",
             "int f$i(int x) { struct s$i v = {{0}, 0}; for (int k = 0; k < x; k++) v.a[k % ($i % 17 + 1)] += k * $i; ",
             "switch (x % 5) { case 0: return v.a[0]; case 1: return f", ($i > 1 ? $i - 1 : 1), "(x - 1); default: return (int)v.d + x; } }\n" }
             print "int main(void) { return f300(3) & 1; }\n"' > "$TMP/gen.c"
    cd "$TMP" || exit 1
    pair cc bash -c "$CC -O2 -c gen.c -o gen.o && od -An -tx1 gen.o | md5sum"
    n=$(grep -c '^notfree-stats:' "$TMP/cc.pre.err")
    [ "$n" -ge 2 ] || fail "gcc ran $n preloaded process(es); expected the driver and cc1 at least"
    ;;
git)
    command -v git > /dev/null || { echo "git not installed: skipped"; exit 77; }
    cat > "$TMP/git.sh" <<'EOF'
set -e
D=$(mktemp -d "$TMP/repo.XXXXXX")
cd "$D"
export HOME=$D GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=notfree GIT_AUTHOR_EMAIL=lab@notfree GIT_COMMITTER_NAME=notfree GIT_COMMITTER_EMAIL=lab@notfree
git init -q -b main .
for i in $(seq 1 30); do
    export GIT_AUTHOR_DATE="2020-01-01T00:00:$(printf %02d $i)Z" GIT_COMMITTER_DATE="2020-01-01T00:00:$(printf %02d $i)Z"
    seq 1 $((i * 200)) | sed "s/^/line $i /" > "f$((i % 7)).txt"
    git add -A && git commit -q -m "commit $i"
done
git log --format='%H %s' | head -5
git rev-list --count HEAD
git gc -q
git fsck --no-dangling > /dev/null && echo fsck-ok && git log -p --stat HEAD~3..HEAD | md5sum
EOF
    export TMP
    pair git bash "$TMP/git.sh"
    ;;
maps)
    NOTFREE_STATS=1 LD_PRELOAD="$LIB" sleep 20 2> "$TMP/sleep.err" &
    pid=$!
    for _ in $(seq 1 50); do grep -q "$(basename "$LIB")" "/proc/$pid/maps" 2>/dev/null && break; sleep 0.1; done
    grep -q "$(basename "$LIB")" "/proc/$pid/maps" || { kill "$pid"; fail "$(basename "$LIB") not in /proc/$pid/maps"; }
    kill "$pid"; wait "$pid" 2>/dev/null
    echo "mapped in /proc/$pid/maps"
    NOTFREE_STATS=1 LD_PRELOAD="$LIB" cat /proc/self/maps > "$TMP/maps" 2> "$TMP/cat.err"
    grep -q "$(basename "$LIB")" "$TMP/maps" || fail "not in a preloaded cat's own maps"
    stats_ok "$TMP/cat.err"
    ! grep -q ' path_' "$TMP/cat.err" || fail "NOTFREE_STATS=1 printed path counts"
    # NOTFREE_STATS=2: the same line, then the allocator's path counts
    NOTFREE_STATS=2 LD_PRELOAD="$LIB" sort /proc/self/maps > /dev/null 2> "$TMP/sort.err"
    stats_ok "$TMP/sort.err"
    grep -qE ' path_[a-z_]+=[0-9]+( |$)' "$TMP/sort.err" || fail "NOTFREE_STATS=2 printed no path counts: $(head -c 300 "$TMP/sort.err")"
    echo "NOTFREE_STATS=2: $(grep -oE ' path_[a-z_]+=' "$TMP/sort.err" | wc -l) path counts"
    ;;
*)
    echo "unknown case $CASE"; exit 2 ;;
esac
echo "ok $CASE"

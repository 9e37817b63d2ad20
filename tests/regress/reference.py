#!/usr/bin/env python3
"""Reference values for tests/regress/test_stats.c, by brute force.

Run by hand (python3 tests/regress/reference.py); its output is pasted into
the C test as constants. Nothing here shares code with regress/stats.c: the
exact p-values enumerate every way of choosing which ranks belong to x
(itertools.combinations), the normal approximation is written from the
textbook formula, and Hodges-Lehmann sorts all pairwise differences.
"""
import itertools, math

def u_stat(x, y):
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in x for b in y)

def exact_dist(n, m):
    counts = {}
    for xs in itertools.combinations(range(n + m), n):
        s = set(xs)
        u = sum(1 for a in xs for b in range(n + m) if b not in s and a > b)
        counts[u] = counts.get(u, 0) + 1
    tot = math.comb(n + m, n)
    return {u: c / tot for u, c in counts.items()}

def exact_p(x, y):
    n, m = len(x), len(y)
    u = u_stat(x, y)
    far = max(u, n * m - u)
    d = exact_dist(n, m)
    return u, min(1.0, 2 * sum(p for k, p in d.items() if k >= far))

def normal_p(x, y):
    n, m = len(x), len(y)
    u = u_stat(x, y)
    N = n + m
    allv = sorted(x + y)
    ties = sum(t**3 - t for t in (allv.count(v) for v in set(allv)))
    var = n * m / 12 * ((N + 1) - ties / (N * (N - 1)))
    far = max(u, n * m - u)
    z = (far - n * m / 2 - 0.5) / math.sqrt(var)
    return u, min(1.0, math.erfc(z / math.sqrt(2)))

def hl(x, y, level):
    d = sorted(b - a for a in x for b in y)
    nm = len(d)
    med = d[nm // 2] if nm % 2 else (d[nm // 2 - 1] + d[nm // 2]) / 2
    dist = exact_dist(len(x), len(y))
    half = (1 - level) / 2
    c, cum = 0, 0.0
    while c < nm:
        cum += dist.get(c, 0.0)
        if cum > half + 1e-12:
            break
        c += 1
    if c < 1:
        return med, None
    return med, (d[c - 1], d[nm - c])

cases = {
 "sep5": ([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]),
 "u2_5x5": ([1, 2, 3, 4.5, 5.5], [4, 6, 7, 8, 9]),
 "3x4": ([1.1, 3.3, 5.5], [2.2, 4.4, 6.6, 7.7]),
 "sep7": ([100, 101, 102, 103, 104, 105, 106], [130, 131, 132, 133, 134, 135, 136]),
 "8x6": ([3.1, 4.7, 2.2, 5.9, 6.3, 1.8, 7.4, 4.1], [5.2, 8.8, 6.9, 9.7, 7.7, 3.5]),
}
for k, (x, y) in cases.items():
    print(k, "U=%r p=%.17g" % exact_p(x, y))
tied = ([1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 7, 8], [3, 4, 4, 5, 6, 6, 7, 8, 8, 9])
print("tied normal U=%r p=%.17g" % normal_p(*tied))
big = ([i * 1.0 for i in range(40)], [i + 7.5 for i in range(35)])
print("big normal U=%r p=%.17g" % normal_p(*big))
for k in ["sep7", "8x6", "u2_5x5"]:
    for lv in (0.95, 0.99):
        print(k, "HL level", lv, hl(*cases[k], lv))
print("HL 2x2", hl([1, 2], [3, 4], 0.99))

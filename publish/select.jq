# publish/select.jq: which record of a results file stands for each bench,
# for the report's figures and tables (included by figures.jq and
# table.jq). The same choice as plots/extract.sh makes for the charts: the
# median aggregate that Google Benchmark computed where repetitions ran,
# else the iteration with the median real time; errored and skipped runs
# are left out. `.base` is the name without the run suffixes
# (/manual_time, /iterations:N, ...).

# Google Benchmark writes NaN/Infinity for unavailable counters; jq reads
# them as numbers, so a figure must also be finite to be good.
def nf_good: type == "number" and (isnan | not) and (isinfinite | not);

def nf_base: (.run_type == "aggregate") as $agg | (.run_name // .name)
  | (if $agg then sub("_(mean|median|stddev|cv|min|max)$"; "") else . end)
  | split("/")
  | map(select(test("^(manual_time|real_time|process_time|iterations:[0-9]+|repeats:[0-9]+|threads:[0-9]+|min_time:.*|min_warmup_time:.*)$") | not))
  | join("/");

def nf_benches:
  [ .benchmarks[]
    | select(.error_occurred != true and .skipped != true)
    | select(.run_type != "aggregate" or .aggregate_name == "median")
    | . + {base: nf_base} ]
  | group_by(.base)
  | map((map(select(.run_type == "aggregate")) | first)
        // (sort_by(.real_time) | .[(length - 1) / 2 | floor]))
  | .[];

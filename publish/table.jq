# publish/table.jq: the run's summary as HTML table rows, one per bench:
# name, time (with its unit), then each counter as value, unit-bearing
# name and source. Reads the values the results file holds (the median
# aggregate where repetitions ran, publish/select.jq), computes none.
#   jq -r -L report -f publish/table.jq RUN.json
include "select";

# Where a counter comes from: the naming rules of benches/METHOD.md, as
# `notfree run` prints them (cli/cmd_run.c, source_of).
def source_of: if startswith("model_") then "model" elif test("perf_") then "perf"
  elif test("faults") then "rusage" elif test("_kib|thp_confirmed") then "proc" else "timing" end;

def fmt: if nf_good | not then "unavailable"
  elif (fabs >= 1e4 and fabs < 1e15) then (round | tostring)
  elif fabs >= 100 then ((. * 10 | round) / 10 | tostring)
  elif fabs >= 1 then ((. * 1000 | round) / 1000 | tostring)
  else ((. * 1e6 | round) / 1e6 | tostring) end;

# Keys of a Google Benchmark record that are not counters.
def fixed: ["name","run_name","run_type","repetitions","repetition_index","threads","iterations",
  "real_time","cpu_time","time_unit","family_index","per_family_instance_index","aggregate_name",
  "aggregate_unit","label","error_occurred","error_message","skipped","skip_message","base"];

# A time in the unit that fits it (ns, µs, ms, s), as `notfree run` prints
# it: 136.7 ms, not 136710 us.
def time_text($unit): (. * ({"s": 1e9, "ms": 1e6, "us": 1e3}[$unit] // 1)) as $ns
  | [["ns", 1], ["\u00b5s", 1e3], ["ms", 1e6], ["s", 1e9]]
  | (map(select($ns >= .[1] * 0.99995)) | last // .[0]) as $u
  | "\($ns / $u[1] | fmt) \($u[0])";

[nf_benches] | sort_by(.family_index // 0, .per_family_instance_index // 0)[]
| . as $b
| "<tr><td class=name>\(.base | @html)\(if .run_type == "aggregate" then "<sup title=\"median over \(.repetitions // "the") repetitions\">*</sup>" else "" end)</td>"
  + "<td class=num data-v=\"\(.real_time * ({"s": 1e9, "ms": 1e6, "us": 1e3}[.time_unit] // 1))\">\(.real_time | time_text($b.time_unit))</td>"
  + "<td class=figs>"
  + ([to_entries[] | select(.key as $k | fixed | index([$k]) | not) | select(.value | type == "number")
      | "<span class=fig><span class=fk>\(.key | @html)</span> <span class=fv>\(.value | fmt)</span> <span class=\"src src-\(.key | source_of)\">\(.key | source_of)</span></span>"]
     | join(" "))
  + "</td></tr>"

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

def unit_name: if . == "us" then "\u00b5s" else . end;

[nf_benches] | sort_by(.family_index // 0, .per_family_instance_index // 0)[]
| . as $b
| "<tr><td class=name>\(.base | @html)\(if .run_type == "aggregate" then "<sup title=\"median over \(.repetitions // "the") repetitions\">*</sup>" else "" end)</td>"
  + "<td class=num data-v=\"\(.real_time)\">\(.real_time | fmt) \(.time_unit | unit_name)</td>"
  + "<td class=figs>"
  + ([to_entries[] | select(.key as $k | fixed | index([$k]) | not) | select(.value | type == "number")
      | "<span class=fig><span class=fk>\(.key | @html)</span> <span class=fv>\(.value | fmt)</span> <span class=\"src src-\(.key | source_of)\">\(.key | source_of)</span></span>"]
     | join(" "))
  + "</td></tr>"

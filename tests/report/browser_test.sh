#!/usr/bin/env bash
# tests/report/browser_test.sh SOURCE_ROOT BUILD_DIR
# Headless Chromium loads a published report (the sample results, with a
# history of two publishes): every image on the page has loaded (natural
# width > 0) and the page raised no error and logged no console error.
# How: a copy of index.html with a probe script first in <head> that
# records errors (window errors, failed resources, console.error) and, on
# load, writes the images' state into the DOM, which --dump-dom prints.
# A control page with a missing image and a script error must be caught.
# Then a screenshot of the real page: BUILD_DIR/report-screenshot.png.
# Skips (77) without chromium, unless NF_WITH_BROWSER=1 (CI: .ci/run) or
# CI=true, where a missing browser fails.
set -euo pipefail

root=${1:?usage: browser_test.sh SOURCE_ROOT BUILD_DIR}
build=${2:?usage: browser_test.sh SOURCE_ROOT BUILD_DIR}
here=$root/tests/report
fail() { echo "FAIL: $*" >&2; exit 1; }

browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $browser ]]; then
  if [[ ${NF_WITH_BROWSER:-} == 1 || ${CI:-} == true ]]; then
    fail "chromium not found, and this run needs the browser test (NF_WITH_BROWSER=1 or CI): ci/install-deps.sh --with-browser installs it"
  fi
  echo "SKIP: chromium not found (Debian package chromium, large): install it with ci/install-deps.sh --with-browser"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for c in 1111111111 2222222222; do
  NF_PUBLISH_COMMIT=$c "$root/ci/publish.sh" --history "$tmp/hist" --run "$here/run-sample.json" \
    --compare "$here/compare-sample.json" "$tmp/report" >"$tmp/publish.log" 2>&1 ||
    { cat "$tmp/publish.log"; fail "ci/publish.sh exited $?"; }
done

chrome() {   # a fresh profile each time, nothing from the network
  local profile; profile=$(mktemp -d "$tmp/profile.XXXX")
  timeout 90 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --enable-logging=stderr --v=0 "$@"
}

probe='<script>
window.nfErrors = [];
addEventListener("error", function (e) {
  var t = e.target;
  nfErrors.push(t && t !== window ? "failed to load " + (t.src || t.href) : "error: " + e.message);
}, true);
addEventListener("unhandledrejection", function (e) { nfErrors.push("unhandled rejection: " + e.reason); });
(function () { var ce = console.error; console.error = function () {
  nfErrors.push("console.error: " + Array.prototype.join.call(arguments, " ")); ce.apply(console, arguments); }; })();
addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var pre = document.createElement("pre"); pre.id = "nf-probe";
  pre.textContent = JSON.stringify({images: imgs.length,
    unloaded: imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; })
                  .map(function (i) { return i.getAttribute("src"); }),
    errors: nfErrors});
  document.body.appendChild(pre);
});
</script>'

# PAGE -> the probe's JSON on stdout (the console's lines in $tmp/console.log).
run_probe() {
  local page=$1 probed; probed="$(dirname "$1")/probed-$(basename "$1")"
  python3 - "$page" "$probed" "$probe" <<'PY'
import sys
src, dst, probe = sys.argv[1:4]
html = open(src, encoding="utf-8").read()
i = html.index("<head>") + len("<head>")
open(dst, "w", encoding="utf-8").write(html[:i] + probe + html[i:])
PY
  chrome --virtual-time-budget=15000 --dump-dom "file://$probed" 2>"$tmp/console.log" >"$tmp/dom.html" ||
    fail "chromium exited $? on $page"
  python3 - "$tmp/dom.html" <<'PY'
import html, re, sys
m = re.search(r'<pre id="nf-probe">(.*?)</pre>', open(sys.argv[1], encoding="utf-8").read(), re.S)
print(html.unescape(m.group(1)) if m else '{"missing": true}')
PY
}

# The control: the probe must catch a missing image and a script error.
cat >"$tmp/report/control.html" <<'EOF2'
<!doctype html><html><head><title>control</title></head><body>
<img src="no-such-chart.svg"><img src="run-sample-fault_cost.svg"><script>undefinedFunction();</script></body></html>
EOF2
c=$(run_probe "$tmp/report/control.html")
jq -e '.images == 2 and (.unloaded == ["no-such-chart.svg"]) and (.errors | length >= 2)
       and (.errors | any(test("undefinedFunction")))' <<<"$c" >/dev/null ||
  fail "the probe did not catch the control page's missing image and script error: $c"
echo "ok: the probe catches a missing image and a script error ($c)"

r=$(run_probe "$tmp/report/index.html")
jq -e '.missing | not' <<<"$r" >/dev/null || fail "the page never finished loading (no probe result)"
n=$(jq '.images' <<<"$r")
[[ $n -ge 8 ]] || fail "only $n images on the page (4 run charts, 3 comparison charts, a trend chart expected)"
jq -e '.unloaded == []' <<<"$r" >/dev/null || fail "images that did not load: $(jq -c .unloaded <<<"$r")"
jq -e '.errors == []' <<<"$r" >/dev/null || fail "errors on the page: $(jq -c .errors <<<"$r")"
if grep -E ':CONSOLE\(' "$tmp/console.log" | grep -v 'probed-control' | grep -q .; then
  grep -E ':CONSOLE\(' "$tmp/console.log" >&2; fail "the page logged to the console"
fi
echo "ok: all $n images loaded (natural width > 0), no error, no console message"

shot=$build/report-screenshot.png
chrome --window-size=1440,2200 --screenshot="$shot" "file://$tmp/report/index.html" >/dev/null 2>&1 ||
  fail "chromium could not take the screenshot"
[[ $(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$shot: not a PNG"
[[ $(stat -c %s "$shot") -gt 50000 ]] || fail "$shot: $(stat -c %s "$shot") bytes: a blank page?"
echo "ok: screenshot $shot ($(stat -c %s "$shot") bytes)"

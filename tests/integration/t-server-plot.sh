#!/bin/bash
# t-server-plot: a record as charts on the host. trend_shapes
# (tests/victims/trend_shapes.c) is attached unattended (`memtrace -p
# --console none --sample 0.2 --record rec.jsonl`, ended by SIGTERM), then
# `memtrace-server --plot rec.jsonl -o plot.html /`:
#   - the page names the steady leak by its decoded function and file:line
#     ("leak_slowly (.../trend_shapes.c:N)") in the chart's legend and the
#     table, each point has a tooltip (<title>), and it is self-contained:
#     inline SVG and CSS, no script, no src, href or url() to fetch;
#   - Debian's Chromium, headless, renders it: the screenshot is a chart,
#     not a blank page (at least 2 % of its pixels inked, in at least 10
#     colours, tests/tools/pngstat.py);
#   - the record as exports (`--report rec.jsonl --folded`, `--pprof -o`):
#     the leak's folded line ends in leak_slowly, and `go tool pprof -top`
#     lists it by its in-use bytes; a saved report too (server_leak's, raw,
#     decoded with its unstripped build);
#   - bad input says what is wrong: a file that is no record, a record of
#     one sample, -o missing, a page that cannot be written (nothing left
#     behind).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

SERVER=$BUILD/memtrace-server
case $MEMTRACE in */asan/*) SERVER=$BUILD/asan/memtrace-server ;; esac
[ -x "$SERVER" ] || skip "$SERVER not built (host only: a cross build has no memtrace-server)"
prog=$(victim trend_shapes) || exit 99

vstart v "$prog"
"$MEMTRACE" -p "$VPID" --console none --sample 0.2 --record rec.jsonl >mt.out 2>mt.err &
mt=$!
samples() { grep -c '"type":"sample"' rec.jsonl 2>/dev/null || echo 0; }
enough() { [ "$(samples)" -ge 30 ]; }
WAIT_SECONDS=120 wait_for enough || fail_later "only $(samples) samples recorded"
kill -TERM "$mt"
wait "$mt"
vstop v

"$SERVER" --plot rec.jsonl -o plot.html / >plot.out 2>plot.err || { fail_later "--plot: exit status $?"; show plot.err; }
[ -s plot.html ] || finish
grep -qE 'leak_slowly \([^)]*trend_shapes\.c:[0-9]+\)' plot.html ||
	fail_later "the page does not name leak_slowly with its file:line"
[ "$(grep -c '<svg' plot.html)" -ge 2 ] || fail_later "the page has not its two charts"
grep -q '<title>leak_slowly' plot.html || fail_later "the points have no tooltips"
grep -qiE '<script|src=|href=|url\(' plot.html && fail_later "the page is not self-contained: $(grep -oiE '<script|src=[^ ]*|href=[^ ]*|url\([^)]*' plot.html | head -1)"

if command -v chromium >/dev/null; then
	# Chromium needs a home and a runtime directory of its own; its sandbox needs
	# user namespaces the test may not have (it renders a local file only).
	mkdir -p home
	HOME=$PWD/home timeout 120 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
		--window-size=1000,1200 --screenshot="$PWD/shot.png" "file://$PWD/plot.html" >chromium.out 2>&1
	if [ -s shot.png ]; then
		read -r w h inked colours <<<"$(python3 "$TOP/tests/tools/pngstat.py" shot.png)"
		note "screenshot ${w}x$h: $inked % inked, $colours colours"
		awk -v i="$inked" 'BEGIN { exit !(i >= 2) }' || fail_later "the screenshot is (nearly) blank: $inked % inked"
		[ "${colours:-0}" -ge 10 ] || fail_later "the screenshot has $colours colours: not a chart"
	else
		fail_later "chromium wrote no screenshot"
		show chromium.out
	fi
else
	fail_later "chromium is missing (make deps installs it)"
fi

# The record, and a saved report, as the standard exports.
"$SERVER" --report rec.jsonl --folded / >rec.folded 2>rec.ferr || { fail_later "--report rec.jsonl --folded: exit status $?"; show rec.ferr; }
grep -qE '^[^ ]*;main;leak_slowly [1-9][0-9]*$' rec.folded || { fail_later "no folded line ends in main;leak_slowly BYTES"; show rec.folded; }
"$SERVER" --report rec.jsonl --pprof -o rec.pb.gz / >rec.pout 2>rec.perr || { fail_later "--report rec.jsonl --pprof: exit status $?"; show rec.perr; }
if command -v go >/dev/null; then
	go tool pprof -top -nodefraction=0 -sample_index=inuse_space rec.pb.gz >top.txt 2>top.err ||
		{ fail_later "go tool pprof -top of the record's profile failed"; show top.err; }
	grep -qE '[0-9.]+[kMG]?B .* leak_slowly$' top.txt || { fail_later "go tool pprof -top lists no leak_slowly"; show top.txt; }
else
	fail_later "go is missing (make deps installs golang-go)"
fi
saved=$(victim server_leak) || exit 99
run_traced saved "$saved"
"$SERVER" --report saved.json --folded / >saved.folded 2>saved.ferr || fail_later "--report saved.json --folded: exit status $?"
grep -qE ';main;server_leak_plain [1-9][0-9]*$' saved.folded ||
	{ fail_later "no folded line of the saved report ends in main;server_leak_plain BYTES"; show saved.folded; }
"$SERVER" --report saved.json --pprof -o saved.pb.gz / >/dev/null 2>saved.perr && gzip -t saved.pb.gz ||
	fail_later "--report saved.json --pprof: no gzip'ed profile"
srv_usage b5 'where to write the profile' --report rec.jsonl --pprof /
srv_usage b6 'give one' --report rec.jsonl --folded --json /

# Bad input.
echo '{"not": "a record"}' >bad.jsonl
"$SERVER" --plot bad.jsonl -o bad.html / >b1.out 2>b1.err && fail_later "--plot of a file that is no record succeeded"
has b1.err 'not a record of memtrace --record' || fail_later "--plot bad.jsonl: the message does not say it is no record"
head -3 rec.jsonl | grep -v '"type":"sample"' >one.jsonl
grep -m1 '"type":"sample"' rec.jsonl >>one.jsonl
"$SERVER" --plot one.jsonl -o one.html / >b2.out 2>b2.err && fail_later "--plot of one sample succeeded"
has b2.err '1 sample: nothing to plot yet' || fail_later "--plot one.jsonl: the message does not say why"
srv_usage b3 'where to write the page' --plot rec.jsonl /
"$SERVER" --plot rec.jsonl -o nodir/plot.html / >b4.out 2>b4.err && fail_later "--plot into a missing directory succeeded"
has b4.err 'cannot write nodir/plot.html' || fail_later "--plot -o nodir/plot.html: the message does not name it"
[ -e bad.html ] || [ -e one.html ] && fail_later "a failed --plot left a page behind"
finish

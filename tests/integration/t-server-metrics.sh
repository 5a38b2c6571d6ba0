#!/bin/bash
# t-server-metrics: a lab of devices on one server, in Prometheus. Two
# "devices" (stripped copies of tests/victims/trend_shapes.c, one in a
# directory named we"ird\dir) are attached unattended (`memtrace -p
# --connect --console none --sample 0.2`), linked to one memtrace-server
# with `--metrics 127.0.0.1:0 --metrics-top 3` and the unstripped builds in
# its sysroot:
#   - /metrics (curl) ranks each device's steady leak first among its
#     growers, labelled with the function and file:line the server decoded
#     (the devices' copies have no symbols), with each device's program and
#     pid; the weird path comes out escaped as the format says, and
#     `promtool check metrics` (Debian's prometheus) accepts the text;
#   - a real Prometheus, on loopback, scrapes it every second: its query API
#     gives leak_slowly's growth for both devices, the weird program name
#     back exactly as it is on the device, and up == 1;
#   - a device whose memtrace detaches (SIGTERM) leaves /metrics;
#   - another path gets 404, another method 405; --metrics without a port,
#     or with --report, is a usage error.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/link.sh
. "$(dirname "$0")/../lib/link.sh"

[ -x "$SERVER" ] || skip "$SERVER not built (host only: a cross build has no memtrace-server)"
command -v strip >/dev/null || skip "strip missing (binutils)"
for tool in curl promtool prometheus; do
	command -v "$tool" >/dev/null || fail "$tool is missing (make deps installs it)"
done
PROM_PID=
cleanup() {
	[ -z "$PROM_PID" ] || kill -KILL "$PROM_PID" 2>/dev/null
	cleanup_link
}
trap cleanup EXIT

# Two devices: the stripped victim, and a copy under a name that needs escaping.
dev_copy trend_shapes
a=$DEV
weird="$PWD/dev/we\"ird\\dir"
mkdir -p "$weird" "sys$weird" || broken "mkdir"
cp "$a" "$weird/trend_shapes" && cp "sys$a" "sys$weird/trend_shapes" || broken "cp"
b="$weird/trend_shapes"
# The program label as the format must write it: \ and " escaped.
esc=${b//\\/\\\\}
esc=${esc//\"/\\\"}

srv_start s --listen 127.0.0.1:0 --no-multicast --metrics 127.0.0.1:0 --metrics-top 3 sys
srv_listening s
WAIT_SECONDS=10 wait_for has s.err 'metrics on http://127\.0\.0\.1:[0-9]+/metrics' ||
	{ show s.err; fail "the server did not say where /metrics is"; }
url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+/metrics' s.err | head -n 1)
mport=${url#http://127.0.0.1:}
mport=${mport%/metrics}

vstart va "$a"
pa=$VPID
vstart vb "$b"
pb=$VPID
"$MEMTRACE" -p "$pa" --connect "127.0.0.1:$SRV_PORT" --console none --sample 0.2 >ma.out 2>ma.err &
ma=$!
"$MEMTRACE" -p "$pb" --connect "127.0.0.1:$SRV_PORT" --console none --sample 0.2 >mb.out 2>mb.err &
mb=$!

scrape() { curl -s -m 20 -o metrics.txt "$url"; }
# The first (fastest) grower of device PID: "function location".
first_grower() {
	grep "^memtrace_context_growth_bytes_per_second{.*pid=\"$1\"" metrics.txt | head -n 1 |
		sed -n 's/.*function="\([^"]*\)",location="\([^"]*\)".*/\1 \2/p'
}
leak_first() {
	scrape || return 1
	case $(first_grower "$pa") in leak_slowly\ *trend_shapes.c:[0-9]*) ;; *) return 1 ;; esac
	case $(first_grower "$pb") in leak_slowly\ *trend_shapes.c:[0-9]*) ;; *) return 1 ;; esac
}
# Generous: both attaches and a few seconds of samples at 0.2 s on a loaded machine.
if ! WAIT_SECONDS=120 wait_for leak_first; then
	fail_later "leak_slowly is not each device's first grower on /metrics: $(first_grower "$pa") / $(first_grower "$pb")"
	show metrics.txt
	show ma.err
fi
cp metrics.txt first.txt
note "device a: $(grep -c "pid=\"$pa\"" first.txt) lines; first grower $(first_grower "$pa")"
grep -qx 'memtrace_devices 2' first.txt || fail_later "memtrace_devices is not 2: $(grep '^memtrace_devices' first.txt)"
grep -qF "program=\"$esc\",pid=\"$pb\"" first.txt || fail_later "the weird program name is not there escaped ($esc)"
[ "$(grep -c "^memtrace_context_live_bytes{.*pid=\"$pa\"" first.txt)" -le 3 ] ||
	fail_later "more than --metrics-top 3 contexts for device a"
grep -q "^memtrace_heap_bytes{.*pid=\"$pa\".* [1-9][0-9]*$" first.txt || fail_later "no heap bytes for device a"
grep -q "^memtrace_rss_bytes{.*pid=\"$pa\".* [1-9][0-9]*$" first.txt || fail_later "no RSS for device a"
promtool check metrics <first.txt >promtool.out 2>&1 || { fail_later "promtool check metrics refused the text"; show promtool.out; }

# A real Prometheus scraping it every second, on loopback only.
pport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >prom.yml <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: memtrace
    static_configs:
      - targets: ["127.0.0.1:$mport"]
EOF
prometheus --config.file=prom.yml --storage.tsdb.path=tsdb --web.listen-address="127.0.0.1:$pport" \
	>prom.out 2>prom.err &
PROM_PID=$!
query() { curl -s -m 20 "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1"; }
both_in_prom() {
	query 'memtrace_context_growth_bytes_per_second{function="leak_slowly"} > 0' >q.json &&
		[ "$(jq '.data.result | length' q.json 2>/dev/null)" = 2 ]
}
# Prometheus starts in seconds; its first scrapes come a second apart.
if WAIT_SECONDS=120 wait_for both_in_prom; then
	got=$(jq -r --arg pid "$pb" '.data.result[] | select(.metric.pid == $pid) | .metric.program' q.json)
	[ "$got" = "$b" ] || fail_later "Prometheus has device b's program as '$got', not '$b'"
	query 'up{job="memtrace"}' >up.json
	[ "$(jq -r '.data.result[0].value[1]' up.json)" = 1 ] || fail_later "Prometheus: up is not 1: $(cat up.json)"
	note "Prometheus: leak_slowly at $(jq -r '[.data.result[].value[1]] | join(" and ")' q.json) B/s"
else
	fail_later "Prometheus did not get leak_slowly's growth of both devices"
	show q.json
	show prom.err
fi

# A device that detaches leaves /metrics.
kill -TERM "$mb"
wait "$mb"
one_device() { scrape && grep -qx 'memtrace_devices 1' metrics.txt; }
WAIT_SECONDS=30 wait_for one_device || fail_later "device b is still on /metrics after its memtrace ended"
grep -q "pid=\"$pb\"" metrics.txt && fail_later "device b's lines are still there"

# Other paths and methods; usage errors.
[ "$(curl -s -m 20 -o /dev/null -w '%{http_code}' "${url%/metrics}/other")" = 404 ] || fail_later "another path is not 404"
[ "$(curl -s -m 20 -o /dev/null -w '%{http_code}' -X POST "$url")" = 405 ] || fail_later "POST is not 405"
srv_usage u1 'which port' --metrics 127.0.0.1
srv_usage u2 '--metrics' --report x.json --metrics 127.0.0.1:0

kill -TERM "$ma"
wait "$ma"
vstop va
vstop vb
for v in va vb; do
	[ "$(cat "$v.rc")" = 0 ] && has "$v.out" intact || fail_later "device $v did not end intact: $(cat "$v.rc")"
done
srv_stop s
finish

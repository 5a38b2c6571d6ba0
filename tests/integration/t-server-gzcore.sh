#!/bin/bash
# t-server-gzcore: gzip'ed cores in the network server keep its clean
# shutdown, and two peers' cores never share a temporary file.
#
# The "device" runs a stripped core_victim -p under memtrace --connect (it
# leaks a struct core_item every 50 ms); the host's sysroot has its
# unstripped build, the libraries and the agent. memtrace's console sends
# `coredump -n --gz` (the server gunzips it in the peer's worker thread);
# at the same time a second peer (tests/tools/linkpeer) sends that same
# gzip'ed core, kept by --cores, as its own. Both peers' `blocks ID` are
# answered from their own views; each view's gunzipped copy is a file of
# its own under $TMPDIR. Then SIGTERM: the server must end with status 0
# (its clean shutdown: the core code once put in signal handlers of its own
# that made it die of SIGTERM, status 143), the second peer sees its link
# closed, and nothing of the server is left in $TMPDIR.
# "A && B || fail": a failure of either step is the one to report.
# shellcheck disable=SC2015
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
. "$(dirname "$0")/../lib/server.sh"

command -v gdb >/dev/null || skip "gdb is not installed (apt-get install gdb)"
command -v strip >/dev/null || skip "strip missing (binutils)"
prog=$(victim core_victim)
mkdir -p dev tmp kept && strip -o dev/core_victim "$prog" || broken "strip $prog"
dev=$PWD/dev/core_victim
mkdir -p "root$(dirname "$dev")" && cp "$prog" "root$dev" || broken "sysroot"
for d in lib lib64 usr; do [ -e /$d ] && ln -s /$d root/$d; done
export TMPDIR=$PWD/tmp

srv_start srv -v --listen 127.0.0.1:0 --no-multicast --cores kept root /

# ---------------------------------------------------------------- the device: a linked coredump -n --gz
console_start h --connect "127.0.0.1:$PORT" "$dev" -p -i 50 -f "$PWD/stop" -s 90
wait_for test -e core_victim.started || fail_later "core_victim did not start"
wait_for has h.out '^core_item .* serial 2 ' || fail_later "core_victim printed no items"
pid=$(sed -n 1p core_victim.started 2>/dev/null)
agent=$(grep -o '/[^ ]*libmemtrace-agent[^ ]*\.so' "/proc/${pid:-0}/maps" 2>/dev/null | head -n 1)
[ -n "$agent" ] && mkdir -p "root$(dirname "$agent")" && ln -sf "$agent" "root$agent" ||
	fail_later "no agent in /proc/${pid:-?}/maps to put in the sysroot"
console_item_id "$dev"
console_send 'coredump -n --gz -f core.gz'
# gdb opening a core of a few MiB: seconds on a loaded machine
WAIT_SECONDS=60 wait_for has h.out '^memtrace-server opened the core .*\.gz$' ||
	fail_later "coredump -n --gz: the server did not open the core"
kept=$(sed -n 's/^memtrace-server opened the core .*; kept as \(.*\.gz\)$/\1/p' h.out | head -n 1)

# ---------------------------------------------------------------- a second peer, the same core
if [ -s "$kept" ]; then
	cp "$kept" other.gz || broken "cp $kept"
	timeout -k 5 120 "$LINKPEER" -w 60 connect "127.0.0.1:$PORT" hello "corefile=$PWD/other.gz@$dev" \
		"send={\"v\":1,\"id\":50,\"cmd\":\"blocks\",\"ctx\":$id}" expect-close >peer.out 2>peer.err &
	peer_pid=$!
	WAIT_SECONDS=60 wait_for eval '[ "$(wc -l <peer.out)" -ge 4 ]' || fail_later "the second peer's core: no answer"
	[ "$(line peer 3 | jq -c .ok)" = true ] || fail_later "the second peer's core was not opened: $(line peer 3)"
	line peer 4 | jq -r .text >peer.blocks 2>/dev/null
	has peer.blocks "^== blocks of context $id: [0-9]+ live" || fail_later "the second peer's blocks: $(line peer 4)"
else
	fail_later "no kept core named in: $(grep 'opened the core' h.out)"
fi
# the first peer's view answers too, from its own copy
console_send "blocks $id"
wait_for has h.out "^== blocks of context $id: [0-9]+ live" || fail_later "blocks $id over the link: no answer"
copies=$(find tmp -type f | wc -l)
[ "$copies" = 2 ] || fail_later "two views of gzip'ed cores: $copies gunzipped copies in TMPDIR, want 2: $(find tmp)"

# ---------------------------------------------------------------- SIGTERM: a clean exit
srv_stop TERM
has srv.err 'SIGTERM: stopping' || fail_later "the server did not log its clean stop"
if [ -n "${peer_pid:-}" ]; then
	wait_pid_gone "$peer_pid" 30 || fail_later "the second peer did not see its link end"
	wait "$peer_pid"
	[ "$(tail -n 1 peer.out)" = closed ] || fail_later "the second peer's link: $(tail -n 1 peer.out), want closed"
fi
left=$(find tmp -mindepth 1)
[ -z "$left" ] || fail_later "the server left files in TMPDIR: $left"
touch stop
console_end

# ---------------------------------------------------------------- --core alone: its own cleanup on a signal
# The one-shot --core mode owns its process: SIGTERM while gdb starts (a "gdb" that never answers) still
# removes the gunzipped copy, then ends it as SIGTERM would.
if [ -s other.gz ]; then
	mkdir -p tmp2 && printf '#!/bin/sh\necho $$ >%s/slowgdb.pid\nexec sleep 60\n' "$PWD" >slowgdb && chmod +x slowgdb || broken "slowgdb"
	TMPDIR=$PWD/tmp2 "$SERVER" --core other.gz --exe "$prog" --gdb "$PWD/slowgdb" --blocks "$id" >cli.out 2>cli.err &
	cli=$!
	wait_for eval '[ "$(find tmp2 -type f -size +1000k | wc -l)" = 1 ]' || fail_later "--core: no gunzipped copy in TMPDIR"
	kill -TERM "$cli"
	wait_pid_gone "$cli" 10 || { fail_later "--core did not end on SIGTERM"; kill -KILL "$cli"; }
	wait "$cli"
	rc=$?
	[ $rc = 143 ] || fail_later "--core on SIGTERM: status $rc, want 143 (killed by it)"
	left=$(find tmp2 -mindepth 1)
	[ -z "$left" ] || fail_later "--core on SIGTERM left files in TMPDIR: $left"
	[ -s slowgdb.pid ] && kill -KILL "$(cat slowgdb.pid)" 2>/dev/null
fi
finish

#!/bin/bash
# t-link-multicast: memtrace --multicast=GROUP:PORT finds a memtrace-server
# that joined the group (a random UDP port, so that tests running at the
# same time do not answer each other) and has the exit report decoded (JSON
# and text); the link is to that server (status names its TCP port). With nobody on the
# group: a warning that no server answered, a raw report, the program's
# output and status unchanged, and memtrace waits at most a few seconds.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/link.sh
. "$(dirname "$0")/../lib/link.sh"

link_setup
group=239.255.42.3
mport=$((20000 + RANDOM % 20000))
srv_start srv --listen 127.0.0.1:0 --multicast-group "$group:$mport" sys
srv_listening srv

run_traced mc --multicast="$group:$mport" "$dev"
same_behaviour plain mc || fail_later "--multicast: server_leak behaves differently under memtrace"
expect_decoded "--multicast exit report" mc.json
[ ! -s mc.err ] || { fail_later "--multicast with a server: memtrace wrote on stderr"; show mc.err; }

# status while ticker runs (server_leak may be gone before -x status).
dev_copy ticker
run_mt st --multicast="$group:$mport" -x status "$DEV" -s 1
expect_rc st 0 || fail_later "--multicast -x status: exit status"
has st.out "^server: memtrace-server [^ ]+ at [0-9.]+:$SRV_PORT, found by multicast \(reports decoded\)$" ||
	{ fail_later "status does not name the server found by multicast (TCP port $SRV_PORT)"; show st.out; }
has st.out "^ *#0 +0x[0-9a-f]+ +leak_big at [^ ]*/ticker\.c:[0-9]+ \($DEV\+0x" ||
	{ fail_later "--multicast: the text exit report is not decoded"; show st.out; }

# Nobody on that group and port.
nport=$mport
while [ "$nport" = "$mport" ]; do nport=$((20000 + RANDOM % 20000)); done
# Discovery takes 1.5 s.
no_server none "--multicast without a server" "warning: no memtrace-server answered on $group:$nport" 8000 \
	--multicast="$group:$nport"

srv_stop srv
finish

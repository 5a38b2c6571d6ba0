#!/bin/bash
# t-link-token: the link's shared token.
#   - a server with --token: memtrace --connect with the same token (--token,
#     or --token-file) gets decoded reports; with another token, or none, a
#     warning names the token refusal (and, without one, says how to give
#     it), the report is raw, and the program's output and status are
#     unchanged;
#   - memtrace --listen --token: a server that dials in without the token,
#     or with another, is refused (memtrace says so, status still waits,
#     reports raw); one with the token is taken.
# shellcheck disable=SC2119 # console_end takes an optional time limit
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/link.sh
. "$(dirname "$0")/../lib/link.sh"

link_setup
tok=s3cret-$RANDOM
srv_start srv --listen 127.0.0.1:0 --no-multicast --token "$tok" sys
srv_listening srv
to=127.0.0.1:$SRV_PORT

run_traced good --connect "$to" --token "$tok" "$dev"
same_behaviour plain good || fail_later "--token: server_leak behaves differently under memtrace"
expect_decoded "the right --token" good.json

printf '%s\n' "$tok" >tokfile
run_traced file --connect "$to" --token-file tokfile "$dev"
expect_decoded "the right --token-file" file.json

for how in wrong none; do
	case $how in
	wrong) run_traced $how --connect "$to" --token "not-$tok" "$dev" ;;
	none) run_traced $how --connect "$to" "$dev" ;;
	esac
	same_behaviour plain $how || fail_later "$how token: server_leak behaves differently under memtrace"
	expect_raw "$how token" $how.json
	has $how.err "warning: memtrace-server at $to refused the link: token refused" ||
		{ fail_later "$how token: no warning naming the token refusal"; show $how.err; }
done
has none.err "--token" || fail_later "no token: the warning does not say how to give one"

srv_stop srv

# memtrace --listen with a token.
dev_copy ticker
ticker=$DEV
console_start con --listen 127.0.0.1:0 --token "$tok" --json -o exit.json "$ticker" -f "$PWD/stop" -s 25
mt_listening con || { console_end; finish; }
srv_start srv-none -c "127.0.0.1:$MT_PORT" --no-multicast sys
WAIT_SECONDS=10 wait_for has con.err "refused memtrace-server at [^ ]+: token refused: .*wants a token" ||
	{ fail_later "--listen --token: a server without the token was not refused"; show con.err; }
srv_stop srv-none
srv_start srv-wrong -c "127.0.0.1:$MT_PORT" --no-multicast --token "not-$tok" sys
WAIT_SECONDS=10 wait_for has con.err "refused memtrace-server at [^ ]+: token refused: not this" ||
	{ fail_later "--listen --token: a server with another token was not refused"; show con.err; }
srv_stop srv-wrong
WAIT_SECONDS=20 wait_for test -s ticker.started || fail_later "ticker did not start under memtrace --listen"
console_send "report -c 0 --json -o raw.json"
console_send status
WAIT_SECONDS=30 wait_for has con.out '^server: ' || fail_later "status: no 'server:' line"
has con.out "^server: waiting on 127\.0\.0\.1:$MT_PORT for memtrace-server to dial in" ||
	{ fail_later "--listen --token: after refusals, status does not say memtrace still waits"; show con.out; }

srv_start srv-right -c "127.0.0.1:$MT_PORT" --no-multicast --token "$tok" sys
WAIT_SECONDS=10 wait_for has con.err "memtrace-server [^ ]+ at [^ ]+ dialed in" ||
	{ fail_later "--listen --token: the server with the token was not taken"; show con.err; }
console_send "report -c 0 --json -o dec.json"
console_send status
WAIT_SECONDS=30 wait_for valid_json dec.json || fail_later "no report after the dial-in with the token"
: >stop
console_end
expect_rc con 0 || fail_later "--listen --token: exit status"
expect_raw "--listen --token: report after refusals" raw.json
fn_decoded "--listen --token: report after the right token" dec.json leak_big ticker.c
fn_decoded "--listen --token: exit report" exit.json leak_big ticker.c
srv_stop srv-right
finish

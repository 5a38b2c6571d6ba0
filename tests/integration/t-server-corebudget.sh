#!/bin/bash
# t-server-corebudget: cores cannot fill the host's disk (docs/server.md,
# "Limits"). Each core is checked before a byte of it is read, and refused
# with a reply that says which bound it hit: with the defaults, a core of
# 3 GiB is over one peer's budget (2 GiB; before the fix the server took it
# and waited for its bytes); with --core-budget 1536K, while peer A's core
# of 1 MiB is coming (its upload held open), peer B's core of 1 MiB does
# not fit ("other peers hold ..."), and once A's upload has ended (cut
# short: its bytes are given back) B's fits; a core larger than the room
# left on the disk of $TMPDIR is refused too.
# "A && B || fail": a failure of either step is the one to report.
# shellcheck disable=SC2015
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
. "$(dirname "$0")/../lib/server.sh"

mkdir -p tmp || broken "mkdir"
export TMPDIR=$PWD/tmp
MiB=1048576

# refused TAG WHY: TAG's core request (its third line) was refused with an error saying WHY.
refused() {
	case "$(line "$1" 3 | jq -r .error 2>/dev/null)" in
	"core: refused: "*"$2"*) ;;
	*) fail_later "$1: the core was not refused for '$2': $(cat "$1.out")" ;;
	esac
}

# ---------------------------------------------------------------- the defaults
srv_start def -v --listen 127.0.0.1:0 --no-multicast
lp big -w 20 connect "127.0.0.1:$PORT" hello core=$((3 * 1024 * MiB)):0
refused big "over this server's budget for one peer, 2048.0 MiB (memtrace-server --peer-core-budget)"
# More than the disk of $TMPDIR has room for (under the per-peer budget).
avail=$(($(stat -f -c '%a * %S' "$TMPDIR")))
if [ "$avail" -lt $((1024 * 1024 * MiB)) ]; then
	srv_stop TERM
	srv_start room -v --listen 127.0.0.1:0 --no-multicast --peer-core-budget 1T --core-budget 1T
	lp room connect "127.0.0.1:$PORT" hello core=$((avail + 64 * MiB)):0
	refused room "does not fit on the server's disk: $TMPDIR has"
else
	note "$TMPDIR has more than 1 TiB free: the room check is not tried"
fi
srv_stop TERM

# ---------------------------------------------------------------- --core-budget
srv_start srv -v --listen 127.0.0.1:0 --no-multicast --core-budget 1536K --peer-core-budget 1M
# A: a core of 1 MiB, 4 KiB of it sent, the channel held open until a.go.
timeout -k 5 60 "$LINKPEER" -w 40 connect "127.0.0.1:$PORT" hello core=$MiB:4096:@a.go >a.out 2>a.err &
pa=$!
wait_for has srv.err "a core of 1.0 MiB is coming" || fail_later "peer A's core did not start"
lp b1 connect "127.0.0.1:$PORT" hello core=$MiB:0
refused b1 "does not fit now: the cores of other peers hold 1.0 MiB of this server's 1.5 MiB (memtrace-server --core-budget)"
lp b2 connect "127.0.0.1:$PORT" hello core=$((MiB + 1)):0
refused b2 "over this server's budget for one peer, 1.0 MiB"
has srv.err "core refused: a core of 1.0 MiB does not fit now" || fail_later "no warning of the refusal in the log"
touch a.go
wait "$pa"
case "$(line a 3 | jq -r .error)" in
*"the device closed the channel after 4096 of 1048576 bytes"*) ;;
*) fail_later "peer A's upload, cut short: $(cat a.out)" ;;
esac
# A's bytes are back: B's core fits now (and fails later, for what it is: no program on this host).
lp b3 connect "127.0.0.1:$PORT" hello core=$MiB:$MiB
case "$(line b3 3 | jq -r .error)" in
"core: received"*) ;;
*) fail_later "peer B's core after A's ended: $(cat b3.out)" ;;
esac
srv_stop TERM
finish

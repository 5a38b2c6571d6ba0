#!/bin/bash
# t-agent-peer-uid: the agent's control socket accepts only a peer that could
# ptrace the process: root, or the user whose uid is the process's real,
# effective and saved uid while the process is dumpable.  A real
# second user (made here with useradd, removed at the end) connects with
# tests/tools/agentpeer to attach_server, which root attached to and left,
# and which then takes the user's gids and changes its uids (its gids and
# uids commands; a change of ids clears the dumpable flag, set again here):
#   uids U/0/0, dumpable   U refused (it was let in: U was the real uid)
#   uids 0/U/0, dumpable   U refused (it was let in: U was the effective uid)
#   uids U/U/U, not dumpable  U refused
#   uids U/U/U, dumpable      U let in
# root is let in every time.  Needs root (to make the user and change ids).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

[ "$(id -u)" = 0 ] || skip "needs root: the test makes a second user and a process with mixed uids"
command -v useradd >/dev/null || skip "useradd is not installed (passwd package)"
command -v setpriv >/dev/null || skip "setpriv is not installed (util-linux package)"
PEER=$BUILD/tests/tools/agentpeer
[ -x "$PEER" ] || broken "$PEER not built (make test-bins)"

user=mtpeer$$
useradd --system --no-create-home --shell /usr/sbin/nologin "$user" >useradd.log 2>&1 ||
	{ show useradd.log; skip "useradd $user failed (no writable /etc/passwd?)"; }
ATTACH_CLEANUP_EXTRA='userdel "$user" 2>/dev/null'
U=$(id -u "$user") G=$(id -g "$user")
note "second user $user: uid $U gid $G"

prog=$(victim attach_server) || exit 99
sstart t "$prog"
attach_console c "$VPID"
scmd leak 2 || fail_later "leak while attached"
console_end 30
expect_rc c 0 || fail_later "memtrace -p then EOF on its console: exit status"

# as_user TAG: agentpeer as the second user, output in TAG.peer
as_user() {
	local tag=$1
	shift
	setpriv --reuid="$U" --regid="$G" --clear-groups "$PEER" "$VPID" "$@" >"$tag.peer" 2>&1
}

# refused TAG WHAT / admitted TAG WHAT: the verdict agentpeer printed.
refused() {
	if grep -q '"ok":true' "$1.peer" || ! grep -q 'permission denied' "$1.peer"; then
		show "$1.peer"
		fail_later "$2: the second user was let in"
	fi
}
admitted() {
	if ! grep -q '"ok":true' "$1.peer"; then
		show "$1.peer"
		fail_later "$2: refused"
	fi
}

# step IDS-CMD ARGS WHAT VERDICT: the victim changes its ids, then the user and root try.
step() {
	local n=$1 cmd=$2 ids=$3 what=$4 verdict=$5
	scmd "$cmd" "$ids" || fail "the victim does not answer $cmd"
	[ "$ACK" = "$cmd ok" ] || fail "$cmd $ids: $ACK"
	as_user "u$n" hello send=status
	$verdict "u$n" "$what"
	"$PEER" "$VPID" hello send=status >"r$n.peer" 2>&1
	admitted "r$n" "root, $what"
}

# The victim answers in t.d, as whatever user it has become.
chmod 755 . && chmod 777 t.d || broken "chmod of the test's directories"
scmd gids "$G $G $G 1" || fail "the victim does not answer gids"
[ "$ACK" = "gids ok" ] || fail "gids: $ACK"
step 1 uids "$U 0 0 1" "uids $U/0/0 (real uid the user's)" refused
step 2 uids "0 $U 0 1" "uids 0/$U/0 (effective uid the user's)" refused
step 3 uids "$U $U $U 0" "uids all $U, not dumpable" refused
step 4 uids "$U $U $U 1" "uids all $U, dumpable" admitted
sping "after the peers"
sstop t
finish

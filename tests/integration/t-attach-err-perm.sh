#!/bin/bash
# t-attach-err-perm: memtrace -p run as user nobody against a root-owned
# attach_server (tests/victims/attach_server.c) must exit 4 (permission
# refused) with a message that names the process and gives the fix, and
# leave the target untouched: running, untraced, no agent, a new thread can
# dlopen, answering, its untraced output.  The privileges are dropped with setpriv, runuser or su,
# whichever works; skipped only if none can, or if this runs as non-root.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

[ "$(id -u)" = 0 ] || skip "not root: no root-owned target to be refused"
id nobody >/dev/null 2>&1 || skip "no user nobody"

# as_nobody CMD...: CMD as nobody with no capability.
as_nobody() {
	case $DROP in
	setpriv) setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --inh-caps=-all -- "$@" ;;
	runuser) runuser -u nobody -- "$@" ;;
	su) su -s /bin/sh nobody -c '"$0" "$@"' -- "$@" ;;
	esac
}
DROP=
for d in setpriv runuser su; do
	command -v $d >/dev/null || continue
	DROP=$d
	[ "$(as_nobody id -u 2>/dev/null)" = "$(id -u nobody)" ] && break
	DROP=
done
[ -n "$DROP" ] || skip "cannot run a command as nobody (setpriv, runuser, su all failed)"
note "dropping privileges with $DROP"
as_nobody test -x "$MEMTRACE" || skip "nobody cannot execute $MEMTRACE (a directory on its path is closed)"

prog=$(victim attach_server) || exit 99
splain "$prog"

sstart t "$prog"
pid=$VPID
note "memtrace -p $pid -x status, as nobody"
as_nobody "$MEMTRACE" -p "$pid" -x status </dev/null >perm.out 2>perm.err
echo $? >perm.rc
expect_rc perm 4 || fail_later "memtrace -p as nobody on a root process: exit status"
has perm.err "(^|[^0-9])$pid([^0-9]|\$)" || { fail_later "the message does not name process $pid"; show perm.err; }
has perm.err 'CAP_SYS_PTRACE|as root|same user|ptrace_scope|sudo' ||
	{ fail_later "the message gives no fix (run as root / the same user / CAP_SYS_PTRACE)"; show perm.err; }
! has perm.out '^ *in use: ' || fail_later "memtrace as nobody ran status"

sunharmed "$pid" "after the refused attach"
sstop t
same_behaviour plain t || fail_later "the victim behaves differently"
finish

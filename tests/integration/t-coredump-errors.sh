#!/bin/bash
# t-coredump-errors: a core that cannot be written gives a clear message
# (what, where, why, what to do), leaves no file behind, not even the
# temporary one, and harms nobody: the console goes on, the next core
# succeeds, and the victim (tests/victims/core_victim.c) runs on undisturbed
# and exits 0.  Cases: a directory that does not exist; a read-only
# filesystem (a tmpfs mounted ro; as another user than root, a mode 555
# directory); a full one (a 256 KiB tmpfs, plain and --gz).  The tmpfs
# cases need mount(2) (root); without it they are left out with a note.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

MOUNTS=()
cleanup_mounts() {
	local m
	cleanup_mt
	for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; done
	return 0
}
trap cleanup_mounts EXIT

mkdir ro full
can_mount=0
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o ro,size=64k tmpfs ro 2>/dev/null; then
	MOUNTS+=("$PWD/ro")
	if mount -t tmpfs -o size=256k tmpfs full 2>/dev/null; then
		MOUNTS+=("$PWD/full")
		can_mount=1
	fi
elif [ "$(id -u)" != 0 ]; then
	chmod 555 ro
fi
[ $can_mount = 1 ] || note "no tmpfs could be mounted: the full-disk cases are left out"

prog=$(victim core_victim)
console_start e "$prog" -f stop -s 60
wait_for test -e core_victim.started || fail_later "core_victim did not start"
console_send 'coredump -n -f nodir/x.core'
if [ "$(id -u)" != 0 ] || [ $can_mount = 1 ]; then
	console_send 'coredump -n -f ro/x.core'
fi
if [ $can_mount = 1 ]; then
	console_send 'coredump -n -f full/x.core'
	console_send 'coredump -n --gz -f full/x.core.gz'
fi
console_send 'coredump -n -f ok.core'
wait_for has e.out '^core written to ok.core' || fail_later "no core written after the failures"
touch stop
console_end "$MT_TIMEOUT"
expect_rc e 0 || fail_later "exit status (1: a wait in the victim saw EINTR)"
has e.out 'core_(sleeper|reader|poller):' && fail_later "a waiting thread of the victim was disturbed"

has e.err "coredump: cannot create a file in nodir: No such file or directory; the directory must exist" ||
	fail_later "no clear message for a directory that does not exist"
if [ "$(id -u)" != 0 ] || [ $can_mount = 1 ]; then
	has e.err "coredump: cannot create a file in ro: (Read-only file system|Permission denied); choose a directory you may write to with -f PATH" ||
		fail_later "no clear message for a directory that cannot be written"
fi
if [ $can_mount = 1 ]; then
	[ "$(grep -cE 'coredump: writing full/\.x\.core(\.gz)?\.tmp[0-9]+ failed after [0-9.]+ MiB: No space left on device' e.err)" = 2 ] ||
		fail_later "no clear message (file, amount written, ENOSPC) for a full disk, plain and --gz"
	[ "$(grep -c 'free some space there, or write elsewhere with -f PATH' e.err)" = 2 ] ||
		fail_later "the full-disk message does not say what to do"
	[ -z "$(ls -A full)" ] || fail_later "files left on the full filesystem: $(ls -A full)"
fi
[ -e nodir ] && fail_later "nodir was created"
ls -A | grep -q 'tmp[0-9]' && fail_later "a temporary file was left: $(ls -A)"
[ "$FAILURES" -eq 0 ] || { show e.out; show e.err; }
finish

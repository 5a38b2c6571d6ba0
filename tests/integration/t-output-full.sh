#!/bin/bash
# t-output-full: a report file on a full disk is written whole or not at
# all.  -o FILE without --json used to exit 0 with the file cut and no word
# (the text writer ignored its flush); now every writer of a file checks
# every write and the close: exit 125, a message naming the cause, and FILE
# as it was before (absent, or its old content), no temporary left beside it.
#   1. -o /dev/full, text and --json: 125 and "No space left on device";
#      /dev/full is still there (a device is never removed)
#   2. (root: a 64 KiB tmpfs of its own, in a mount namespace of its own)
#      filled up: -o on a new name, text and --json: 125, no file; -o on an
#      existing file: 125, its old content kept; the console's report -o:
#      an error, the same
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim demo_leaky)

# full_fails TAG WHAT: exit 125 and the cause said.
full_fails() {
	expect_rc "$1" 125 || { fail_later "$2: exit status"; return; }
	grep -q 'No space left on device' "$1.err" || { show "$1.err"; fail_later "$2: the cause is not said"; }
}

# 1. /dev/full
[ -c /dev/full ] || broken "/dev/full is missing"
run_mt devfull -o /dev/full "$prog"
full_fails devfull "text -o /dev/full"
run_mt devfulljson --json -o /dev/full "$prog"
full_fails devfulljson "--json -o /dev/full"
[ -c /dev/full ] || fail_later "/dev/full was removed"

# 2. a full tmpfs
if [ "$(id -u)" != 0 ]; then
	note "2. left out: mounting a tmpfs needs root"
	finish
fi
unshare -m true 2>/dev/null || { note "2. left out: no mount namespace (unshare -m fails)"; finish; }
mkdir fs
printf 'OLD\n' >old.txt
# in_full CMD...: CMD run with fs/ a full 64 KiB tmpfs that holds
# keep.txt (old.txt's content); fs/ is listed into fs.list afterwards.
in_full() {
	unshare -m --propagation private sh -c '
		mount -t tmpfs -o size=64k tmpfs fs || exit 99
		cp old.txt fs/keep.txt
		head -c 1048576 /dev/zero >fs/filler 2>/dev/null
		"$@"
		rc=$?
		ls -a fs >fs.list
		cat fs/keep.txt >keep.now
		exit $rc' sh "$@"
}
# run_full TAG MEMTRACE ARGS...
run_full() {
	local tag=$1
	shift
	note "memtrace $* (fs/ full)"
	in_full timeout -k 5 "$MT_TIMEOUT" "$MEMTRACE" "$@" </dev/null >"$tag.out" 2>"$tag.err"
	echo $? >"$tag.rc"
	[ "$(rc_of "$tag")" != 99 ] || broken "cannot mount a tmpfs"
}
# left_as_is WHAT: fs/ holds keep.txt with its old content, the filler, nothing else.
left_as_is() {
	local extra
	extra=$(grep -v '^\.\.\?$\|^keep.txt$\|^filler$' fs.list)
	[ -z "$extra" ] || fail_later "$1: left in the full filesystem: $extra"
	cmp -s keep.now old.txt || fail_later "$1: the existing file was changed: $(head -c 80 keep.now)"
}

run_full new -o fs/report.txt "$prog"
full_fails new "text -o on a full disk"
left_as_is "text -o on a full disk"
run_full newjson --json -o fs/report.json "$prog"
full_fails newjson "--json -o on a full disk"
left_as_is "--json -o on a full disk"
run_full old -o fs/keep.txt "$prog"
full_fails old "text -o over an existing file on a full disk"
left_as_is "text -o over an existing file on a full disk"

# the console's report -o
prog2=$(victim attach_server)
mkdir v.d
in_full sh -c '"$1" v.d </dev/null >v.out 2>&1 &
	v=$!
	i=0; while [ ! -s v.d/ready ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
	timeout -k 5 60 "$2" -p $v -x "report -o fs/keep.txt" -x "report -o fs/r.txt" </dev/null >con.out 2>con.err
	rc=$?
	kill $v; wait $v 2>/dev/null
	exit $rc' sh "$prog2" "$MEMTRACE"
note "memtrace -p -x 'report -o FILE' (fs/ full): exit $?"
[ "$(grep -c 'report: writing fs/.*No space left on device' con.err)" = 2 ] ||
	{ show con.err; fail_later "the console's report -o on a full disk: no error for each"; }
left_as_is "the console's report -o on a full disk"
finish

# shellcheck shell=bash disable=SC2154,SC2034
#
# strace.sh: memtrace-server under strace, for the tests that prove what the
# host's gdb may open and run (t-server-gdb-*), sourced after link.sh.
#
#   srv_start_traced TAG ARGS...  memtrace-server ARGS in the background
#                          under `strace -f` (its gdb and everything else it
#                          starts followed), execs and opens logged to
#                          TAG.strace.PID (one file a process: no line is
#                          split by another process's);
#                          $SRV_PID is the server's, so srv_stop ends it
#                          and strace ends with it
#   traced_execs TAG       the programs the server and its children
#                          executed (successful execve only), one a line
#   traced_opens TAG       every file opened successfully, as the kernel
#                          resolved it (strace -y: links and ".." followed),
#                          one a line: "NAME-GIVEN -> RESOLVED"
#   need_traced_gdb        skip unless the server can run here, traced, with
#                          gdb (and strip, for the device's stripped copy)

command -v strace >/dev/null || skip "strace is not installed (apt-get install strace)"

need_traced_gdb() {
	[ -z "${MEMTRACE_TEST_SERVER:-}" ] || skip "the host's server is not traced from an ARM VM"
	[ -x "$SERVER" ] || skip "$SERVER not built (host only: a cross build has no memtrace-server)"
	command -v gdb >/dev/null || skip "gdb is not installed (apt-get install gdb)"
	command -v strip >/dev/null || skip "strip missing (binutils)"
}

srv_start_traced() {
	local tag=$1 sp n=200
	shift
	note "strace -f memtrace-server $* (in the background)"
	# LeakSanitizer cannot work under ptrace: the [asan] server leaves leak checks to the other tests
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -ff -qq -y -s 4096 -o "$tag.strace" -e trace=execve,execveat,open,openat,openat2,creat \
		"$SERVER" "$@" </dev/null >"$tag.out" 2>"$tag.err" &
	sp=$!
	SRV_PIDS+=("$sp")
	# strace forks the server: wait for it (a loaded machine may take a while to start strace)
	SRV_PID=
	while [ -z "$SRV_PID" ] && [ $n -gt 0 ]; do
		SRV_PID=$(pgrep -P "$sp" | head -n 1)
		[ -n "$SRV_PID" ] || { sleep 0.1; n=$((n - 1)); }
	done
	[ -n "$SRV_PID" ] || broken "strace did not start memtrace-server within 20 s"
	SRV_PIDS+=("$SRV_PID")
}

traced_execs() {
	cat "$1".strace.* 2>/dev/null | sed -n 's/^execve("\([^"]*\)".* = 0$/\1/p'
}

traced_opens() {
	cat "$1".strace.* 2>/dev/null |
		sed -n 's/^open[at2]*(\([^,]*, \)\{0,1\}"\([^"]*\)".* = [0-9][0-9]*<\(.*\)>$/\2 -> \3/p'
}

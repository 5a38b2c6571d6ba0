# shellcheck shell=bash
# bench/lib.sh: what the bench scripts share, sourced by them.

# churn_defaults: bench/churn.c's workload as every script that runs it
# takes it, THREADS, ITERS and WINDOW (churn's -t -n -w) from the
# environment or these defaults.
churn_defaults() {
	THREADS=${THREADS:-2}
	ITERS=${ITERS:-1000000}
	WINDOW=${WINDOW:-1000}
}

# server_port LOG: waits up to 10 s for memtrace-server, started with
# --listen HOST:0 and its stderr going to LOG, to say where it listens, and
# prints that port (nothing when it did not say).
server_port() {
	for _ in $(seq 100); do
		grep -q 'listening on' "$1" && break
		sleep 0.1
	done
	sed -n 's/^memtrace-server: listening on .*:\([0-9]*\)$/\1/p' "$1"
}

# pids_cleanup_on_exit: at exit, fd 7 closed (a console's FIFO), every
# process in PIDS (the script adds those it starts) killed, and $tmp removed.
PIDS=
pids_cleanup() {
	local p
	exec 7>&- 2>/dev/null
	for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -z "${tmp:-}" ] || rm -rf "$tmp"
}
pids_cleanup_on_exit() {
	trap pids_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

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

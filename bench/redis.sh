#!/bin/bash
# shellcheck disable=SC2059 # $fmt: one row format for the header and the rows
# Debian's redis under redis-benchmark (loopback, bounded), alone and with
# memtrace attached with each unwinder (issue 18): the CPU redis spends per
# request, which the agent's hooks add to (they run in redis's threads),
# and the throughput redis-benchmark sees.
#
# For each configuration (CONFIGS: alone, tables, libunwind, fp), RUNS
# times: a fresh redis-server on 127.0.0.1 (no persistence), attached with
# `memtrace -p PID --unwind U --console FIFO` unless alone, warmed with
# WARM requests, then `redis-benchmark -t set,get -n N -c CLIENTS -q`; the
# CPU redis-server used over the measured run (utime + stime of
# /proc/PID/stat, every thread) over the requests made (2 N), and the SET
# and GET requests per second. The table gives medians; "vs alone" the
# ratio of CPU per request (the goal: the default unwinder within 1.2x).
#
#   BUILD=build RUNS=3 bench/redis.sh
#   N=200000 CONFIGS="alone tables" bench/redis.sh
# Needs redis-server and redis-benchmark (apt-get install redis-server
# redis-tools; Debian's redis allocates through libjemalloc, which memtrace
# hooks like glibc's malloc) and memtrace built (make).
set -u
B=${BUILD:-build}
RUNS=${RUNS:-3}
N=${N:-200000}
WARM=${WARM:-20000}
CLIENTS=${CLIENTS:-20}
CONFIGS=${CONFIGS:-alone tables libunwind fp}
MT="$B/memtrace"
[ -x "$MT" ] || { echo "redis.sh: $MT missing (make)" >&2; exit 2; }
for c in redis-server redis-benchmark redis-cli; do
	command -v "$c" >/dev/null || { echo "redis.sh: $c missing (scripts/deps.sh --bench installs it)" >&2; exit 2; }
done
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
pids_cleanup_on_exit

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
# cpu_ticks PID: utime + stime of every thread of PID, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# wait_until SECONDS CMD...: polls CMD every 50 ms; status 1 on timeout.
wait_until() {
	local end=$(( $(date +%s) + $1 ))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.05
	done
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HZ=$(getconf CLK_TCK)

# One run of CONFIG: "cpu_us_per_request set_rps get_rps" to stdout, or nothing.
one_run() {
	local config=$1 d="$tmp/$1.$2" port rpid mpid t0 t1 out
	mkdir -p "$d"
	port=$(free_port)
	redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize no \
		--dir "$d" >"$d/redis.log" 2>&1 &
	rpid=$!
	PIDS="$PIDS $rpid"
	wait_until 20 redis-cli -p "$port" ping || { echo "redis.sh: redis-server did not answer" >&2; return 1; }
	if [ "$config" != alone ]; then
		mkfifo "$d/c.in"
		"$MT" --console - -p "$rpid" --unwind "$config" <"$d/c.in" >"$d/c.out" 2>"$d/c.err" &
		mpid=$!
		PIDS="$PIDS $mpid"
		exec 7>"$d/c.in"
		echo status >&7
		wait_until 60 grep -q '^ *in use: ' "$d/c.out" || {
			echo "redis.sh: memtrace -p --unwind $config did not attach" >&2
			cat "$d/c.err" >&2
			return 1
		}
	fi
	redis-benchmark -p "$port" -t set,get -n "$WARM" -c "$CLIENTS" -q >/dev/null 2>&1
	t0=$(cpu_ticks "$rpid")
	out=$(redis-benchmark -p "$port" -t set,get -n "$N" -c "$CLIENTS" -q 2>/dev/null | tr '\r' '\n')
	t1=$(cpu_ticks "$rpid")
	if [ "$config" != alone ]; then
		echo detach >&7
		exec 7>&-
		wait "$mpid"
	fi
	kill "$rpid"
	wait "$rpid" 2>/dev/null
	awk -v c=$(( t1 - t0 )) -v hz="$HZ" -v n=$(( 2 * N )) '
		/^SET:/ { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9.]+$/) { set = $i; break } }
		/^GET:/ { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9.]+$/) { get = $i; break } }
		END { if (set && get) printf "%.3f %s %s\n", c / hz * 1e6 / n, set, get }' <<<"$out"
}

echo "# redis: $(redis-server --version | cut -d' ' -f3), $(uname -sr), $(nproc) cpus, load $(cut -d' ' -f1 /proc/loadavg), $(date -u +%F), runs=$RUNS, n=$N, clients=$CLIENTS"
fmt='%-10s %12s %9s %12s %12s\n'
printf "$fmt" config cpu_us/req vs_alone set_rps get_rps
# Runs of all configurations alternate, so drift hits them alike.
for r in $(seq "$RUNS"); do
	for config in $CONFIGS; do
		one_run "$config" "$r" >>"$tmp/$config.rows"
	done
done
base=
for config in $CONFIGS; do
	cpu=$(awk '{print $1}' "$tmp/$config.rows" 2>/dev/null | median)
	[ "$config" = alone ] && base=$cpu
	ratio=$(awk -v a="$cpu" -v b="${base:-}" 'BEGIN { if (b + 0 > 0 && a != "-") printf "%.2f", a / b; else print "-" }')
	printf "$fmt" "$config" "$cpu" "$ratio" "$(awk '{print $2}' "$tmp/$config.rows" 2>/dev/null | median)" \
		"$(awk '{print $3}' "$tmp/$config.rows" 2>/dev/null | median)"
done
echo "# cpu_us/req: redis-server's utime + stime over the measured run / its 2 N requests (median of the runs)"

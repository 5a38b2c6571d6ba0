#!/bin/bash
# The cost of sampling (`--sample`, issue 19) for the process sampled: the
# longest a busy thread is held up while memtrace samples 2,000 live
# contexts ten times a second, beside the same run traced without sampling
# (--sample 3600: one sample at the start) and the program alone.
#
# bench/stall.c loops for SECONDS allocating through CONTEXTS distinct
# callstacks (one live block each) and reports the longest gap between two
# of its iterations and the 99.9th and 99.99th percentile gaps. Each
# configuration runs RUNS times, started by memtrace (start mode, --console
# none); the table gives each run's figures. A sample is one pass over the
# agent's counters in its control thread, with no lock the hooks take, so
# the sampled run's gaps must be the unsampled traced run's: on a machine
# that runs other work, both show the scheduler's own gaps (milliseconds).
#
#   BUILD=build RUNS=3 SECS=5 CONTEXTS=2000 bench/sample.sh
set -u
BUILD=$(readlink -f "${BUILD:-build}")
RUNS=${RUNS:-3}
SECS=${SECONDS_PER_RUN:-${SECS:-5}}
CONTEXTS=${CONTEXTS:-2000}
stall=$BUILD/bench/stall
mt=$BUILD/memtrace
[ -x "$stall" ] && [ -x "$mt" ] || { echo "bench/sample.sh: build first (make test-bins BUILD=$BUILD)" >&2; exit 2; }

fmt="%-26s %4s %12s %12s %9s %10s\n"
echo "stall: $CONTEXTS contexts, $SECS s a run, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
printf "$fmt" config run iterations max_gap_us p999_us p9999_us
for config in alone "traced, --sample 3600" "traced, --sample 0.1"; do
	for r in $(seq "$RUNS"); do
		case $config in
		alone) line=$("$stall" "$CONTEXTS" "$SECS") ;;
		*)
			s=${config##* }
			line=$("$mt" --console none --sample "$s" -o /dev/null "$stall" "$CONTEXTS" "$SECS" 2>/dev/null |
				grep '^iterations')
			;;
		esac
		read -r _ it _ max _ p999 _ p9999 <<<"$line"
		printf "$fmt" "$config" "$r" "${it:-?}" "${max:-?}" "${p999:-?}" "${p9999:-?}"
	done
done

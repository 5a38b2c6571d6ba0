#!/bin/bash
#
# run.sh: the test runner behind `make check`.
#
#   tests/run.sh [unit|integration] [FILTER...]
#
# Runs every $BUILD/tests/unit/test_* binary and every tests/integration/t-*.sh,
# each in a fresh temporary directory (removed when the test passes or skips,
# kept and named when it fails), with a time limit of $TEST_TIMEOUT (120) s.
# Integration tests run twice: with $BUILD/memtrace and with the
# AddressSanitizer build $BUILD/asan/memtrace ("t-foo [asan]").  A FILTER
# keeps the tests whose name contains it (EXACT=1: whose name it is).  $JOBS (2) tests run at a time;
# results are printed in a fixed order, one line each (with the seconds a
# passing test took), and the last line is
# "N passed, N failed, N skipped".  Exit status 1 if any test failed.
# VARIANTS="plain" (or "asan") runs the integration tests with one memtrace.
# A failing test's last $TAIL_LINES (30) lines of output are printed.
#
# Test exit status: 0 pass, 77 skip (last "SKIP: reason" line of its output
# is the reason), 99 broken harness, anything else fail.

set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 2
BUILD=$(readlink -f "${BUILD:-build}")
JOBS=${JOBS:-2}
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
TAIL_LINES=${TAIL_LINES:-30}

kind=all
filters=()
for arg in "$@"; do
	case $arg in
	unit | integration) kind=$arg ;;
	all) kind=all ;;
	-h | --help)
		sed -n '3,18s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*) filters+=("$arg") ;;
	esac
done

selected() {
	local f
	[ ${#filters[@]} -eq 0 ] && return 0
	for f in "${filters[@]}"; do
		if [ "${EXACT:-0}" = 1 ]; then
			[ "$1" = "$f" ] || [ "$1" = "$f [asan]" ] && return 0
			continue
		fi
		case $1 in *"$f"*) return 0 ;; esac
	done
	return 1
}

# The list of tests: name, kind, command, memtrace binary.
names=()
cmds=()
mts=()
add() {
	selected "$1" || return 0
	names+=("$1")
	cmds+=("$2")
	mts+=("$3")
}

if [ "$kind" != integration ]; then
	for t in "$BUILD"/tests/unit/test_*; do
		[ -x "$t" ] || continue
		add "$(basename "$t")" "$t" "$BUILD/memtrace"
	done
fi
if [ "$kind" != unit ]; then
	for t in tests/integration/t-*.sh; do
		[ -e "$t" ] || continue
		n=$(basename "$t" .sh)
		for variant in ${VARIANTS:-plain asan}; do
			case $variant in
			plain) add "$n" "$TOP/$t" "$BUILD/memtrace" ;;
			asan) add "$n [asan]" "$TOP/$t" "$BUILD/asan/memtrace" ;;
			esac
		done
	done
fi

total=${#names[@]}
if [ "$total" -eq 0 ]; then
	echo "run.sh: no test matches (kind $kind${filters[*]:+, filter ${filters[*]}})" >&2
	echo "0 passed, 0 failed, 0 skipped"
	exit 0
fi

results=$(mktemp -d "${TMPDIR:-/tmp}/memtrace-run.XXXXXX") || exit 2
trap 'rm -rf "$results"' EXIT
trap 'exit 130' INT TERM

# run_one I: test I in its own directory; leaves $results/I.rc, I.log, I.dir
# and finally I.done.
run_one() {
	local i=$1 name=${names[$1]} dir rc slug

	slug=$(printf '%s' "$name" | tr -c 'A-Za-z0-9_.-' '-')
	dir=$(mktemp -d "${TMPDIR:-/tmp}/memtrace-$slug.XXXXXX") || {
		echo 99 >"$results/$i.rc"
		echo "cannot make a temporary directory" >"$results/$i.log"
		: >"$results/$i.done"
		return
	}
	local t0=$SECONDS
	(
		cd "$dir" || exit 99
		export MEMTRACE=${mts[$i]} VICTIMS=$BUILD/tests/victims TOP=$TOP BUILD=$BUILD
		exec timeout -k 10 "$TEST_TIMEOUT" "${cmds[$i]}" </dev/null
	) >"$results/$i.log" 2>&1
	rc=$?
	echo $((SECONDS - t0)) >"$results/$i.secs"
	echo "$rc" >"$results/$i.rc"
	echo "$dir" >"$results/$i.dir"
	: >"$results/$i.done"
}

passed=0
failed=0
skipped=0

report_one() {
	local i=$1 name=${names[$1]} rc dir reason secs
	rc=$(cat "$results/$i.rc")
	dir=$(cat "$results/$i.dir" 2>/dev/null)
	secs=$(cat "$results/$i.secs" 2>/dev/null)
	case $rc in
	0)
		echo "PASS $name (${secs:-?} s)"
		passed=$((passed + 1))
		rm -rf "$dir"
		;;
	77)
		reason=$(grep '^SKIP: ' "$results/$i.log" | tail -n 1 | sed 's/^SKIP: //')
		echo "SKIP $name (${reason:-no reason given})"
		skipped=$((skipped + 1))
		rm -rf "$dir"
		;;
	*)
		case $rc in
		99) reason="harness broken, exit 99" ;;
		124 | 137) reason="timed out after $TEST_TIMEOUT s" ;;
		*) reason="exit $rc" ;;
		esac
		if [ -n "$dir" ] && [ -d "$dir" ]; then
			cp "$results/$i.log" "$dir/test.log" 2>/dev/null
			reason="$reason; kept $dir"
		fi
		echo "FAIL $name ($reason)"
		tail -n "$TAIL_LINES" "$results/$i.log" | sed 's/^/    /'
		failed=$((failed + 1))
		;;
	esac
}

# Start tests while fewer than $JOBS run; print results in list order.
next_start=0
next_print=0
while [ $next_print -lt "$total" ]; do
	running=0
	for ((k = next_print; k < next_start; k++)); do
		[ -e "$results/$k.done" ] || running=$((running + 1))
	done
	while [ $running -lt "$JOBS" ] && [ $next_start -lt "$total" ]; do
		run_one $next_start &
		next_start=$((next_start + 1))
		running=$((running + 1))
	done
	if [ -e "$results/$next_print.done" ]; then
		report_one $next_print
		next_print=$((next_print + 1))
		continue
	fi
	sleep 0.1
done
wait

echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]

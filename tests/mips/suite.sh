#!/bin/bash
# suite.sh: what a MIPS VM runs (tests/arm/vm.sh puts it at /t/src/tests/mips).
# The cross build is in /t/build; the tests to run are the FILTER arguments
# vm.sh was given (/t/filters), or else every test named in tests/mips/suite.
# tests/run.sh then prints one line per test and "N passed, N failed, N skipped".
cd /t/src || exit 2
mapfile -t filters < <(grep -v '^$' /t/filters 2>/dev/null)
if [ ${#filters[@]} -eq 0 ]; then
	# The suite's names are whole test names (t-attach-threads is not
	# t-attach-safepoint-threads).
	mapfile -t filters < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' tests/mips/suite)
	export EXACT=1
fi
# MEMTRACE_TEST_QUICK: tests that can scale down do, for emulation's sake.
# TEST_TIMEOUT: a test's time limit, 300 s instead of 120: t-attach-exit-report
# takes 55-105 s in the VMs on a quiet machine and passed 120 s in the armel
# VM while the machine ran other work; a hang is still caught.
export BUILD=/t/build VARIANTS=plain TMPDIR=/tmp JOBS=${JOBS:-$(nproc)} MEMTRACE_TEST_QUICK=1
# TAIL_LINES: more of a failing test's output than on the host (80 lines, not 30):
# a stack comparison prints a line a frame.
export TEST_TIMEOUT=${TEST_TIMEOUT:-300} TAIL_LINES=${TAIL_LINES:-80}
# MT_TIMEOUT: one memtrace run's limit, 240 s instead of 60: libunwind, the
# unwinder on MIPS, under emulation made the threads victim (320,000
# allocations in 8 threads) take 102 s traced where it takes 6.5 s alone.
export MT_TIMEOUT=${MT_TIMEOUT:-240}
exec bash tests/run.sh "${filters[@]}"

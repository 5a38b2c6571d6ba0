#!/bin/bash
#
# corecheck.sh: is CORE, a core memtrace's coredump wrote of the running
# tests/victims/core_victim, whole in gdb's eyes?
#
#   tests/lib/corecheck.sh GDB PROG CORE [SYSROOT]
#
# GDB (gdb, or gdb-multiarch for an ARM core) opens CORE with PROG, the
# victim's unstripped build (SYSROOT: gdb's sysroot, where the device's
# libraries and agent are).  `thread apply all bt` must list five threads,
# each in its own function (main, the agent's control_main, core_sleeper,
# core_reader, core_poller), and core_global must read "MEMTRACE-CORE-GLOBAL".
# When readelf is installed, `readelf -n` must parse the notes: one
# NT_PRSTATUS per thread, NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE and the
# FP state (NT_FPREGSET; on 32-bit ARM NT_ARM_VFP), without complaint.
#
# Prints one line per thing wrong and exits 1 if any (0 if none); gdb's
# output is left in CORE.gdb and readelf's in CORE.notes.

[ $# -ge 3 ] || { echo "usage: corecheck.sh GDB PROG CORE [SYSROOT]" >&2; exit 2; }
gdb=$1 prog=$2 core=$3 sysroot=${4:-}
bad=0
problem() {
	echo "$core: $*"
	bad=1
}

set -- -nx -batch -iex 'set debuginfod enabled off' -iex 'set auto-load off'
[ -z "$sysroot" ] || set -- "$@" -iex "set sysroot $sysroot"
"$gdb" "$@" -ex 'info threads' -ex 'thread apply all bt' -ex 'print core_global' "$prog" "$core" \
	>"$core.gdb" 2>&1 || problem "$gdb exited $? on it"
[ "$(grep -cE '^Thread [0-9]+ \(Thread .*LWP [0-9]+\)' "$core.gdb")" = 5 ] ||
	problem "thread apply all bt does not list 5 threads"
# each thread's own function, in its own stack
threads=""
for f in main control_main core_sleeper core_reader core_poller; do
	t=$(awk -v f="$f" '/^Thread [0-9]+ / { t = $2 } $0 ~ " " f " \\(" && /^#/ { print t; exit }' "$core.gdb")
	[ -n "$t" ] || problem "no thread has $f in its backtrace"
	threads="$threads ${t:-none-$f}"
done
[ "$(printf '%s\n' $threads | sort -u | wc -l)" = 5 ] ||
	problem "main, control_main, core_sleeper, core_reader and core_poller are not in five different threads"
grep -q '= "MEMTRACE-CORE-GLOBAL"' "$core.gdb" || problem "core_global is not readable"

if command -v readelf >/dev/null; then
	readelf -n "$core" >"$core.notes" 2>&1 || problem "readelf -n fails"
	[ "$(grep -c NT_PRSTATUS "$core.notes")" = 5 ] || problem "not 5 NT_PRSTATUS notes"
	fp=NT_FPREGSET
	grep -q 'Machine:.*ARM$' < <(readelf -h "$core" 2>/dev/null) && fp=NT_ARM_VFP
	for t in NT_PRPSINFO NT_SIGINFO NT_AUXV NT_FILE $fp; do
		grep -q "$t" "$core.notes" || problem "no $t note"
	done
	! grep -qi 'error\|warning' "$core.notes" || problem "readelf complains: $(grep -im1 'error\|warning' "$core.notes")"
fi
exit $bad

#!/bin/bash
#
# check.sh: the test part of `make check`.
#
# Runs the host suite (tests/run.sh), then, unless CHECK_MUSL=0, the musl
# suite (tests/musl/run.sh), and unless CHECK_ARM=0, the ARM VMs
# (tests/arm/run.sh $ARM_DEBARCHS), unless CHECK_MIPS=0 the MIPS VMs
# (tests/mips/run.sh $MIPS_DEBARCHS), showing their output as it comes; ends
# with one line per part and last their sum, "N passed, N failed, N skipped".
# Exit status 1 if anything failed.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 2
out=$(mktemp "${TMPDIR:-/tmp}/memtrace-check.XXXXXX") || exit 2
trap 'rm -f "$out"' EXIT

passed=0
failed=0
skipped=0
status=0
summaries=()

# part NAME COMMAND...: run it, its output to the terminal and to $out; add
# its last summary line to the totals (none at all counts as a failure).
part() {
	local name=$1 line p f s
	shift
	"$@" 2>&1 | tee "$out"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n 1)
	if [ -z "$line" ]; then
		line="0 passed, 1 failed, 0 skipped (no summary)"
		status=1
	fi
	read -r p _ f _ s _ <<<"$line"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	summaries+=("$name: $line")
}

part host tests/run.sh
[ "${CHECK_MUSL:-1}" = 0 ] || part musl tests/musl/run.sh
[ "${CHECK_ARM:-1}" = 0 ] || part arm tests/arm/run.sh ${ARM_DEBARCHS:-}
[ "${CHECK_MIPS:-1}" = 0 ] || part mips tests/mips/run.sh ${MIPS_DEBARCHS:-}
printf '%s\n' "${summaries[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ $status -eq 0 ] && [ $failed -eq 0 ]

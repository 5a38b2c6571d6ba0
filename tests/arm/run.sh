#!/bin/bash
#
# run.sh: the ARM part of `make check` (make check-arm).
#
#   tests/arm/run.sh [DEBARCH...]        default: arm64 armhf armel
#
# Runs tests/arm/vm.sh for each architecture, one VM after the other (each
# VM uses both cores), shows their result lines, one summary line per
# architecture and last the sum: "N passed, N failed, N skipped".  Exit
# status 1 if any test failed or a VM could not run its suite.

set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 2
[ $# -gt 0 ] || set -- arm64 armhf armel

passed=0
failed=0
skipped=0
status=0
for arch in "$@"; do
	out=$(tests/arm/vm.sh "$arch" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	[ $rc -eq 0 ] || status=1
	read -r p f s < <(printf '%s\n' "$out" |
		sed -n "s/^$arch: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped.*/\1 \2 \3/p" | tail -n 1)
	if [ -n "${s:-}" ]; then
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + s))
	else
		failed=$((failed + 1))
	fi
	# A VM that could not run counts as one failure.
	[ $rc -ne 2 ] || failed=$((failed + 1))
done
echo "$passed passed, $failed failed, $skipped skipped"
exit $status

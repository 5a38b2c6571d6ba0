#!/bin/bash
#
# run.sh: the MIPS part of `make check` (make check-mips).
#
#   tests/mips/run.sh [DEBARCH...]       default: mipsel mips64el
#
# Runs tests/arm/vm.sh for each architecture, one VM after the other, shows
# their result lines, one summary line per architecture and last the sum:
# "N passed, N failed, N skipped".  Exit status 1 if any test failed or a
# VM could not run its suite.

set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 2
[ $# -gt 0 ] || set -- mipsel mips64el
exec tests/arm/run.sh "$@"

#!/bin/bash
#
# run.sh: the musl part of `make check` (make check-musl).
#
#   tests/musl/run.sh [FILTER...]        default: the tests named in tests/musl/suite
#
# Runs tests/run.sh on this host with the musl build, $BUILD/x86_64-linux-musl
# (make musl-bins): memtrace linked statically against musl, the agent and
# the victims built with musl-gcc, so every process a test starts is a musl
# process. memtrace-server is host code (glibc): the host build's is linked
# into the musl build dir for the tests that talk to one. Prints the tests'
# lines and "N passed, N failed, N skipped"; exit status 1 if one failed.

set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 2
BUILD=$(readlink -f "${BUILD:-build}")
MUSL_BUILD=$BUILD/x86_64-linux-musl

if [ ! -x "$MUSL_BUILD/memtrace" ] || [ ! -d "$MUSL_BUILD/tests/victims" ]; then
	echo "musl: $MUSL_BUILD has no test build: run 'make musl-bins'" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
for f in memtrace-server tests/tools/linkpeer; do
	[ -x "$BUILD/$f" ] && ln -sfn "$BUILD/$f" "$MUSL_BUILD/$f"
done
exact=0
if [ $# -eq 0 ]; then
	exact=1
	mapfile -t tests < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' tests/musl/suite)
	set -- "${tests[@]}"
fi
echo "musl: $(file -b "$MUSL_BUILD/memtrace" | cut -d, -f1-2), agent $(readelf -d "$MUSL_BUILD/libmemtrace-agent.so" |
	sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
BUILD=$MUSL_BUILD VARIANTS=plain EXACT=$exact exec tests/run.sh "$@"

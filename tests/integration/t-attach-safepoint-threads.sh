#!/bin/bash
# t-attach-safepoint-threads: t-attach-safepoint's fresh attaches to
# busy_alloc with eight threads in malloc/calloc/realloc/free loops (four
# under emulation, MEMTRACE_TEST_QUICK). A thread at a safe point is chosen
# although the others are inside the allocator, holding their arenas'
# locks: the call lets them run if it waits for one.
kinds=mmmmmmmm
[ -z "${MEMTRACE_TEST_QUICK:-}" ] || kinds=mmmm
SAFEPOINT_KINDS=${SAFEPOINT_KINDS:-$kinds} exec "$(dirname "$0")/t-attach-safepoint.sh"

#!/bin/bash
# t-malloc-family: every allocator memtrace replaces, with its edge cases
# (tests/victims/malloc_family.c), under both unwinders.  The victim's own
# checks of libc semantics must give the same output traced as untraced, and
# the report must show exactly the leaked blocks, one per allocator, each
# with the size asked for (pvalloc: not rounded), realloc'ed blocks under the
# caller of realloc with their new size.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

victim_test malloc_family
[ "$(rc_of plain)" = 0 ] || fail_later "malloc_family fails its own checks even without memtrace"
finish

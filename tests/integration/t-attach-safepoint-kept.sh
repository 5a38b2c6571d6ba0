#!/bin/bash
# t-attach-safepoint-kept: t-attach-safepoint's fresh attaches to
# busy_alloc "mk": the allocator beside a thread calling dl_iterate_phdr
# through an address it kept from before the attach, so its calls never
# pass the agent's hook and its callbacks allocate with the loader's list
# lock held. A walk there must not enter libunwind, whose cache lock is
# taken the other way round by the allocating thread (agent/loaderlock.h):
# before the lock's owner was read, one attach in a few left both threads
# deadlocked and the victim never ended.
SAFEPOINT_KINDS=${SAFEPOINT_KINDS:-mk} exec "$(dirname "$0")/t-attach-safepoint.sh"

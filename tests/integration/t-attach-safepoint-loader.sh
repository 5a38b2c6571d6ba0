#!/bin/bash
# t-attach-safepoint-loader: t-attach-safepoint's fresh attaches to
# busy_alloc with a thread in the allocator beside one looping in
# dlopen/dlclose (md) and one in dl_iterate_phdr callbacks that allocate
# (mi). The agent patches the GOTs in its constructor, under the loader's
# lock, so no module is seen half loaded or half unloaded; a callback that
# allocates under dl_iterate_phdr's lock is walked without libunwind's
# cache lock (the order that deadlocked).
SAFEPOINT_KINDS=${SAFEPOINT_KINDS:-md mi} exec "$(dirname "$0")/t-attach-safepoint.sh"

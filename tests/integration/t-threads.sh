#!/bin/bash
# t-threads: eight threads allocating and freeing at once, each leaking a
# known number of blocks from its own function (tests/victims/threads.c).
# Same output traced (the victim checks no block was damaged), and each
# thread's leak under its own function, under both unwinders.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

victim_test threads
finish

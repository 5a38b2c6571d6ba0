#!/bin/bash
# t-demo: the sample of `make demo` (tests/victims/demo_leaky.c): same output
# traced, and its two leaks reported where it says they are.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

victim_test demo_leaky
finish

#!/bin/bash
# t-agent-path: which agent is loaded.  -L /nonexistent/lib.so and
# MEMTRACE_AGENT=/nonexistent/... make memtrace fail with 125 and a message
# naming the path, without running PROG; -L and MEMTRACE_AGENT naming a copy
# of the agent work (the report matches the victim).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim exitcode)
agent=$BUILD/libmemtrace-agent.so
[ -e "$agent" ] || broken "$agent not built"

run_mt opt-missing -L /nonexistent/lib.so "$prog" 0
expect_rc opt-missing 125 || fail_later "-L /nonexistent/lib.so: wrong exit status"
has opt-missing.err '^memtrace: .*/nonexistent/lib\.so' ||
	{ fail_later "-L /nonexistent/lib.so: no 'memtrace: ' message naming the path"; show opt-missing.err; }
! has opt-missing.out 'EXPECT' || fail_later "-L /nonexistent/lib.so: PROG ran anyway"

MEMTRACE_AGENT=/nonexistent/env-agent.so run_mt env-missing "$prog" 0
expect_rc env-missing 125 || fail_later "MEMTRACE_AGENT=/nonexistent/env-agent.so: wrong exit status"
has env-missing.err '^memtrace: .*/nonexistent/env-agent\.so' ||
	{ fail_later "MEMTRACE_AGENT=/nonexistent/env-agent.so: no message naming the path"; show env-missing.err; }

cp "$agent" "$PWD/agent-copy.so"
run_traced opt-copy -L "$PWD/agent-copy.so" "$prog" 4
expect_rc opt-copy 4 || fail_later "-L copy of the agent: wrong exit status"
check_expect opt-copy.json opt-copy.out "$prog" || fail_later "-L copy of the agent: report"

MEMTRACE_AGENT=$PWD/agent-copy.so run_traced env-copy "$prog" 4
expect_rc env-copy 4 || fail_later "MEMTRACE_AGENT=copy of the agent: wrong exit status"
check_expect env-copy.json env-copy.out "$prog" || fail_later "MEMTRACE_AGENT=copy of the agent: report"
finish

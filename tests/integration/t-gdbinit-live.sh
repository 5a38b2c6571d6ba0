#!/bin/bash
# t-gdbinit-live: the gdb commands of gdbinit/memtrace.gdb on a live process
# agree with memtrace's own view of the same moment.  gdb_leaky
# (tests/victims/gdb_leaky.c) leaks, then keeps still; memtrace (start mode,
# console on a pipe: it does not ptrace) takes `report -c 0 --json` and dumps
# two contexts, then gdb attaches (-p) and runs each command:
#   memtrace-report 0   the same contexts in the same order with the same
#                       figures, the same frame addresses, and the same
#                       function names for the victim's frames;
#   memtrace-status     the report's summary, in `status`'s lines;
#   memtrace-blocks ID  the addresses, sizes and seqs `dump -c ID -n 100` gives;
#   memtrace-whoalloc   an interior pointer names its block and context.
# The anchor's heap descriptor (word 13) says glibc, its version, and, where
# gdb has libc's symbols (libc6-dbg), main_arena and tcache_key exactly.
# Afterwards the victim runs on and its exit report is right.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh disable=SC2016
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/gdbinit.sh
. "$(dirname "$0")/../lib/gdbinit.sh"

prog=$(victim gdb_leaky)
console_start s --json -o s.json "$prog" -m 200 -f stop -s 60
wait_for test -s gdb_leaky.started || fail "gdb_leaky did not start"
pid=$(sed -n 1p gdb_leaky.started)
medium=$((0x$(sed -n 2p gdb_leaky.started)))

console_send 'report -c 0 --json -o r.json'
wait_for valid_json r.json || fail "report --json -o r.json: no valid file"
med=$(ctx_of r.json "$prog" leak_medium)
small=$(ctx_of r.json "$prog" leak_small)
{ [ -n "$med" ] && [ -n "$small" ]; } || fail "no context for leak_medium or leak_small in r.json"
console_send "dump -c $med -n 100"
console_send "dump -c $small -n 100"
console_send 'report -c 1 --json -o sync.json'
wait_for valid_json sync.json || fail_later "the console stopped answering after dump"

gdb_run rep -p "$pid" -ex 'memtrace-report 0'
gdb_run st -p "$pid" -ex 'memtrace-status'
gdb_run blk -p "$pid" -ex "memtrace-blocks $med" -ex "memtrace-blocks $small"
gdb_run who -p "$pid" -ex "memtrace-whoalloc $((medium + 123))" -ex "memtrace-whoalloc $medium" \
	-ex "memtrace-whoalloc 0x10"

check_gdb_report rep.out r.json "$prog" || fail_later "memtrace-report 0 differs from report -c 0"
check_gdb_status st.out r.json || fail_later "memtrace-status differs from the report's summary"

# memtrace-blocks against dump: "addr size seq" of each context, sorted
for id in "$med" "$small"; do
	awk -v id="$id" '/^context [0-9]+: [0-9]+ live blocks/ { on = ($2 == id ":") }
		on && /^block 0x/ { gsub(",", ""); sub("#", "", $6); sub(":", "", $6); print $2, $3, $6 }' s.out |
		sort >"dump-$id"
	awk -v id="$id" '/^live blocks of context/ { on = ($5 == id) } /^context / { on = 0 }
		on && /^  0x/ { print $1, $2, $3 }' blk.out | sort >"gdb-$id"
	if [ ! -s "dump-$id" ] || ! cmp -s "dump-$id" "gdb-$id"; then
		fail_later "memtrace-blocks $id differs from dump -c $id (dump <, gdb >)"
		diff "dump-$id" "gdb-$id" | sed -n '1,20s/^/    /p'
		show blk.out
	fi
done
[ "$(wc -l <"dump-$med")" = 10 ] || fail_later "dump -c $med: $(wc -l <"dump-$med") blocks, leak_medium has 10"

# memtrace-whoalloc: inside, at the start, and nowhere
hex=$(printf '0x%x' "$medium")
has who.out "is 123 bytes into the block at $hex of 1000 bytes \(seq [0-9]+\), context $med:" ||
	fail_later "memtrace-whoalloc $hex+123 does not name the block at $hex of context $med"
has who.out "is 0 bytes into the block at $hex of 1000 bytes" ||
	fail_later "memtrace-whoalloc $hex does not find the block that starts there"
has who.out "#0 +0x[0-9a-f]+ <leak_medium\+" || fail_later "memtrace-whoalloc shows no leak_medium frame"
has who.out "0x10 is in no live block" || fail_later "memtrace-whoalloc 0x10 found a block"
[ "$FAILURES" -eq 0 ] || show who.out

# the heap descriptor: kind, version, main_arena, tcache_key
gdb_run heap -p "$pid" -ex 'printf "heap %llu %llu 0x%llx 0x%llx\n", ((unsigned long long *)((unsigned long long *)&memtrace_gdb)[13])[0], ((unsigned long long *)((unsigned long long *)&memtrace_gdb)[13])[1], ((unsigned long long *)((unsigned long long *)&memtrace_gdb)[13])[2], ((unsigned long long *)((unsigned long long *)&memtrace_gdb)[13])[3]' \
	-ex 'printf "sym 0x%lx 0x%lx\n", (unsigned long)&main_arena, (unsigned long)tcache_key'
ver=$(getconf GNU_LIBC_VERSION | awk '{ split($2, v, "."); print v[1] * 100 + v[2] }')
read -r _ kind hver arena key < <(grep '^heap ' heap.out)
[ "$kind" = 1 ] && [ "$hver" = "$ver" ] ||
	{ fail_later "heap descriptor: kind ${kind:-?} version ${hver:-?}, expected 1 and $ver"; show heap.out; }
if read -r _ sarena skey < <(grep '^sym ' heap.out); then
	[ "$arena" = "$sarena" ] && [ "$key" = "$skey" ] ||
		fail_later "heap descriptor: main_arena $arena tcache_key $key, libc's symbols say $sarena $skey"
else
	note "no libc symbols in gdb (libc6-dbg): main_arena and tcache_key not compared"
fi

# the victim runs on after gdb detached
touch stop
console_end "$MT_TIMEOUT"
expect_rc s 0 || fail_later "exit status"
check_victim_run s "$prog" "$DEFAULT_UNWINDER" || fail_later "exit report after gdb detached"
finish

#!/bin/bash
# t-leaks-live: `leaks` on a process that is still running gives valgrind's
# verdicts. leaks_graph (tests/victims/leaks_graph.c) builds a heap of known
# reachability, partly before the attach, and prints one line per verdict it
# makes: "VERDICT FUNCTION KIND BLOCKS BYTES". Attached, after it says
# leaked:
#   - `leaks -c 0 --kind all --json -o all.json`: the contexts grouped by
#     their first frame in the program give exactly the victim's lines for
#     every function (lost singles, a lost list, a lost cycle, blocks held
#     only through an interior pointer, only on a parked thread's stack,
#     only in a parked thread's register, only in TLS, only in an anonymous
#     mapping, by a global);
#   - context 0 (blocks from before the attach, found by walking glibc's
#     heap) holds exactly the victim's definitely and indirectly lost
#     pre-attach blocks, and among its possibly lost ones at least the two
#     parked threads' DTVs (glibc keeps a thread's DTV only through a
#     pointer two words in: valgrind says possibly lost too);
#   - the summary's definitely and indirectly lost totals are the victim's;
#   - the text form prints the four summary lines;
#   - context 0's lost blocks are grouped by size and by what their first
#     word points to: the victim's GROUP line (3 blocks whose first word is
#     &object_ops, named by the program's symbol) exactly;
#   - dump -c 0 --lost shows the 7 lost blocks from before the attach with
#     their bytes;
#   - who-points on the held blocks names what holds each: the program's
#     data (inside the interior block; at the start of the global's), a
#     thread's stack, a thread's register;
#   - the scan judged a copy of the process (scan.snapshot), and `leaks
#     --no-fork`, the process stopped throughout, gives the same verdicts;
#     the copy is gone afterwards (no child of the victim's is left, it saw
#     no SIGCHLD);
#   - the victim, checked after the scan and after detach, behaves exactly
#     as an untraced run (its kept blocks hold their patterns).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim leaks_graph) || exit 99

# The untraced run: what the traced one must print.
vstart plain "$prog"
vgo plain
vwait_file plain leaked || broken "leaks_graph did not say leaked"
vstop plain

vstart v "$prog"
attach_console c "$VPID" || finish
vgo v
vwait_file v leaked || { fail_later "leaks_graph did not say leaked while attached"; finish; }
rm -f all.json
console_send "leaks -c 0 --kind all --json -o all.json"
WAIT_SECONDS=60 wait_for valid_json all.json || { fail_later "leaks --json -o all.json: no valid file"; show c.err; }
rm -f nofork.json
console_send "leaks -c 0 --kind all --json -o nofork.json --no-fork"
WAIT_SECONDS=60 wait_for valid_json nofork.json || fail_later "leaks --no-fork: no valid file"
console_send "leaks"
WAIT_SECONDS=60 wait_for has c.out '^still reachable ' || fail_later "leaks: no text summary"
# who-points: why each held block counts (the victim wrote their addresses).
for h in interior global stack register; do
	console_send "who-points $(cat v.d/addr.$h)"
	console_send "sleep 0.1"
done
four_answers() {
	[ "$(grep -c ' is in block ' c.out)" -ge 4 ] && has c.out '^ +register [0-9]+ of thread'
}
WAIT_SECONDS=60 wait_for four_answers || fail_later "who-points: not 4 answers"
# dump of the lost blocks from before the attach: pre_single's 200 'p's,
# pre_list's 'l' nodes and pre_objects' 'o's, nothing else.
console_send "dump -c 0 --lost -n 20 -b 16"
WAIT_SECONDS=60 wait_for has c.out '^context 0: [0-9]+ lost' || fail_later "dump -c 0 --lost: no answer"
# The copies each scan judged are killed, then reaped by the agent: none is left.
no_children() { ! cat /proc/"$VPID"/task/*/children 2>/dev/null | grep -q '[0-9]'; }
WAIT_SECONDS=30 wait_for no_children || fail_later "a child of the victim is left after the scans: $(cat /proc/"$VPID"/task/*/children)"
mt_end c detach
vstop v
same_behaviour plain v || fail_later "the victim behaved differently traced"

# who-points' answers, in order: the interior block held only at +16 by a
# global in the program's memory; the global's block by the program's
# memory at its start; the stack holder's by anonymous memory (a thread
# stack); the register holder's by a register of a thread.
awk '/ is in block /{n++} n{print n": "$0}' c.out >who.txt
grep -qE "^1: .*possibly lost" who.txt || fail_later "who-points interior: not possibly lost"
grep -qE "^1: +0x[0-9a-f]+ in $prog: 0x[0-9a-f]+ \(inside\)" who.txt || fail_later "who-points interior: no pointer inside it from the program's data"
grep -qE "^2: +0x[0-9a-f]+ in $prog: 0x[0-9a-f]+$" who.txt || fail_later "who-points global: no start pointer from the program's data"
grep -qE "^3: +0x[0-9a-f]+ in anonymous memory: " who.txt || fail_later "who-points stack: no pointer from a thread's stack"
grep -qE "^4: +register [0-9]+ of thread [0-9]+: " who.txt || fail_later "who-points register: no pointer from a register"
[ "$FAILURES" -eq 0 ] || show who.txt

sed -n '/^context 0: [0-9]* lost/,$p' c.out >dump.txt
has dump.txt '^context 0: 7 lost' || fail_later "dump -c 0 --lost: not the 7 lost blocks from before the attach"
# (Sizes are usable sizes there, which differ by architecture: not compared.)
[ "$(grep -c '^block 0x[0-9a-f]*, [0-9]* bytes, definitely lost:' dump.txt)" = 5 ] ||
	fail_later "dump -c 0 --lost: not 5 definitely lost blocks (pre_single, pre_list's head, pre_objects')"
[ "$(grep -c '^block 0x[0-9a-f]*, [0-9]* bytes, indirectly lost:' dump.txt)" = 2 ] ||
	fail_later "dump -c 0 --lost: not pre_list's 2 other nodes"
has dump.txt 'pppppppppppppppp' || fail_later "dump -c 0 --lost: pre_single's bytes not shown"
[ "$FAILURES" -eq 0 ] || show dump.txt

# "FUNCTION KIND BLOCKS BYTES" per first frame in the program, context 0 as before_attach.
jq -r --arg m "$prog" '
	def kinds: {definite: .definitely_lost, indirect: .indirectly_lost,
		    possible: .possibly_lost, reachable: .still_reachable};
	.contexts[]
	| (if .id == 0 then "before_attach"
	   else ([.frames[] | select(.module == $m) | .symbol // "??" | sub("\\+0x[0-9a-f]+$"; "")] | first // "??")
	   end) as $fn
	| kinds | to_entries[] | select(.value.blocks > 0)
	| "\($fn) \(.key) \(.value.blocks) \(.value.bytes)"' all.json |
	awk '{ b[$1 " " $2] += $3; s[$1 " " $2] += $4 } END { for (k in b) print k, b[k], s[k] }' |
	sort >got.txt
sed -n 's/^VERDICT //p' plain.out | sort >want.txt
[ -s want.txt ] || broken "leaks_graph printed no VERDICT lines"

# Every function's line exactly, but context 0's possibly lost and still
# reachable blocks (glibc's and the loader's own), checked below.
grep -v '^before_attach \(possible\|reachable\) ' got.txt >got-exact.txt
if ! cmp -s want.txt got-exact.txt; then
	fail_later "the verdicts differ from what leaks_graph states (< stated, > leaks)"
	diff want.txt got-exact.txt | sed 's/^/    /'
fi
if [ "$(jq -r '.scan.before_attach' all.json)" = true ]; then
	pl=$(awk '$1 == "before_attach" && $2 == "possible" { print $3 }' got.txt)
	[ "${pl:-0}" -ge 2 ] || fail_later "context 0: ${pl:-0} possibly lost blocks, the two threads' DTVs at least"
else
	fail_later "blocks from before the attach were not judged: $(jq -r '.scan.note' all.json)"
fi
# Context 0's groups: the victim's GROUP line, "SIZE SYMBOL KIND BLOCKS BYTES".
sed -n 's/^GROUP before_attach //p' plain.out >want-groups.txt
[ -s want-groups.txt ] || broken "leaks_graph printed no GROUP line"
jq -r '.contexts[] | select(.id == 0) | .groups[] | select(.signature.symbol != null)
	| "\(.size) \(.signature.symbol) definite \(.definitely_lost.blocks) \(.definitely_lost.bytes)"' all.json >got-groups.txt
cmp -s want-groups.txt got-groups.txt || { fail_later "context 0's groups by signature are not leaks_graph's (< stated, > leaks)"; diff want-groups.txt got-groups.txt | sed 's/^/    /'; }
has c.out "^ +[0-9]+ bytes each, first word -> object_ops \($prog\): definitely lost [0-9]+ bytes in 3 blocks$" ||
	fail_later "leaks text: no line for context 0's group of object_ops"
for k in definite indirect; do
	want=$(awk -v k=$k '$2 == k { n += $4 } END { print n + 0 }' want.txt)
	key=$([ $k = definite ] && echo definitely_lost || echo indirectly_lost)
	got=$(jq -r ".summary.$key.bytes" all.json)
	[ "$want" = "$got" ] || fail_later "summary: $key $got bytes, leaks_graph states $want"
done
[ "$(jq -r '.scan.snapshot' all.json)" = true ] ||
	fail_later "leaks did not judge a copy of the process: $(jq -r '.scan.snapshot_note' all.json)"
[ "$(jq -r '.scan.snapshot' nofork.json)" = false ] || fail_later "leaks --no-fork judged a copy"
# The same verdicts, context by context, judged stopped (but context 0's
# possibly lost and still reachable blocks, glibc's and the loader's own,
# which come and go between two scans).
verdicts() {
	jq -c '[.contexts[] | {id, definitely_lost, indirectly_lost}
		+ (if .id == 0 then {} else {possibly_lost, still_reachable} end)] | sort_by(.id)' "$1"
}
[ "$(verdicts all.json)" = "$(verdicts nofork.json)" ] || {
	fail_later "leaks --no-fork gave other verdicts than the copy"
	diff <(verdicts all.json | jq .) <(verdicts nofork.json | jq .) | head -20 | sed 's/^/    /'
}
note "process stopped $(jq -r '.scan.stopped_ms' all.json) ms for $(jq -r '.scan.blocks' all.json) blocks (a copy judged), $(jq -r '.scan.stopped_ms' nofork.json) ms stopped throughout"
[ "$FAILURES" -eq 0 ] || { show got.txt; show c.err; }
finish

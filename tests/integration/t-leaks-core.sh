#!/bin/bash
# t-leaks-core: valgrind's verdicts from a core, judged on the host.  The
# device runs a stripped leaks_graph (tests/victims/leaks_graph.c: a heap
# of known reachability, partly before the attach, one "VERDICT FUNCTION
# KIND BLOCKS BYTES" line per verdict it makes); the host has its
# unstripped build in the sysroot sys/.  Attached and linked to
# memtrace-server, once leaks_graph says leaked:
#   - `coredump -n --gz` (sent to the server over the link), then `leaks`
#     on the live process at the same moment (the victim waits), then
#     `leaks --core` twice (JSON to a file and text): the server judges the
#     core it received; `inspect -c 0 --lost` shows the 7 lost blocks from
#     before the attach, `inspect -c ID --lost --type 'struct node'` the
#     lost list's 5 nodes as gdb prints them;
#   - offline, `memtrace-server --core CORE --exe PROG --leaks --kind all
#     --json sys` on the gzip'ed core, and the text form.
# Checks: the core's verdicts are the live process's, context by context,
# exactly, from the same roots (threads, root and block bytes read) (but context 0's possibly lost and still reachable blocks, whose
# count may move by the agent's control thread's own: the console's
# commands run there between the two looks), in both ways of asking; the
# contexts, grouped by the decoded function of their first frame, give
# exactly the victim's VERDICT lines, context 0's groups its GROUP line (the device's program is stripped:
# only the host's symbols name them); the text forms carry the summary;
# bad usage of --leaks is refused with exit status 2; the victim behaves
# exactly as untraced.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/link.sh
. "$(dirname "$0")/../lib/link.sh"

[ -x "$SERVER" ] || skip "$SERVER not built (host only: a cross build has no memtrace-server)"
command -v gdb >/dev/null || skip "gdb is not installed (memtrace-server opens cores with it)"
command -v strip >/dev/null || skip "strip missing (binutils)"
dev_copy leaks_graph
prog=$DEV
srv_local srv

vstart plain "$prog"
vgo plain
vwait_file plain leaked || broken "leaks_graph did not say leaked"
vstop plain

vstart v "$prog"
attach_console c "$VPID" --connect "127.0.0.1:$SRV_PORT" || finish
# The agent as the process loaded it, in the sysroot too (gdb finds memtrace's tables through its symbols).
agent=$(grep -o '/[^ ]*libmemtrace-agent[^ ]*\.so' "/proc/$VPID/maps" | head -n 1)
[ -n "$agent" ] && mkdir -p "sys$(dirname "$agent")" && cp "$agent" "sys$agent" || broken "the agent into the sysroot"
vgo v
vwait_file v leaked || { fail_later "leaks_graph did not say leaked while attached"; finish; }
console_send "coredump -n --gz -f v.core.gz"
console_send "leaks -c 0 --kind all --json -o live.json"
console_send "leaks --core -c 0 --kind all --json -o linked.json"
console_send "leaks --core -c 2"
console_send "inspect -c 0 --lost -n 20 --bytes 16"
console_send "sleep 0.2"
# A core is sent and opened in gdb first: generous for a loaded machine.
WAIT_SECONDS=60 wait_for valid_json linked.json || { fail_later "leaks --core --json -o linked.json: no valid file"; show c.err; }
WAIT_SECONDS=60 wait_for has c.out 'from a core$' || fail_later "leaks --core: no text answer"
WAIT_SECONDS=60 wait_for has c.out '^== context 0: [0-9]+ lost' || fail_later "inspect -c 0 --lost: no answer"
# The blocks of a verdict, typed by gdb on the host: leak_list's lost nodes as struct node.
list=$(jq -r '.contexts[] | select(any(.frames[]; .function == "leak_list")) | .id' linked.json 2>/dev/null | head -n 1)
console_send "inspect -c ${list:-1} --lost --type 'struct node'"
WAIT_SECONDS=60 wait_for has c.out "^== context ${list:-1}: 5 lost" || fail_later "inspect -c ${list:-?} --lost --type: no answer"
console_send "sleep 0.5"
mt_end c detach
vstop v
same_behaviour plain v || fail_later "the victim behaved differently traced"
valid_json live.json || fail_later "leaks --json -o live.json: no valid file"

# inspect of a verdict's blocks: context 0's 7 lost ones (pre_single's 'p's, pre_list's 'l's, pre_objects'
# 'o's after their first word), leak_list's 5 nodes typed (gdb shows their next pointers).
awk '/^== context 0: [0-9]+ lost/ { on = 1; print; next } /^== context / { on = 0 } on' c.out >insp0.txt
has insp0.txt '^== context 0: 7 lost \(definitely or indirectly\) blocks in the core$' ||
	fail_later "inspect -c 0 --lost: not the 7 lost blocks from before the attach"
[ "$(grep -c '^block 0x[0-9a-f]*, [0-9]* bytes, definitely lost:$' insp0.txt)" = 5 ] ||
	fail_later "inspect -c 0 --lost: not 5 definitely lost blocks"
has insp0.txt 'pppppppppppppppp' || fail_later "inspect -c 0 --lost: pre_single's bytes not shown"
[ "$(grep -c '^== \*(struct node \*) 0x' c.out)" = 5 ] || fail_later "inspect --lost --type 'struct node': not 5 nodes shown typed"
has c.out '^  next = (0x0|0x[0-9a-f]+),?$' || fail_later "inspect --lost --type 'struct node': no next field"
[ "$FAILURES" -eq 0 ] || show insp0.txt

# Offline, from the gzip'ed core and the unstripped build.
timeout -k 5 60 "$SERVER" --core v.core.gz --exe "sys$prog" --leaks --kind all --json sys >offline.json 2>offline.err
echo $? >offline.rc
expect_rc offline 0 && valid_json offline.json || { fail_later "memtrace-server --core --leaks --json failed"; show offline.err; }
timeout -k 5 60 "$SERVER" --core v.core.gz --exe "sys$prog" --leaks --count 3 sys >text.out 2>text.err
echo $? >text.rc
expect_rc text 0 || { fail_later "memtrace-server --core --leaks failed"; show text.err; }
for k in 'definitely lost' 'indirectly lost' 'possibly lost' 'still reachable'; do
	has text.out "^$k +[0-9]+ bytes in [0-9]+ blocks$" || fail_later "--leaks text: no '$k' summary line"
	has c.out "^$k +[0-9]+ bytes in [0-9]+ blocks$" || fail_later "leaks --core text: no '$k' summary line"
done
has text.out 'from a core$' || fail_later "--leaks text: does not say it judged a core"
[ "$FAILURES" -eq 0 ] || { show text.out; show text.err; }

# The verdicts per context, context 0's possibly lost and still reachable left out.
verdicts() {
	jq -r '.contexts[] | .id as $id
		| {definite: .definitely_lost, indirect: .indirectly_lost, possible: .possibly_lost, reachable: .still_reachable}
		| to_entries[] | select(.value.blocks > 0)
		| select($id != 0 or (.key != "possible" and .key != "reachable"))
		| "\($id) \(.key) \(.value.blocks) \(.value.bytes)"' "$1" | sort
}
verdicts live.json >live.txt
[ -s live.txt ] || fail_later "the live leaks found nothing"
for f in linked offline; do
	verdicts $f.json >$f.txt
	cmp -s live.txt $f.txt || { fail_later "$f: the core's verdicts are not the live process's (< live, > core)"; diff live.txt $f.txt | sed 's/^/    /'; }
	[ "$(jq -r .scan.before_attach $f.json)" = true ] || fail_later "$f: blocks from before the attach were not judged: $(jq -r .scan.note $f.json)"
	[ "$(jq -r .scan.core $f.json)" = true ] || fail_later "$f: scan.core is not true"
	# The same roots: every thread's stack from its stack pointer (the whole mapping when it
	# is not known), the same writable memory, the same blocks.
	for k in threads root_bytes block_bytes blocks; do
		[ "$(jq -r .scan.$k $f.json)" = "$(jq -r .scan.$k live.json)" ] ||
			fail_later "$f: scan.$k $(jq -r .scan.$k $f.json), the live scan's $(jq -r .scan.$k live.json)"
	done
done

# Decoded on the host: the contexts by the function of their first frame in the program.
jq -r --arg m "$prog" '
	def kinds: {definite: .definitely_lost, indirect: .indirectly_lost,
		    possible: .possibly_lost, reachable: .still_reachable};
	.contexts[]
	| (if .id == 0 then "before_attach"
	   else ([.frames[] | select(.module == $m) | .function // "??"] | first // "??")
	   end) as $fn
	| kinds | to_entries[] | select(.value.blocks > 0)
	| "\($fn) \(.key) \(.value.blocks) \(.value.bytes)"' offline.json |
	awk '{ b[$1 " " $2] += $3; s[$1 " " $2] += $4 } END { for (k in b) print k, b[k], s[k] }' |
	grep -v '^before_attach \(possible\|reachable\) ' | sort >got.txt
sed -n 's/^VERDICT //p' plain.out | sort >want.txt
[ -s want.txt ] || broken "leaks_graph printed no VERDICT lines"
cmp -s want.txt got.txt || { fail_later "the decoded verdicts differ from what leaks_graph states (< stated, > core)"; diff want.txt got.txt | sed 's/^/    /'; }

# Context 0's groups, named by gdb on the host: the victim's GROUP line exactly.
sed -n 's/^GROUP before_attach //p' plain.out >want-groups.txt
[ -s want-groups.txt ] || broken "leaks_graph printed no GROUP line"
jq -r '.contexts[] | select(.id == 0) | .groups[] | select(.signature.symbol != null)
	| "\(.size) \(.signature.symbol) definite \(.definitely_lost.blocks) \(.definitely_lost.bytes)"' offline.json >got-groups.txt
cmp -s want-groups.txt got-groups.txt || { fail_later "the core's context 0 groups are not leaks_graph's (< stated, > core)"; diff want-groups.txt got-groups.txt | sed 's/^/    /'; }

# Bad usage.
srv_usage u1 "--kind 'lots': definite, indirect, possible, reachable or all" --core v.core.gz --exe "sys$prog" --leaks --kind lots
srv_usage u2 "--count goes after the --leaks it is for" --core v.core.gz --exe "sys$prog" --count 3 --leaks
srv_usage u3 "--json goes with --report FILE, or with --core's --leaks" --core v.core.gz --exe "sys$prog" --blocks 1 --json
[ "$FAILURES" -eq 0 ] || { show c.err; show offline.err; }
finish

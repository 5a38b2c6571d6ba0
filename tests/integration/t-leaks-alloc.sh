#!/bin/bash
# t-leaks-alloc: leaks on a process whose allocator is not glibc's
# (leaks_graph, tests/victims/leaks_graph.c, with tcmalloc or jemalloc
# preloaded): only the blocks since the attach are judged, and leaks says
# so.  With tcmalloc, whose bookkeeping holds page numbers, not pointers,
# the verdicts of every context are exactly the victim's VERDICT lines.
# jemalloc's thread caches keep the addresses of the blocks they handed out
# and its extents their slabs' first block (seen with who-points: two
# pointers from jemalloc's own memory to a lost block), so a lost block
# looks still reachable: leaks names jemalloc and warns (scan.allocator,
# the text's warning line), rather than give verdicts it cannot stand by.
# The victim behaves as untraced in both.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim leaks_graph) || exit 99

for alloc in tcmalloc jemalloc; do
	lib=$(alloc_lib $alloc) || { fail_later "$lib"; continue; }
	VICTIM_PRELOAD=$lib
	vstart p-$alloc "$prog"
	vgo p-$alloc
	vwait_file p-$alloc leaked || broken "leaks_graph with $alloc did not say leaked"
	vstop p-$alloc
	vstart v-$alloc "$prog"
	attach_console c-$alloc "$VPID" || finish
	vgo v-$alloc
	vwait_file v-$alloc leaked || { fail_later "$alloc: leaks_graph did not say leaked while attached"; continue; }
	console_send "leaks -c 0 --kind all --json -o $alloc.json"
	console_send "leaks"
	WAIT_SECONDS=60 wait_for valid_json $alloc.json || fail_later "$alloc: leaks --json: no valid file"
	WAIT_SECONDS=60 wait_for has c-$alloc.out '^still reachable ' || fail_later "$alloc: leaks: no text summary"
	mt_end c-$alloc detach
	vstop v-$alloc
	same_behaviour p-$alloc v-$alloc || fail_later "$alloc: the victim behaved differently traced"
	unset VICTIM_PRELOAD
	[ "$(jq -r .scan.before_attach $alloc.json)" = false ] && jq -r .scan.note $alloc.json | grep -q 'not glibc' ||
		fail_later "$alloc: leaks does not say only the blocks since the attach are judged: $(jq -c .scan $alloc.json)"
done

# tcmalloc: every context's verdicts exactly the victim's (its before-attach lines aside).
jq -r --arg m "$prog" '
	def kinds: {definite: .definitely_lost, indirect: .indirectly_lost,
		    possible: .possibly_lost, reachable: .still_reachable};
	.contexts[] | select(.id != 0)
	| ([.frames[] | select(.module == $m) | .symbol // "??" | sub("\\+0x[0-9a-f]+$"; "")] | first // "??") as $fn
	| kinds | to_entries[] | select(.value.blocks > 0)
	| "\($fn) \(.key) \(.value.blocks) \(.value.bytes)"' tcmalloc.json |
	awk '{ b[$1 " " $2] += $3; s[$1 " " $2] += $4 } END { for (k in b) print k, b[k], s[k] }' | sort >got.txt
sed -n 's/^VERDICT //p' p-tcmalloc.out | grep -v '^before_attach ' | sort >want.txt
[ -s want.txt ] || broken "leaks_graph printed no VERDICT lines"
cmp -s want.txt got.txt || { fail_later "tcmalloc: the verdicts differ from what leaks_graph states (< stated, > leaks)"; diff want.txt got.txt | sed 's/^/    /'; }
[ "$(jq -r '.scan.allocator // "none"' tcmalloc.json)" = none ] || fail_later "tcmalloc: leaks warns about its allocator"

# jemalloc: named, and the warning given.
[ "$(jq -r '.scan.allocator // "none"' jemalloc.json)" = jemalloc ] || fail_later "jemalloc: scan.allocator is not jemalloc"
has c-jemalloc.out '^   warning: the allocator is jemalloc, whose thread caches and bookkeeping keep pointers' ||
	fail_later "jemalloc: the text has no warning"
finish

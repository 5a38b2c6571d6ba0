#!/bin/bash
# t-leaks-valgrind: the verdicts leaks_graph states (tests/victims/
# leaks_graph.c, its "VERDICT FUNCTION KIND BLOCKS BYTES" lines, which
# t-leaks-live holds memtrace's `leaks` to) are valgrind memcheck's.
# memtrace is not run: this checks the victim, so that t-leaks-live checks
# memtrace against valgrind and not against the victim's own belief.
#
# leaks_graph runs under memcheck with its gdbserver (a private
# --vgdb-prefix: parallel tests do not meet); once it says leaked, at the
# point where t-leaks-live scans it, `vgdb leak_check full kinds all
# heuristics none` (no heuristics: what memtrace does) gives memcheck's loss
# records with their stacks. Grouped by the first frame in leaks_graph.c:
#   - every function's line, and before_attach's definitely and indirectly
#     lost lines (pre_single and pre_list: memcheck saw them allocated),
#     exactly as the victim printed them under memcheck;
#   - the rest of what memcheck reports is what t-leaks-live allows in
#     context 0 and nothing else: pre_kept still reachable, and the two
#     parked threads' DTVs (glibc's allocate_dtv) possibly lost;
#   - the summary's definitely and indirectly lost totals are the lines' sums;
#   - the untraced run prints the same lines (t-leaks-live reads them from
#     it): the before_attach sizes are usable sizes (malloc_usable_size),
#     which memcheck makes the requested ones; leaks_graph asks 200 and 120
#     bytes, which glibc's 64-bit chunks hold exactly, so on a 32-bit host
#     only their block counts are compared;
#   - memcheck finds no error in the victim, which ends as untraced (its kept
#     blocks hold their patterns).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/valgrind.sh
. "$(dirname "$0")/../lib/valgrind.sh"

asan_build && skip "memtrace is not run: the victim is checked once, in the plain variant"
if ! have_valgrind || ! command -v vgdb >/dev/null 2>&1; then
	skip "valgrind (with vgdb) is not installed: scripts/deps.sh installs it"
fi
prog=$(victim leaks_graph) || exit 99
src=$(basename "$prog").c

plain_run plain "$prog"

# vstart runs PROG DIR: a wrapper that becomes memcheck (exec: the same
# pid, which leaks_graph writes to ready). Its log in m.vglog, the leak
# check at exit off (the one that counts is vgdb's, at leaked).
cat >vg-leaks_graph <<EOF
#!/bin/sh
exec valgrind --tool=memcheck --vgdb=yes --vgdb-prefix="$PWD/vg" --log-file="$PWD/m.vglog" \\
	--leak-check=no --num-callers=40 -- "$prog" "\$@"
EOF
chmod +x vg-leaks_graph || broken "chmod"

# Generous waits: memcheck takes a second or two to start (it translates
# the loader and libc before main) on an idle machine, many more when the
# suite shares the machine's cores, and runs the victim 20-50 times slower.
WAIT_SECONDS=60 vstart m ./vg-leaks_graph
vgo m
vwait_file m leaked 60 || { show m.vglog; broken "leaks_graph did not say leaked under valgrind within 60 s"; }
timeout -k 5 60 vgdb --vgdb-prefix="$PWD/vg" --pid="$VPID" leak_check full kinds all heuristics none \
	>m.vg 2>vgdb.err
rc=$?
vstop m 60 || fail_later "leaks_graph did not end within 60 s of stop under valgrind"
if [ $rc != 0 ] || ! has m.vg 'LEAK SUMMARY'; then
	show vgdb.err
	show m.vg
	broken "vgdb leak_check: exit status $rc, no leak summary"
fi
same_behaviour plain m || fail_later "leaks_graph behaves differently under valgrind"
errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' m.vglog | tail -n 1)
[ "$errs" = 0 ] || { fail_later "memcheck found ${errs:-?} errors in leaks_graph"; show m.vglog; }

# "FUNCTION KIND BLOCKS BYTES" per first frame in the victim's source; the
# DTVs as thread_dtv, pre_* as before_attach (pre_kept's line is the only
# still reachable one there).
vg_verdicts m | awk -F '\t' -v src="$src" '
	{
		n = split($4, f, " < ")
		fn = "??"
		for (i = 1; i <= n; i++)
			if (index(f[i], "(" src ":")) {
				fn = f[i]
				sub(/ \(.*/, "", fn)
				break
			}
		if ($4 ~ /allocate_dtv/)
			fn = "thread_dtv"
		else if (fn ~ /^pre_/)
			fn = "before_attach"
		b[fn " " $1] += $2
		s[fn " " $1] += $3
	}
	END { for (k in b) print k, b[k], s[k] }' | LC_ALL=C sort >got.txt
sed -n 's/^VERDICT //p' m.out | LC_ALL=C sort >want.txt
[ -s want.txt ] || broken "leaks_graph printed no VERDICT lines under valgrind"
[ -s got.txt ] || { show m.vg; broken "no loss record read from vgdb's output"; }

# Context 0's lines t-leaks-live does not compare: exactly these here.
{
	echo "before_attach reachable 1 296"
	echo "thread_dtv possible 2 $(awk '$1 == "thread_dtv" { print $4 }' got.txt)"
} | LC_ALL=C sort >extra-want.txt
grep -E '^(before_attach reachable|thread_dtv) ' got.txt >extra-got.txt
cmp -s extra-want.txt extra-got.txt || {
	fail_later "memcheck's verdicts outside the victim's lines: pre_kept still reachable, the two DTVs possibly lost expected (< expected, > memcheck)"
	diff extra-want.txt extra-got.txt | sed 's/^/    /'
}
grep -vE '^(before_attach reachable|thread_dtv) ' got.txt >got-exact.txt
if ! cmp -s want.txt got-exact.txt; then
	fail_later "memcheck's verdicts differ from what leaks_graph states (< stated, > memcheck)"
	diff want.txt got-exact.txt | sed 's/^/    /'
fi
for k in definite:definitely indirect:indirectly; do
	want=$(awk -v k="${k%%:*}" '$2 == k { n += $4 } END { print n + 0 }' want.txt)
	got=$(vg_log m | sed -E 's/ \([+-][0-9,]+\)//g' |
		awk -v k="${k#*:}" '$1 == k && $2 == "lost:" { gsub(",", "", $3); print $3 }' | tail -n 1)
	[ "$want" = "$got" ] || fail_later "memcheck's summary: ${k#*:} lost ${got:-?} bytes, leaks_graph states $want"
done

# The untraced run's lines: what t-leaks-live compares memtrace's with.
sed -n 's/^VERDICT //p' plain.out | LC_ALL=C sort >plain.txt
if [ "$(getconf LONG_BIT)" = 32 ]; then
	awk '$1 == "before_attach" { $4 = "-" } 1' plain.txt >plain-cmp.txt
	awk '$1 == "before_attach" { $4 = "-" } 1' want.txt >want-cmp.txt
else
	cp plain.txt plain-cmp.txt && cp want.txt want-cmp.txt
fi
cmp -s want-cmp.txt plain-cmp.txt || {
	fail_later "leaks_graph states other verdicts untraced than under memcheck (< memcheck, > untraced)"
	diff want-cmp.txt plain-cmp.txt | sed 's/^/    /'
}
note "memcheck's loss records, grouped: $(tr '\n' ';' <got.txt)"
[ "$FAILURES" -eq 0 ] || show got.txt # memcheck's own output: m.vg in the kept directory
finish

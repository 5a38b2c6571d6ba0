#!/bin/bash
# t-stdin-prog: in start mode a standard input that is not a terminal is
# PROG's, and memtrace reads not a byte of it (no console unless
# --console names one).
#  1. printf 'hello\n' | memtrace cat: cat prints hello, exit status 0, the
#     exit report as usual.
#  2. A `while read` loop around memtrace keeps its input: lines a..f, the
#     loop reads one, PROG (bash's read, which takes one line of a pipe
#     byte by byte) the next: the loop sees a c e, PROG b d f.  A memtrace
#     that read ahead would leave one or both with nothing.
#  3. Standard input from a file: PROG reads it all, memtrace none.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# Dynamically linked programs: bash where /bin/cat is a static busybox (the
# ARM VMs), which memtrace refuses.
BASH_BIN=$(command -v bash) || skip "no bash"
CAT=(/bin/cat)
case $(readlink -f /bin/cat) in
*busybox*) CAT=("$BASH_BIN" -c 'while IFS= read -r l; do printf "%s\n" "$l"; done') ;;
esac

note "printf 'hello\\n' | memtrace -o cat.report ${CAT[*]}"
printf 'hello\n' | timeout -k 5 "$MT_TIMEOUT" "$MEMTRACE" -o cat.report "${CAT[@]}" >cat.out 2>cat.err
echo $? >cat.rc
expect_rc cat 0 || fail_later "1: exit status"
[ "$(cat cat.out)" = hello ] || { fail_later "1: cat did not print its standard input"; show cat.out; show cat.err; }
has cat.report '^== memtrace exit report \(the program exited with code 0\)' ||
	{ fail_later "1: no exit report"; show cat.report; }

note "while read loop: memtrace $BASH_BIN -c 'read -r l; echo \"prog:\$l\"' in it"
printf '%s\n' a b c d e f | {
	while IFS= read -r x; do
		echo "loop:$x"
		timeout -k 5 "$MT_TIMEOUT" "$MEMTRACE" -o "loop-$x.report" "$BASH_BIN" -c 'IFS= read -r l; echo "prog:$l"' 2>>loop.err
		echo "rc:$?"
	done
} >loop.out
want=$(printf '%s\n' loop:a prog:b rc:0 loop:c prog:d rc:0 loop:e prog:f rc:0)
[ "$(cat loop.out)" = "$want" ] || {
	fail_later "2: the loop or PROG lost input (expected loop a c e, prog b d f)"
	show loop.out
	show loop.err
}

note "standard input from a file"
seq 1 5000 >numbers
timeout -k 5 "$MT_TIMEOUT" "$MEMTRACE" -o file.report "${CAT[@]}" <numbers >file.out 2>file.err
echo $? >file.rc
expect_rc file 0 || fail_later "3: exit status"
cmp -s numbers file.out || { fail_later "3: PROG did not get the whole file"; show file.err; }
finish

#!/bin/bash
# t-man: the manual pages. man/memtrace.1 and man/memtrace-server.1:
#   - groff reads them without a warning (-ww), and `man -l` renders them
#     with their NAME, SYNOPSIS and EXIT STATUS;
#   - every long option `--help` lists is in its page, and every console
#     command memtrace's --help names is in memtrace.1's CONSOLE COMMANDS;
#   - `make install DESTDIR=...` puts both under share/man/man1.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

command -v man >/dev/null && command -v groff >/dev/null || skip "man or groff is not installed (man-db, groff-base)"
SERVER=$BUILD/memtrace-server
[ -x "$SERVER" ] || skip "$SERVER not built (host only)"

for page in memtrace memtrace-server; do
	src=$TOP/man/$page.1
	groff -man -ww -z "$src" >"$page.warn" 2>&1
	[ -s "$page.warn" ] && { fail_later "$page.1: groff warns"; show "$page.warn"; }
	LANG=C MANWIDTH=200 man -l "$src" 2>"$page.err" | sed 's/.\x08//g' >"$page.txt"
	for h in NAME SYNOPSIS 'EXIT STATUS'; do
		grep -q "^$h" "$page.txt" || fail_later "$page.1: no $h section"
	done
done
# Every long option of --help, in its page.
"$MEMTRACE" --help >mt.help
"$SERVER" --help >srv.help 2>&1
for pair in "mt.help memtrace" "srv.help memtrace-server"; do
	read -r help page <<<"$pair"
	for opt in $(grep -oE -- '--[a-z][a-z-]+' "$help" | sort -u); do
		grep -qF -- "$opt" "$page.txt" || fail_later "$page.1 lacks $opt (in --help)"
	done
done
# Every console command, in memtrace.1's CONSOLE COMMANDS.
sed -n '/^CONSOLE COMMANDS/,/^EXIT STATUS/p' memtrace.txt >commands.txt
for c in $(sed -n '/^Console commands/,/^Exit status/p' mt.help | sed '1d;$d' | tr ',.' '  '); do
	grep -qE "(^|[ ,])$c([ ,]|$)" commands.txt || fail_later "memtrace.1's CONSOLE COMMANDS lacks $c"
done
# Installed.
make -C "$TOP" --no-print-directory BUILD="$BUILD" install DESTDIR="$PWD/inst" PREFIX=/usr >install.log 2>&1 ||
	{ fail_later "make install failed"; show install.log; }
for page in memtrace memtrace-server; do
	[ -f "inst/usr/share/man/man1/$page.1" ] || fail_later "make install put no share/man/man1/$page.1"
done
finish

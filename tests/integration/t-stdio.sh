#!/bin/bash
# t-stdio: PROG's standard streams and arguments are its own.  With -x the
# console does not read standard input, so PROG gets it; PROG's stderr is
# memtrace's; arguments after PROG reach PROG untouched (empty ones, spaces,
# globs, and words that look like memtrace options).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# Dynamically linked programs: bash where /bin/sh and /bin/cat are a static
# busybox (the ARM VMs), which memtrace refuses.
SH=/bin/sh
CAT=(/bin/cat)
case $(readlink -f /bin/sh) in
*busybox*)
	SH=$(command -v bash)
	CAT=("$SH" -c 'while IFS= read -r l; do printf "%s\n" "$l"; done')
	;;
esac

echo hello-from-stdin >input
RUN_STDIN=input run_mt cat -o cat.report -x status "${CAT[@]}"
expect_rc cat 0 || fail_later "cat: exit status"
has cat.out '^hello-from-stdin$' || { fail_later "with -x, PROG did not get standard input"; show cat.out; }

run_mt sh -o sh.report "$SH" -c 'echo to-stderr >&2; echo to-stdout; exit 3'
expect_rc sh 3 || fail_later "sh: exit status"
has sh.err '^to-stderr$' || fail_later "PROG's stderr did not come through"
[ "$(cat sh.out)" = to-stdout ] || { fail_later "PROG's stdout is not its own"; show sh.out; }

run_mt args -o args.report "$SH" -c 'printf "[%s]" "$@"; echo' sh 'a b' '' 'c*' -d 8 --json -x status --
expect_rc args 0 || fail_later "args: exit status"
[ "$(cat args.out)" = '[a b][][c*][-d][8][--json][-x][status][--]' ] ||
	{ fail_later "PROG's arguments changed"; show args.out; }
finish

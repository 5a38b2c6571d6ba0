#!/bin/bash
# t-prog-errors: PROG cannot be run.  Not found: exit 127 and the message
# names it; not executable (a file without x, a directory) or statically
# linked (no LD_PRELOAD): exit 126, named.  A set-user-ID PROG run by
# another user (the loader ignores LD_PRELOAD for it): it runs on without
# the agent, and the message says that cause, not a list of guesses.
# Messages go to stderr with the prefix "memtrace: ", nothing to stdout.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

expect_error() { # TAG CODE NAME
	local tag=$1 code=$2 name=$3
	expect_rc "$tag" "$code" || fail_later "$tag: wrong exit status"
	has "$tag.err" "^memtrace: .*$name" ||
		{ fail_later "$tag: no 'memtrace: ' message naming $name on stderr"; show "$tag.err"; }
	[ ! -s "$tag.out" ] || { fail_later "$tag: output on stdout"; show "$tag.out"; }
}

run_mt notfound ./no-such-program-here
expect_error notfound 127 'no-such-program-here'
run_mt notfound-path no-such-program-in-path
expect_error notfound-path 127 'no-such-program-in-path'
run_mt notfound-abs /nonexistent/dir/prog
expect_error notfound-abs 127 '/nonexistent/dir/prog'

printf '#!/bin/sh\necho should not run\n' >noexec.sh
chmod 644 noexec.sh
run_mt noexec ./noexec.sh
expect_error noexec 126 'noexec\.sh'

mkdir adir
run_mt directory ./adir
expect_error directory 126 'adir'

# A static program cannot take the preloaded agent: said before it runs.
static=$(victim static_loop) || exit 99
mkdir st.d
run_mt static "$static" st.d
expect_error static 126 'static_loop is statically linked'
[ ! -e st.d/ready ] || fail_later "the static program ran although memtrace refused it"

# Set-user-ID: memtrace as nobody, PROG owned by another uid.
if [ "$(id -u)" = 0 ] && setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups true 2>/dev/null &&
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups test -x "$MEMTRACE"; then
	chmod 777 "$PWD"
	cp "$(victim ticker)" suid-ticker && chown 12345 suid-ticker && chmod 4755 suid-ticker
	note "memtrace -t 1 ./suid-ticker -s 3, as nobody"
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$MEMTRACE" -t 1 ./suid-ticker -s 3 \
		</dev/null >suid.out 2>suid.err
	echo $? >suid.rc
	expect_rc suid 0 || fail_later "setuid PROG: memtrace did not end with its status"
	has suid.out '^ticker: stopped' || fail_later "setuid PROG: it did not run to its end"
	has suid.err 'changed credentials at its start \(set-user-ID.*ignores LD_PRELOAD' ||
		{ fail_later "setuid PROG: the message does not name the set-user-ID cause"; show suid.err; }
	has suid.err 'static, setuid, or' && fail_later "setuid PROG: the old list of guesses"
else
	note "setuid case left out: not root, or no setpriv --reuid to become nobody"
fi
finish

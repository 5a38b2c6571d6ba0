#!/bin/bash
# t-server-token: the server link's hello (docs/protocol.md, "Hello") as
# memtrace-server checks it, with a token given by --token and by
# --token-file: a hello without the token, or with another one, is refused
# ("token refused: ...") and the connection closed; the right one is
# accepted and the link serves. Also: a hello with the role of a server is
# refused; a request before the hello gets "say hello first" and the
# connection goes on; a peer that says no hello is closed when the hello
# time runs out (shortened by MEMTRACE_SERVER_TIMEOUTS_MS); the token never
# shows in the server's log; bad tokens are usage errors.
# "A && B || fail": a failure of either step is the one to report.
# shellcheck disable=SC2015
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
. "$(dirname "$0")/../lib/server.sh"

# refused TAG WHY: TAG's hello was refused with an error saying WHY, and the server closed.
refused() {
	local got
	got=$(line "$1" 1 | jq -r '"\(.ok) \(.error)"' 2>/dev/null)
	case $got in "false "*"$2"*) ;; *) fail_later "$1: the hello was not refused with '$2': $(line "$1" 1)" ;; esac
	[ "$(line "$1" 2)" = closed ] || fail_later "$1: the server did not close after refusing the hello ($(line "$1" 2))"
}
# accepted TAG: TAG's hello was accepted, then its ping answered.
accepted() {
	[ "$(line "$1" 1 | jq -c '[.ok, .role]' 2>/dev/null)" = '[true,"server"]' ] &&
		[ "$(line "$1" 2 | jq -c '[.id, .ok]' 2>/dev/null)" = '[2,true]' ] ||
		fail_later "$1: the hello was not accepted, or the link does not serve: $(cat "$1.out")"
}

# tokens TAG ARGS...: a server with ARGS (a token "s3cret w/ space"), checked hello by hello.
tokens() {
	local tag=$1
	shift
	MEMTRACE_SERVER_TIMEOUTS_MS=1500,30000,30000 srv_start "$tag" -v --listen 127.0.0.1:0 --no-multicast "$@"
	lp "$tag-none" connect "127.0.0.1:$PORT" hello ping
	refused "$tag-none" "token refused: this server wants a token"
	lp "$tag-wrong" connect "127.0.0.1:$PORT" hello=s3cret ping
	refused "$tag-wrong" "token refused: not this server's token"
	lp "$tag-longer" connect "127.0.0.1:$PORT" "hello=s3cret w/ spacex" ping
	refused "$tag-longer" "token refused"
	lp "$tag-right" connect "127.0.0.1:$PORT" "hello=s3cret w/ space" ping
	accepted "$tag-right"
	lp "$tag-role" connect "127.0.0.1:$PORT" hello-role=server ping
	refused "$tag-role" "role refused"
	# Before the hello: refused, and the connection goes on.
	lp "$tag-first" connect "127.0.0.1:$PORT" ping "hello=s3cret w/ space" ping
	[ "$(line "$tag-first" 1 | jq -r .error)" = "say hello first (got 'ping')" ] &&
		[ "$(line "$tag-first" 3 | jq -c '[.id, .ok]')" = '[3,true]' ] ||
		fail_later "$tag: a request before the hello: $(cat "$tag-first.out")"
	# No hello at all: closed when the (shortened) hello time is out.
	t0=$(now_ms)
	lp "$tag-mute" -w 10 connect "127.0.0.1:$PORT" expect-close
	t1=$(now_ms)
	[ "$(line "$tag-mute" 1)" = closed ] && [ $((t1 - t0)) -ge 1000 ] && [ $((t1 - t0)) -lt 6000 ] ||
		fail_later "$tag: a peer without hello: '$(line "$tag-mute" 1)' after $((t1 - t0)) ms, want closed after 1.5 s"
	srv_stop TERM
	for re in "hello refused: no token" "hello refused: wrong token" "hello refused: role 'server'" \
		"hello accepted" "warning: 127\.0\.0\.1:[0-9]+: say hello first" "warning: 127\.0\.0\.1:[0-9]+: no hello within 1\.5 s"; do
		has "$tag.err" "^memtrace-server: (warning: )?127\.0\.0\.1:[0-9]+: $re|^memtrace-server: $re" ||
			fail_later "$tag: no log line '$re' naming the peer"
	done
	! has "$tag.err" "s3cret" || fail_later "$tag: the token shows in the server's log"
}

tokens opt --token "s3cret w/ space"
printf 's3cret w/ space\r\nsecond line\n' >token.txt
tokens file --token-file token.txt

: >empty.txt
srv_usage empty "the file is empty" --token-file empty.txt
srv_usage missing "no-such-file" --token-file no-such-file
srv_usage blank "the token is empty" --token ""
head -c 300 /dev/zero | tr '\0' x >long.txt
srv_usage long "longer than 256" --token-file long.txt
finish

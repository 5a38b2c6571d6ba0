#!/bin/bash
# t-attach-err-static: memtrace -p on a static program (no dynamic loader,
# no dlopen to call) must exit 6 with a message that says it is static, and
# leave it untouched: running, untraced, no agent, allocating on, its output
# and status unchanged.  The program is built here with gcc -static (skipped
# if the static C library, libc6-dev's libc.a, is missing).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

cat >static.c <<'SRC'
/* t-attach-err-static's target: the attach victim protocol (ready with the
 * pid, heartbeat "COUNT 0", stop), allocating all the while. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put(const char *dir, const char *name, const char *text)
{
	char tmp[512], path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		exit(99);
	close(fd);
	rename(tmp, path);
}

int main(int argc, char **argv)
{
	char stop[512], text[64];
	unsigned long n = 0;

	if (argc < 2)
		return 2;
	snprintf(stop, sizeof(stop), "%s/stop", argv[1]);
	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	put(argv[1], "ready", text);
	while (access(stop, F_OK) != 0) {
		char *p = malloc(100 + n % 1000);

		if (!p)
			return 1;
		memset(p, 's', 100);
		free(p);
		if (++n % 20 == 0) {
			snprintf(text, sizeof(text), "%lu 0\n", n);
			put(argv[1], "heartbeat", text);
		}
		usleep(1000);
	}
	printf("static: done\n");
	return 0;
}
SRC
gcc -static -O1 -o static static.c 2>static.cc.err ||
	skip "gcc -static does not link (no static libc: libc6-dev's libc.a): $(head -n 1 static.cc.err)"
prog=$(readlink -f static)
file_says=$(readelf -l "$prog" 2>/dev/null | grep -c INTERP)
[ "$file_says" = 0 ] || broken "gcc -static made a program with an interpreter"

plain_static() {
	vstart "$1" "$prog"
	STAG=$1
}
plain_static plain
beating "the static program without memtrace"
vstop plain || broken "the static program does not stop"
expect_rc plain 0 || broken "the static program fails without memtrace"

plain_static t
pid=$VPID
run_mt static -p "$pid" -x status
expect_rc static 6 || fail_later "memtrace -p on a static program: exit status"
has static.err '[Ss]tatic' || { fail_later "the message does not say the program is static"; show static.err; }
untouched "$pid" "after memtrace -p on a static program"
beating "after memtrace -p on a static program"
vstop t || fail_later "the static program does not stop after the attempt"
same_behaviour plain t || fail_later "the static program behaves differently"
finish

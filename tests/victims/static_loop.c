/*
 * t-attach-err-static's target, linked statically (tests/victims/static_*.c):
 * the attach victim protocol (ready with the pid, heartbeat "COUNT 0", stop),
 * allocating all the while.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put(const char *dir, const char *name, const char *text)
{
	char tmp[520], path[512];
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

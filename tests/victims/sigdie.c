/*
 * sigdie: leaks one block, then dies of a signal:
 *     sigdie TERM|INT|SEGV|ABRT|KILL|crash
 * TERM and INT through raise(), SEGV through kill(getpid()), ABRT through
 * abort(), KILL through kill(getpid()), crash through a store to address 0
 * (a real fault).  memtrace must exit with 128 + the signal number, with an
 * exit report except for KILL.  Core dumps are turned off first.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "victim.h"

NOINLINE static void *leak_before_signal(void)
{
	void *p = malloc(77);

	memset(p, 'S', 77);
	return p;
}

int main(int argc, char **argv)
{
	static void *keep;
	const char *how = argc > 1 ? argv[1] : "";

	vt_no_core();
	keep = leak_before_signal();
	vt_touch(keep);
	vt_expect("leak_before_signal", 1, 77);
	vt_printf("dying of %s\n", how);

	if (strcmp(how, "TERM") == 0)
		raise(SIGTERM);
	else if (strcmp(how, "INT") == 0)
		raise(SIGINT);
	else if (strcmp(how, "SEGV") == 0)
		kill(getpid(), SIGSEGV);
	else if (strcmp(how, "ABRT") == 0)
		abort();
	else if (strcmp(how, "KILL") == 0)
		kill(getpid(), SIGKILL);
	else if (strcmp(how, "crash") == 0)
		*(volatile int *)vt_opaque_ptr(NULL) = 1;
	else
		vt_dprintf(2, "usage: sigdie TERM|INT|SEGV|ABRT|KILL|crash\n");
	return 99;	/* not reached unless the signal was not deadly */
}

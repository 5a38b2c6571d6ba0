/*
 * exitcode: leaks one block, then ends with the status given on the command
 * line, in the way given:
 *     exitcode CODE [exit|return|_exit|thread]
 * exit (the default) calls exit(CODE), return returns CODE from main, _exit
 * skips the atexit handlers and destructors, thread calls exit(CODE) from a
 * second thread while main waits in pthread_join.  memtrace must exit with
 * CODE and report the block whichever way the process ended.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "victim.h"

static int code;

NOINLINE static void *leak_before_exit(void)
{
	void *p = malloc(123);

	memset(p, 'E', 123);
	return p;
}

static void *exit_from_thread(void *arg)
{
	exit(code);
	return arg;
}

int main(int argc, char **argv)
{
	static void *keep;
	const char *how = argc > 2 ? argv[2] : "exit";

	if (argc < 2) {
		vt_dprintf(2, "usage: exitcode CODE [exit|return|_exit|thread]\n");
		return 99;
	}
	code = atoi(argv[1]);
	keep = leak_before_exit();
	vt_touch(keep);
	vt_expect("leak_before_exit", 1, 123);
	vt_printf("ending with status %d through %s\n", code, how);

	if (strcmp(how, "return") == 0)
		return code;
	if (strcmp(how, "_exit") == 0)
		_exit(code);
	if (strcmp(how, "thread") == 0) {
		struct vt_thread t;

		vt_thread_start(&t, exit_from_thread, NULL);
		vt_thread_join(&t);
		return 99;	/* not reached: the thread ends the process */
	}
	exit(code);
}

/*
 * fork_exec: a program that forks and execs; the report is for its own
 * process only.
 *
 * The parent leaks before and after its children.  Child 1 frees its copy of
 * the parent's leaked block, leaks blocks of its own and exits through exit()
 * (so the agent's exit path runs in it); child 2 execs this program again with
 * "exec-child", which leaks too; child 3 execs /bin/true; system() runs a
 * shell; then twenty children are forked while a thread of the parent keeps
 * allocating, the case where an allocator lock held at fork() time would hang
 * the child.  Nothing a child does may show in the parent's report, and the
 * parent's blocks must not be touched by what the children free.
 *
 * The parent writes its pid to ./fork_exec.pid, for the test to compare
 * with the report's.  Each child's exit status is checked and printed; a child that does not end
 * within 10 s is killed and reported, so a hang is a FAIL line, not a timeout.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "victim.h"

static volatile int load_running = 1;

NOINLINE static void *leak_parent(void)
{
	void *p = malloc(111);

	memset(p, 'P', 111);
	return p;
}

NOINLINE static void *leak_after_fork(void)
{
	return calloc(2, 111);
}

NOINLINE static void child_leak(void)
{
	for (int i = 0; i < 5; i++)
		vt_touch(malloc(64));
}

NOINLINE static void exec_child_leak(void)
{
	vt_touch(malloc(4000));
}

/* Status of child PID as text ("exited with status N", "killed by signal N"),
 * waiting at most 10 s. */
static const char *reap(pid_t pid, int *code)
{
	static char text[64];
	int st = 0;
	long end = vt_now_ms() + 10000;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		if (r < 0)
			vt_die("waitpid");
		if (vt_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			*code = -1;
			return "hung and was killed after 10 s";
		}
		vt_sleep_ms(2);
	}
	if (WIFEXITED(st)) {
		*code = WEXITSTATUS(st);
		vt_format(text, sizeof(text), "exited with status %d", *code);
	} else {
		*code = 128 + WTERMSIG(st);
		vt_format(text, sizeof(text), "killed by signal %d", WTERMSIG(st));
	}
	return text;
}

static pid_t fork_or_die(void)
{
	pid_t pid = fork();

	if (pid < 0)
		vt_die("fork");
	return pid;
}

static void *load(void *arg)
{
	void *win[16] = { NULL };
	uint64_t rng = 12345;

	while (load_running) {
		uint64_t r = vt_rand(&rng);

		free(win[r % 16]);
		win[r % 16] = malloc(1 + (r >> 16) % 512);
	}
	for (int i = 0; i < 16; i++)
		free(win[i]);
	return arg;
}

static void fork_under_load(void)
{
	struct vt_thread t;
	int ok = 0, code;

	vt_thread_start(&t, load, NULL);
	for (int i = 0; i < 20; i++) {
		pid_t pid = fork_or_die();

		if (pid == 0) {
			void *p = malloc(100);

			free(p);
			p = calloc(10, 10);
			_exit(p ? 0 : 1);
		}
		reap(pid, &code);
		ok += code == 0;
	}
	load_running = 0;
	vt_thread_join(&t);
	vt_printf("fork under allocation load: %d of 20 children exited with status 0\n", ok);
	vt_check(ok == 20, "children forked while a thread allocates do not hang");
}

int main(int argc, char **argv)
{
	static void *keep[2];
	const char *what;
	int code, pidfd;
	pid_t pid;

	if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
		exec_child_leak();
		vt_printf("exec child: leaked a block, exiting with 5\n");
		return 5;
	}

	/* the test compares the report's pid with this one */
	pidfd = open("fork_exec.pid", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (pidfd >= 0) {
		vt_dprintf(pidfd, "%d\n", (int)getpid());
		close(pidfd);
	}

	keep[0] = leak_parent();
	vt_expect("leak_parent", 1, 111);

	pid = fork_or_die();
	if (pid == 0) {
		/* the child's copy of the parent's block: freeing it here must not
		 * free it in the parent's report */
		free(keep[0]);
		child_leak();
		vt_printf("child 1: freed the inherited block, leaked 5 blocks, exiting with 7\n");
		exit(7);
	}
	what = reap(pid, &code);
	vt_printf("child 1 %s\n", what);
	vt_check(code == 7, "child 1 exit status seen by the parent");

	pid = fork_or_die();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "exec-child", (char *)NULL);
		vt_die("exec /proc/self/exe");
	}
	what = reap(pid, &code);
	vt_printf("child 2 (exec of this program) %s\n", what);
	vt_check(code == 5, "child 2 exit status seen by the parent");

	pid = fork_or_die();
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		vt_die("exec /bin/true");
	}
	what = reap(pid, &code);
	vt_printf("child 3 (exec of /bin/true) %s\n", what);
	vt_check(code == 0, "child 3 exit status seen by the parent");

	code = system("exit 4");
	vt_printf("system(\"exit 4\") gives exit status %d\n",
		  WIFEXITED(code) ? WEXITSTATUS(code) : -1);
	vt_check(WIFEXITED(code) && WEXITSTATUS(code) == 4, "system() status");

	fork_under_load();

	keep[1] = leak_after_fork();
	vt_expect("leak_after_fork", 1, 222);
	vt_check(memchr(keep[0], 'X', 111) == NULL && ((char *)keep[0])[110] == 'P',
		 "parent's block untouched by the children");
	return vt_exit_status();
}

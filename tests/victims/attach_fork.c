/*
 * attach_fork: forks after the attach while a thread keeps allocating; the
 * child allocates, leaks and exits with status 7.
 *
 *     attach_fork DIR
 *
 * Protocol in attach.h.  The child inherits the agent and its patched GOT
 * but is not traced: it must run as it would without memtrace (same output;
 * no hang on a lock the churning thread held at fork time: a child that does
 * not end within 20 s is killed and is a FAIL line), and nothing it does may
 * show in the parent's report: child_work and child_leak must not appear.
 * The parent leaks before and after the fork.  After stop (the test has
 * usually detached) it forks once more the same way.
 */
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "attach.h"

static atomic_int churning = 1;
static void *parent_blocks[5];

NOINLINE static void leak_before_fork(void)
{
	for (int i = 0; i < 2; i++) {
		parent_blocks[i] = malloc(32);
		memset(parent_blocks[i], 'b', 32);
	}
}

NOINLINE static void leak_after_fork(void)
{
	for (int i = 2; i < 5; i++) {
		parent_blocks[i] = calloc(1, 16);
		memset(parent_blocks[i], 'a', 16);
	}
}

NOINLINE static void child_leak(void)
{
	for (int i = 0; i < 5; i++)
		vt_touch(malloc(50));
}

NOINLINE static int child_work(void)
{
	void *win[16] = { NULL };
	int bad = 0;

	for (int i = 0; i < 5000; i++) {
		int k = i % 16;
		unsigned char *p;

		free(win[k]);
		p = malloc(1 + (size_t)(i * 7) % 900);
		if (!p)
			return -1;
		p[0] = (unsigned char)k;
		win[k] = p;
		bad += ((unsigned char *)win[(k + 1) % 16] != NULL) &&
		       ((unsigned char *)win[(k + 1) % 16])[0] != (unsigned char)((k + 1) % 16);
	}
	for (int k = 0; k < 16; k++)
		free(win[k]);
	return bad;
}

static void *churn(void *arg)
{
	(void)arg;
	while (atomic_load(&churning)) {
		void *p[8];

		for (int i = 0; i < 8; i++)
			p[i] = malloc(16 + (size_t)i * 100);
		for (int i = 0; i < 8; i++)
			free(p[i]);
	}
	return NULL;
}

static void fork_child(const char *when)
{
	long end;
	int st = 0;
	pid_t pid, r;

	pid = fork();
	if (pid < 0)
		vt_die("fork");
	if (pid == 0) {
		int bad = child_work();

		child_leak();
		vt_printf("child (%s): %s\n", when, bad == 0 ? "blocks intact" : "FAIL: blocks damaged");
		_exit(7);
	}
	end = vt_now_ms() + 20000;
	while ((r = waitpid(pid, &st, WNOHANG)) == 0 && vt_now_ms() < end)
		vt_sleep_ms(5);
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		vt_printf("FAIL: the child forked %s did not end within 20 s\n", when);
		vt_failures++;
		return;
	}
	vt_printf("child (%s): %s\n", when,
		  WIFEXITED(st) && WEXITSTATUS(st) == 7 ? "exited with 7" : "FAIL: did not exit with 7");
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 7))
		vt_failures++;
}

int main(int argc, char **argv)
{
	struct vt_thread t;

	at_start(argc, argv);
	vt_thread_start(&t, churn, NULL);
	vt_printf("fork: started\n");
	at_ready();

	at_wait_go();
	pre_attach_release();
	leak_before_fork();
	fork_child("after attach");
	leak_after_fork();
	atomic_store(&churning, 0);
	vt_thread_join(&t);
	vt_expect("leak_before_fork", 2, 64);
	vt_expect("leak_after_fork", 3, 48);
	at_leaked_then_wait_stop();

	atomic_store(&churning, 1);
	vt_thread_start(&t, churn, NULL);
	fork_child("after stop");
	atomic_store(&churning, 0);
	vt_thread_join(&t);
	for (int i = 0; i < 5; i++)
		free(parent_blocks[i]);
	pre_attach_end();
	return vt_exit_status();
}

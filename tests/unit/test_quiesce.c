/*
 * Unit test for agent/quiesce.c, the rule detach relies on before it unmaps
 * the tables: once the gate is closed and agent_quiesce() returned 0, no
 * thread is inside and none will enter. Built without sanitizers, as the
 * agent is.
 *
 * Worker threads enter and leave without pause, and inside read and write
 * a "table": a page whose address they take from a global while inside.
 * A signal handler enters and leaves too, in the middle of a worker's own
 * entry (nesting on one slot). Short-lived threads come and go meanwhile,
 * so slots are claimed and handed back. The main thread plays detach, a few
 * hundred times: close the gate, quiesce, then make the page inaccessible
 * (PROT_NONE) while it counts a while; a thread still inside, or one that
 * enters a closed gate, faults and the test dies of SIGSEGV. Then it maps
 * a new table and opens the gate again.
 *
 * The whole run is done twice, in child processes: with membarrier (when
 * the kernel has it) and with the fences used under seccomp. Then: a
 * thread that stays inside makes agent_quiesce() time out with a reason,
 * and every slot is handed back once its threads have ended.
 *
 * Exit status: 0 pass, 1 fail, 99 broken harness.
 */
#include "quiesce.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define WORKERS 3
#define PAGE 4096

static int gate;
static unsigned char *volatile table;
static volatile int stop;
static unsigned long entries_in, entries_refused;
static long cycles = 200;

static void pause_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* What a hook does inside: read the table's address, then use it. */
static void use_table(unsigned seed)
{
	unsigned char *t = table;

	for (int i = 0; i < 8; i++) {
		unsigned k = (seed + (unsigned)i * 97) % PAGE;

		t[k] = (unsigned char)(t[k] + 1);
	}
}

static void on_usr1(int sig)
{
	struct agent_inside *in = agent_enter(&gate);

	(void)sig;
	if (in) {
		use_table(7);
		agent_leave(in);
	}
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	unsigned long in = 0, out = 0;

	while (!stop) {
		struct agent_inside *s = agent_enter(&gate);

		if (!s) {
			out++;
			sched_yield();
			continue;
		}
		use_table(seed++);
		agent_leave(s);
		in++;
	}
	__atomic_add_fetch(&entries_in, in, __ATOMIC_RELAXED);
	__atomic_add_fetch(&entries_refused, out, __ATOMIC_RELAXED);
	return NULL;
}

static void *short_lived(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++) {
		struct agent_inside *s = agent_enter(&gate);

		if (s) {
			use_table((unsigned)i);
			agent_leave(s);
		}
	}
	return NULL;
}

/* Threads that claim a slot and end, handing it back, all the while. */
static void *spawner(void *arg)
{
	(void)arg;
	while (!stop) {
		pthread_t t[4];

		for (int i = 0; i < 4; i++)
			if (pthread_create(&t[i], NULL, short_lived, NULL))
				broken("pthread_create");
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
	}
	return NULL;
}

static unsigned char *new_table(void)
{
	void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		broken("mmap");
	return p;
}

/* One whole run; the exit status of the child that does it. */
static int run(int use_membarrier)
{
	pthread_t w[WORKERS], sp;
	struct sigaction sa;
	const char *why = NULL;
	long timeouts = 0;

	agent_inside_init_as(use_membarrier);
	printf("%s: fence %d\n", use_membarrier ? "membarrier" : "fences", agent_inside_fence);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	table = new_table();
	__atomic_store_n(&gate, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < WORKERS; i++)
		if (pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)(i * 1000)))
			broken("pthread_create");
	if (pthread_create(&sp, NULL, spawner, NULL))
		broken("pthread_create");
	for (long c = 0; c < cycles; c++) {
		unsigned char *old;

		pause_us(200 + rand() % 1500);
		for (int i = 0; i < WORKERS; i++)
			pthread_kill(w[i], SIGUSR1);
		/* detach: close, wait, take the table away */
		__atomic_store_n(&gate, 0, __ATOMIC_SEQ_CST);
		if (agent_quiesce(5000, &why) < 0) {
			timeouts++;
			CHECK(0, "cycle %ld: agent_quiesce timed out with every thread running: %s", c, why);
			__atomic_store_n(&gate, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		old = table;
		if (mprotect(old, PAGE, PROT_NONE) < 0)
			broken("mprotect");
		/* Any access now is a SIGSEGV: let the threads try for a while. */
		pause_us(300 + rand() % 700);
		for (int i = 0; i < WORKERS; i++)
			pthread_kill(w[i], SIGUSR1);
		pause_us(200);
		munmap(old, PAGE);
		table = new_table();
		__atomic_store_n(&gate, 1, __ATOMIC_SEQ_CST);
	}
	stop = 1;
	for (int i = 0; i < WORKERS; i++)
		pthread_join(w[i], NULL);
	pthread_join(sp, NULL);
	CHECK(entries_in > 1000, "the workers entered only %lu times", entries_in);
	CHECK(entries_refused > 0, "no entry was ever refused by a closed gate (%lu in)", entries_in);
	CHECK(timeouts == 0, "%ld of %ld cycles timed out", timeouts, cycles);
	/* Every thread has ended but this one, which never entered. */
	CHECK(agent_inside_slots_owned() == 0, "%d slots still held after every thread that entered ended",
	      agent_inside_slots_owned());
	printf("%s: %ld cycles, %lu entries, %lu refused\n", use_membarrier ? "membarrier" : "fences", cycles,
	       entries_in, entries_refused);
	return failures ? 1 : 0;
}

static void *stay_inside(void *arg)
{
	struct agent_inside *s = agent_enter(&gate);

	(void)arg;
	if (!s)
		return NULL;
	pause_us(400 * 1000);
	agent_leave(s);
	return NULL;
}

/* A thread that stays inside: quiesce gives up in time, with a reason, and
 * succeeds once it has left. */
static int run_stuck(void)
{
	const char *why = NULL;
	pthread_t t;
	int ret;

	agent_inside_init_as(1);
	__atomic_store_n(&gate, 1, __ATOMIC_SEQ_CST);
	if (pthread_create(&t, NULL, stay_inside, NULL))
		broken("pthread_create");
	pause_us(50 * 1000);
	__atomic_store_n(&gate, 0, __ATOMIC_SEQ_CST);
	ret = agent_quiesce(100, &why);
	CHECK(ret == -1, "agent_quiesce returned %d with a thread inside for 400 ms, timeout 100 ms", ret);
	CHECK(ret == 0 || (why && strstr(why, "inside")), "the reason: %s", why ? why : "(none)");
	pthread_join(t, NULL);
	CHECK(agent_quiesce(100, &why) == 0, "agent_quiesce fails after the thread left");
	return failures ? 1 : 0;
}

static int in_child(int (*fn)(int), int arg, const char *what)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		broken("fork");
	if (pid == 0) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		check_step(what, 120);
		_exit(fn(arg));
	}
	if (waitpid(pid, &st, 0) != pid)
		broken("waitpid");
	if (WIFSIGNALED(st)) {
		printf("FAIL test_quiesce.c: %s: killed by signal %d (%s)%s\n", what, WTERMSIG(st),
		       strsignal(WTERMSIG(st)),
		       WTERMSIG(st) == SIGSEGV ? ": a thread touched the table after quiesce" : "");
		return 1;
	}
	return WEXITSTATUS(st);
}

static int stuck(int arg)
{
	(void)arg;
	return run_stuck();
}

int main(void)
{
	const char *quick = getenv("MEMTRACE_TEST_QUICK");
	int bad = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The pauses between detaches (rand(): 1 is its seed when none is given). */
	srand((unsigned)check_seed(1));
	/* Under emulation (the ARM VMs) fewer cycles. */
	if (quick && *quick && strcmp(quick, "0"))
		cycles = 40;
	bad |= in_child(run, 1, "with membarrier");
	bad |= in_child(run, 0, "with fences");
	bad |= in_child(stuck, 0, "a thread that stays inside");
	printf("test_quiesce: %s\n", bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}

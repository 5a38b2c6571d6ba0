/*
 * When the agent starts and stops. In start mode memtrace preloads the agent
 * and passes its settings in MEMTRACE_* variables. Recording starts at the
 * first call of any hook (the constructors of libraries initialised before
 * the agent allocate too), or in the agent's constructor if nothing has
 * allocated by then; the constructor then removes those variables (and the
 * agent's LD_PRELOAD entry) from the environment so children run untraced
 * and the program sees the environment it was given, starts the control
 * thread and waits for memtrace to connect. Loaded any other way, the agent
 * stays idle until memtrace_agent_start().
 *
 * The exit report leaves from the destructor (normal exit) or from a handler
 * for the deadly signals the program left at their default action; the
 * handler then lets the signal kill the process as it would have. Those
 * handlers are the one place the agent touches signal dispositions: a guest
 * in the program's process, it installs them only where the program left
 * the default, and detach puts the default back.
 *
 * This file is the one owner of agent_state.recording (the only writer) and
 * the one caller of got.c's agent_got_patch and agent_got_restore. The two
 * go together because their order is what makes attach and detach safe:
 * the slots are patched (and no thread is left in an unhooked
 * dl_iterate_phdr) before recording goes on, and recording goes off before
 * the slots are put back. got.c is only the mechanism (which slots, how to
 * write them) and keeps its own `hooked` flag, under its lock, for the
 * dlopen hook; it never reads or writes the recording flag. Start mode
 * records with no GOT at all (the dynamic linker binds to the exports), and
 * a failure or a fork child only stops recording: the slots stay, the hooks
 * passing calls through, until a detach puts them back (the destructor does
 * only for an agent that was armed and never started).
 */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "fp_frame.h"
#include "commands.h"
#include "control.h"
#include "dynelf.h"
#include "got.h"
#include "hold.h"
#include "lifecycle.h"
#include "loaderlock.h"
#include "proto.h"
#include "quiesce.h"
#include "real.h"
#include "state.h"
#include "tables.h"
#include "unwinder.h"

struct agent_config {
	char unwind[16];
	int depth;
	int wait_ms;
	int signals;
	int parent;		/* start mode: memtrace's pid, the parent of the program */
};

static int agent_pid;
static int started;		/* recording and the control thread are up */
static int armed;	/* the GOTs were patched by the constructor (attach), not yet started */

/*
 * Start mode's recording, begun by the first hook call or the constructor:
 * 0 not begun, 1 recording since then, -1 it could not begin. The settings
 * are read once, when start mode is recognised.
 */
static int rec_begun;
static struct agent_config start_cfg;

extern char **environ;
extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

/*
 * Runs in whatever thread met the failure (a hook, the constructor): it only
 * stops recording. The control thread's sockets are its own and stay open,
 * so memtrace reads the failure in `status` and in the exit report; closing
 * them here would pull descriptors from under the control thread's poll
 * (and a number closed twice may by then be the program's).
 */
void agent_fail(const char *why)
{
	if (!agent_state.failure)
		agent_state.failure = why;
	__atomic_store_n(&agent_state.recording, 0, __ATOMIC_RELAXED);
}

static void config_defaults(struct agent_config *cfg)
{
	strcpy(cfg->unwind, "libunwind");
	cfg->depth = AGENT_DEFAULT_DEPTH;
	cfg->wait_ms = 10000;
	cfg->signals = 1;
}

/* Apply one "key=value" setting. Unknown keys are ignored (newer memtrace). */
static void config_set(struct agent_config *cfg, const char *key, size_t klen, const char *val, size_t vlen)
{
	char num[16];
	long v;

	if (vlen >= sizeof(num))
		return;
	memcpy(num, val, vlen);
	num[vlen] = '\0';
	v = strtol(num, NULL, 10);
	if (klen == 6 && !memcmp(key, "unwind", 6) && vlen < sizeof(cfg->unwind)) {
		memcpy(cfg->unwind, val, vlen);
		cfg->unwind[vlen] = '\0';
	} else if (klen == 5 && !memcmp(key, "depth", 5) && v >= 1 && v <= AGENT_MAX_DEPTH) {
		cfg->depth = (int)v;
	} else if (klen == 4 && !memcmp(key, "wait", 4) && v >= 0) {
		cfg->wait_ms = (int)v;
	} else if (klen == 7 && !memcmp(key, "signals", 7)) {
		cfg->signals = v != 0;
	} else if (klen == 6 && !memcmp(key, "parent", 6) && v > 0) {
		cfg->parent = (int)v;
	}
}

static void config_parse(struct agent_config *cfg, const char *s)
{
	while (s && *s) {
		const char *end = s + strcspn(s, " ");
		const char *eq = memchr(s, '=', (size_t)(end - s));

		if (eq)
			config_set(cfg, s, (size_t)(eq - s), eq + 1, (size_t)(end - eq - 1));
		s = *end ? end + 1 : end;
	}
}

/* Remove entry I from environ. */
static void env_drop(int i)
{
	for (; environ[i]; i++)
		environ[i] = environ[i + 1];
}

/*
 * Drop MEMTRACE_* and the agent's own LD_PRELOAD entry (ENTRY, which
 * memtrace put first), editing the strings in place: setenv would allocate.
 */
static void env_strip(const char *entry)
{
	size_t elen = entry ? strlen(entry) : 0;

	for (int i = 0; environ && environ[i];) {
		char *e = environ[i];

		if (!strncmp(e, "MEMTRACE_", 9)) {
			env_drop(i);
			continue;
		}
		if (elen && !strncmp(e, "LD_PRELOAD=", 11) && !strncmp(e + 11, entry, elen) &&
		    (e[11 + elen] == '\0' || e[11 + elen] == ':' || e[11 + elen] == ' ')) {
			char *rest = e + 11 + elen;

			if (!*rest) {
				env_drop(i);
				continue;
			}
			memmove(e + 11, rest + 1, strlen(rest + 1) + 1);
		}
		i++;
	}
}

static void self_range(void)
{
	const ElfW(Ehdr) *eh = &__ehdr_start;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
	uintptr_t base = agent_self_base();
	uintptr_t lo = UINTPTR_MAX, hi = 0;

	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (base + ph[i].p_vaddr < lo)
			lo = base + ph[i].p_vaddr;
		if (base + ph[i].p_vaddr + ph[i].p_memsz > hi)
			hi = base + ph[i].p_vaddr + ph[i].p_memsz;
	}
	agent_set_self_range(lo, hi);
}

static void on_fork_child(void)
{
	/* The child has no control thread and may have inherited a shard lock
	 * held by a thread that does not exist here: it records nothing. */
	__atomic_store_n(&agent_state.recording, 0, __ATOMIC_RELAXED);
	/* Nor does it keep its copies of the parent's sockets: a child that
	 * outlives the parent would hold memtrace's connection open, and
	 * memtrace would not see the parent end. It never holds at an
	 * allocation either (agent_control_forget disarms, hold.c). */
	agent_control_forget();
	agent_loader_lock_forked();
}

/* Deadly by default, and worth a report. */
static const int fatal_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM,
	SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGSYS, SIGXCPU, SIGXFSZ,
};

static int is_fault(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL;
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)uc;
	if (getpid() == agent_pid)
		agent_control_exit_report(sig);
	/* SA_RESETHAND put the default action back. A fault re-executes the
	 * faulting instruction and dies there, as it would have; any other
	 * signal is raised again (SA_NODEFER: not blocked) and kills now. */
	if (!(is_fault(sig) && si && si->si_code > 0))
		syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
	errno = saved;
}

/* Bit I: fatal_signals[I] has our handler (put there by us). */
static unsigned signals_installed;

static void install_signal_handlers(void)
{
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		struct sigaction old, sa;

		if (signals_installed & (1u << i))
			continue;
		if (sigaction(fatal_signals[i], NULL, &old) < 0 || old.sa_handler != SIG_DFL ||
		    (old.sa_flags & SA_SIGINFO))
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_fatal;
		sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(fatal_signals[i], &sa, NULL) == 0)
			signals_installed |= 1u << i;
	}
}

/*
 * Detach: put SIG_DFL back where our handler still is. A program that
 * installed its own handler since keeps it (a program that changes it
 * between the look and the write loses the race: the window is two
 * system calls, once per detach).
 */
static void remove_signal_handlers(void)
{
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		struct sigaction cur, sa;

		if (!(signals_installed & (1u << i)))
			continue;
		signals_installed &= ~(1u << i);
		if (sigaction(fatal_signals[i], NULL, &cur) < 0 || !(cur.sa_flags & SA_SIGINFO) ||
		    cur.sa_sigaction != on_fatal)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		sigaction(fatal_signals[i], &sa, NULL);
	}
}

/* What exit() or _exit() was given, for the exit report; -1 until then. */
static int exit_code = -1;

int agent_exit_code(void)
{
	return __atomic_load_n(&exit_code, __ATOMIC_RELAXED);
}

/*
 * on_exit() handlers get exit()'s status, also when main returns (libc
 * calls exit itself, which no GOT slot sees). Ours is registered last in
 * attach mode, so it runs first, before the program's own atexit handlers:
 * it only notes the status; the report leaves from the destructor.
 */
static void note_exit_status(int status, void *arg)
{
	(void)arg;
	__atomic_store_n(&exit_code, status & 0xff, __ATOMIC_RELAXED);
}

/* Once per process; a libc without on_exit (musl) leaves the status unknown
 * unless the program calls _exit. */
static void watch_exit_status(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	/* Found with the allocator: not walking the module list here, where
	 * another thread may be loading or unloading a module (attach). */
	if (agent_real.on_exit)
		agent_real.on_exit(note_exit_status, NULL);
}

/*
 * The part of the start that only turns recording on: the real allocator,
 * the unwinder, the clocks. It takes no lock of libc's or the loader's and
 * allocates nothing, so it may run inside the first hook call, wherever
 * that comes from (a library constructor run by the loader, an allocation
 * libc makes for itself). 0, or -1 after agent_fail().
 */
static int recording_begin(const struct agent_config *cfg, const char *since)
{
	const struct agent_unwinder *u;
	struct timespec wall;
	int guard = agent_guard;
	int ret = -1;

	agent_guard = 1;
	if (agent_real_resolve() < 0) {
		agent_fail("the real malloc was not found");
		goto out;
	}
	self_range();
	/* Before any thread can enter the tables. */
	agent_inside_init();
	u = agent_unwinder_find(cfg->unwind);
	if (!u || u->init() < 0)
		u = &agent_unwind_libunwind;
	if (u->init() < 0) {
		agent_fail("no unwinder could start");
		goto out;
	}
	agent_state.unwinder = u;
	agent_state.depth = cfg->depth;
	agent_state.since = since;
	__atomic_store_n(&agent_state.tables_open, 1, __ATOMIC_SEQ_CST);
	agent_state.start_ns = agent_now_ns();
	clock_gettime(CLOCK_REALTIME, &wall);
	agent_state.start_wall_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
	agent_pid = getpid();
	/* Attached, recording begins in agent_attach, once the hooks are in. */
	if (strcmp(since, "attach"))
		__atomic_store_n(&agent_state.recording, 1, __ATOMIC_RELEASE);
	ret = 0;
out:
	agent_guard = guard;
	return ret;
}

/*
 * The rest, which may take locks and allocate (pthread_atfork, the control
 * thread, sigaction): never from inside a hook. Begins recording first if
 * BEGUN is 0.
 */
/* agent_start failed because another process holds the socket's names. */
static int name_taken;

static int agent_start(const struct agent_config *cfg, const char *since, int begun)
{
	int ret = -1;

	if (started)
		return 0;
	if (!begun && recording_begin(cfg, since) < 0)
		return -1;
	agent_guard = 1;
	pthread_atfork(NULL, NULL, on_fork_child);
	agent_loader_lock_find(agent_got_real_iterate());
	if (agent_control_start(&agent_commands) < 0) {
		name_taken = errno == EADDRINUSE;
		agent_fail(name_taken ? "the control socket's name is taken by another process"
				      : "the control socket could not be created");
		goto out;
	}
	if (cfg->signals)
		install_signal_handlers();
	watch_exit_status();
	started = 1;
	ret = 0;
out:
	agent_guard = 0;
	return ret;
}

AGENT_EXPORT int memtrace_agent_start(const char *config)
{
	struct agent_config cfg;

	config_defaults(&cfg);
	/* A running program keeps its signal dispositions unless asked (memtrace
	 * asks, unless --no-signal-report). */
	cfg.signals = 0;
	config_parse(&cfg, config);
	/* Before the control thread starts: its first poll must see the deadline. */
	agent_control_expect_session(cfg.wait_ms);
	if (agent_start(&cfg, "attach", 0) < 0)
		return name_taken ? AGENT_START_NAME_TAKEN : -1;
	return agent_attach();
}

int agent_attach(void)
{
	agent_guard = 1;
	/* The constructor patched every module under the loader's lock (armed);
	 * a re-attach patches here. The hooks pass calls through meanwhile. */
	if (!armed && agent_got_patch() < 0) {
		agent_got_restore();
		agent_fail("out of memory while patching the GOTs");
		agent_guard = 0;
		return -1;
	}
	armed = 0;
	/* No thread is left inside a dl_iterate_phdr it entered unhooked (got.c). */
	agent_loader_barrier();
	/* Release: a hook that sees this generation sees these settings. */
	__atomic_add_fetch(&agent_state.generation, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&agent_state.tables_open, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&agent_state.recording, 1, __ATOMIC_SEQ_CST);
	agent_guard = 0;
	return 0;
}

int agent_reattach(const struct agent_settings *s, char *err, size_t errlen)
{
	const struct agent_unwinder *u = agent_unwinder_find(s->unwind);
	const char *why = NULL;
	int ret = -1;

	if (!u) {
		snprintf(err, errlen, "unknown unwinder \"%.32s\" (fp or libunwind)", s->unwind);
		return -1;
	}
	if (s->depth < 1 || s->depth > AGENT_MAX_DEPTH) {
		snprintf(err, errlen, "depth %d is out of range (1 to %d)", s->depth, AGENT_MAX_DEPTH);
		return -1;
	}
	/* Recording still for a memtrace that never connected (killed before
	 * its hello): start over with this one's settings. */
	if (__atomic_load_n(&agent_state.recording, __ATOMIC_ACQUIRE))
		agent_detach(NULL);
	/* Tables a stuck thread kept at the last detach: try again, else clear. */
	if (agent_tables_release(&why) < 0)
		agent_tables_clear();
	agent_guard = 1;
	if (u->init() < 0) {
		const char *why = u == &agent_unwind_fp ? AGENT_FP_WHY_NOT : NULL;

		snprintf(err, errlen, "the %s unwinder cannot start in this process%s%s%s", u->name,
			 why ? " (" : "", why ? why : "", why ? ")" : "");
		goto out;
	}
	agent_state.unwinder = u;
	agent_state.depth = s->depth;
	agent_state.failure = NULL;
	agent_state.start_ns = agent_now_ns();
	if (s->signals)
		install_signal_handlers();
	agent_guard = 0;
	if (agent_attach() < 0) {
		snprintf(err, errlen, "%s", agent_state.failure ? agent_state.failure : "attach failed");
		remove_signal_handlers();
		return -1;
	}
	return 0;
out:
	agent_guard = 0;
	return ret;
}

int agent_detach(const char **why)
{
	int ret;

	agent_guard = 1;
	/* Recording off first: once the slots go back, frees no longer pass
	 * through the hooks, so nothing may be recorded after that. A dlopen
	 * hook patches no GOT after the restore either: got.c clears its own
	 * `hooked` flag under its lock as it puts the slots back. */
	__atomic_store_n(&agent_state.recording, 0, __ATOMIC_SEQ_CST);
	agent_got_restore();
	remove_signal_handlers();
	ret = agent_tables_release(why);
	agent_guard = 0;
	return ret;
}

/*
 * Loaded by dlopen (memtrace -p): patch the GOTs now, with the hooks
 * passing every call through until memtrace_agent_start. A constructor
 * runs while dlopen holds the loader's lock, so no other thread is in the
 * middle of loading or unloading a module: every module in the list is
 * whole, relocated, and stays mapped while its slots are written. Done
 * later, from memtrace_agent_start, a module another thread is loading can
 * be seen half relocated (its lazy slots then get the load bias added to
 * the hook's address) or unloaded under our feet.
 */
static void agent_arm(void)
{
	agent_guard = 1;
	if (agent_real_resolve() == 0 && agent_got_patch() >= 0)
		armed = 1;
	else
		agent_got_restore();
	agent_guard = 0;
}

/* The value of NAME in the environment, read without getenv: no lock, no
 * allocation, and NULL rather than a guess while environ is not set up. */
static const char *env_find(const char *name)
{
	size_t len = strlen(name);

	for (char **e = environ; e && *e; e++)
		if (!strncmp(*e, name, len) && (*e)[len] == '=')
			return *e + len + 1;
	return NULL;
}

enum start_mode { START_NO, START_YES, START_FOREIGN };

/*
 * Whether this is start mode: START_YES (START_CFG read), START_NO,
 * START_FOREIGN when the environment is start mode's but memtrace did not
 * start this process (a constructor that ran before the agent's started it
 * with the environment not yet cleaned, e.g. with system()), or -1 when it
 * is not known yet (environ is not set up: libc has not initialised, the
 * caller is the loader itself).
 */
static int start_mode_read(void)
{
	const char *mode;

	if (!environ)
		return -1;
	mode = env_find("MEMTRACE_MODE");
	if (!mode || strcmp(mode, "start"))
		return START_NO;
	config_defaults(&start_cfg);
	config_parse(&start_cfg, env_find("MEMTRACE_CONFIG"));
	if (start_cfg.parent && getppid() != start_cfg.parent)
		return START_FOREIGN;
	return START_YES;
}

static int start_mode;		/* start_mode_read()'s answer, once decided */

/*
 * Decide once whether this is start mode and, if so, begin recording. FINAL
 * (the constructor): an environment not set up means no. 1 if the caller
 * should record, 0 if not, -1 if another thread is deciding.
 */
static int start_decide(int final)
{
	static int busy;
	int mode;

	if (__atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE))
		return -1;
	if (__atomic_load_n(&agent_state.start_pending, __ATOMIC_ACQUIRE)) {
		mode = start_mode_read();
		if (mode < 0 && final)
			mode = START_NO;
		if (mode == START_YES)
			rec_begun = recording_begin(&start_cfg, "start") < 0 ? -1 : 1;
		if (mode >= 0) {
			start_mode = mode;
			__atomic_store_n(&agent_state.start_pending, 0, __ATOMIC_RELEASE);
		}
	}
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
	return __atomic_load_n(&agent_state.recording, __ATOMIC_ACQUIRE);
}

/*
 * Called by the hooks while nothing records and agent_state.start_pending is
 * set. The first call that can tell start mode begins recording there, so
 * blocks allocated by constructors run before the agent's own are recorded
 * with their callstacks. A thread that comes while another one decides
 * passes its call through (the block is then unknown and its free ignored,
 * as for any block from before recording).
 */
int agent_start_pending(void)
{
	return start_decide(0) == 1;
}

__attribute__((constructor)) static void agent_preload_init(void)
{
	/* Decide now if no hook has; another thread deciding is brief. */
	while (start_decide(1) < 0)
		sched_yield();
	if (start_mode == START_NO) {
		agent_arm();
		return;
	}
	env_strip(env_find("MEMTRACE_PRELOAD_ENTRY"));
	if (start_mode == START_FOREIGN || rec_begun < 0)
		return;
	if (getpid() != agent_pid) {
		/* A constructor that ran before ours forked and this is the
		 * child: no memtrace waits for it (see on_fork_child). */
		on_fork_child();
		return;
	}
	if (agent_start(&start_cfg, "start", 1) < 0)
		return;
	if (agent_control_wait_resume(start_cfg.wait_ms) < 0)
		agent_fail("memtrace did not connect in time");
}

/*
 * A program that leaves through _exit() runs no destructors: report here,
 * then end as asked. Exported (start mode: the dynamic linker binds the
 * program to it) and put in the GOTs while attached. exit() itself calls
 * the real _exit inside libc, after the destructor has reported.
 */
__attribute__((noreturn)) void agent__exit(int status)
{
	if (started && getpid() == agent_pid) {
		__atomic_store_n(&exit_code, status & 0xff, __ATOMIC_RELAXED);
		agent_control_exit_report(0);
	}
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

AGENT_EXPORT __attribute__((noreturn)) void _exit(int status) __attribute__((alias("agent__exit")));
AGENT_EXPORT __attribute__((noreturn)) void _Exit(int status) __attribute__((alias("agent__exit")));

__attribute__((destructor)) static void agent_fini(void)
{
	if (started && getpid() == agent_pid)
		agent_control_exit_report(0);
	/* Unloaded without being started (memtrace gone, or the start failed). */
	if (armed) {
		agent_guard = 1;
		agent_got_restore();
		armed = 0;
	}
}

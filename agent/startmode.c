/*
 * Start mode, and the moment recording begins. memtrace starting a program
 * preloads the agent and passes its settings in MEMTRACE_* variables.
 * Recording starts at the first call of any hook (the constructors of
 * libraries initialised before the agent allocate too), or in the agent's
 * constructor if nothing has allocated by then (entry.c); the constructor
 * then removes those variables (and the agent's LD_PRELOAD entry) from the
 * environment so children run untraced and the program sees the
 * environment it was given. Loaded any other way, nothing here records:
 * attach begins recording in lifecycle.c, once the GOTs are patched.
 *
 * Everything here may run inside the first hook call, wherever that comes
 * from (a library constructor run by the loader, an allocation libc makes
 * for itself): it takes no lock of libc's or the loader's and allocates
 * nothing through the hooks (glibc_heap.c's finder calls the real
 * allocator a few times, as the hook is about to anyway). That is why it
 * sits below the hooks (which call agent_start_pending) and apart from
 * lifecycle.c and entry.c, which take locks and allocate.
 */
#include <elf.h>
#include <link.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "arena.h"
#include "dynelf.h"
#include "glibc_heap.h"
#include "quiesce.h"
#include "real.h"
#include "startmode.h"
#include "state.h"
#include "unwinder.h"

/*
 * Start mode's recording, begun by the first hook call or the constructor:
 * 0 not begun, 1 recording since then, -1 it could not begin. The settings
 * are read once, when start mode is recognised.
 */
static int rec_begun;
static struct agent_config start_cfg;

extern char **environ;
extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

void agent_config_defaults(struct agent_config *cfg)
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

void agent_config_parse(struct agent_config *cfg, const char *s)
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
	agent_mem_own_module(lo, hi);
}

int agent_recording_begin(const struct agent_config *cfg, const char *since)
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
	/* Where glibc keeps its heap, for a walk from outside (leaks): with
	 * the real allocator under the guard, before the tables open. */
	agent_glibc_heap_publish();
	/* Before any thread can enter the tables. */
	agent_inside_init();
	u = agent_unwinder_start(cfg->unwind);
	if (!u)
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
	agent_state.pid = getpid();
	/* Attached, recording begins in agent_attach, once the hooks are in. */
	if (strcmp(since, "attach"))
		__atomic_store_n(&agent_state.recording, 1, __ATOMIC_RELEASE);
	ret = 0;
out:
	agent_guard = guard;
	return ret;
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

/*
 * Whether this is start mode: AGENT_STARTMODE_YES (START_CFG read), AGENT_STARTMODE_NO,
 * AGENT_STARTMODE_FOREIGN when the environment is start mode's but memtrace did not
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
		return AGENT_STARTMODE_NO;
	agent_config_defaults(&start_cfg);
	agent_config_parse(&start_cfg, env_find("MEMTRACE_CONFIG"));
	if (start_cfg.parent && getppid() != start_cfg.parent)
		return AGENT_STARTMODE_FOREIGN;
	return AGENT_STARTMODE_YES;
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
			mode = AGENT_STARTMODE_NO;
		if (mode == AGENT_STARTMODE_YES)
			rec_begun = agent_recording_begin(&start_cfg, "start") < 0 ? -1 : 1;
		if (mode >= 0) {
			start_mode = mode;
			__atomic_store_n(&agent_state.start_pending, 0, __ATOMIC_RELEASE);
		}
	}
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
	return __atomic_load_n(&agent_state.recording, __ATOMIC_ACQUIRE);
}

int agent_start_pending(void)
{
	return start_decide(0) == 1;
}


enum agent_start_mode agent_start_settle(const struct agent_config **cfg)
{
	/* Decide now if no hook has; another thread deciding is brief. */
	while (start_decide(1) < 0)
		sched_yield();
	if (start_mode == AGENT_STARTMODE_NO)
		return AGENT_STARTMODE_NO;
	env_strip(env_find("MEMTRACE_PRELOAD_ENTRY"));
	*cfg = &start_cfg;
	if (start_mode == AGENT_STARTMODE_YES && rec_begun < 0)
		return AGENT_STARTMODE_FAILED;
	return (enum agent_start_mode)start_mode;
}

/*
 * Compact-table backend ("--unwind tables"): true stacks through code
 * without frame pointers, walked by lookup instead of by interpreting
 * DWARF. Each module's .eh_frame is compiled into rows (cfi.h) lazily, the
 * first time a walk meets one of its addresses; a walk is then, per frame,
 * one probe of a rule cache, a few arithmetic operations and two bounded
 * loads from the stack. Whatever the rows cannot say (a FALLBACK row, an
 * address in no module, a rule that would read outside the thread's stack)
 * hands the whole stack to the libunwind backend, so stacks stay
 * libunwind's.
 *
 * Modules are found without a lock (findobj.h: glibc's _dl_find_object, or
 * musl's list): dl_iterate_phdr would take the loader's, which a hook must not.
 * A module is known by (start, .eh_frame_hdr, link_map) as the loader
 * reports it on a cache miss; a slot is claimed under a try-lock of our
 * own (a thread that finds it busy, even a signal handler interrupting
 * the holder, falls back instead of waiting), compiled outside it by the
 * thread that claimed it (others fall back meanwhile), and published by
 * its state. Slots and rows are never given back while the agent is
 * loaded: a thread may be reading them at any time, and the agent stays
 * loaded after a detach. A module unloaded and another mapped at its
 * addresses has another identity, so misses find the new one; a new slot
 * also invalidates the rule cache (a generation in its check word).
 *
 * The rule cache is shared by all threads, direct-mapped, 16 bytes an
 * entry: per-thread caches would need thread-local storage of that size,
 * which an agent loaded by dlopen cannot have (initial-exec TLS comes from
 * the loader's small static surplus). An entry is written as two words
 * without a lock; a reader that sees halves of two writes finds the check
 * word wrong and takes the miss path.
 */
#include <dlfcn.h>
#include <errno.h>
#include <elf.h>
#include <link.h>
#include <sched.h>
#include <string.h>

#include "agent.h"
#include "arena.h"
#include "cfi.h"
#include "cfi_arch.h"
#include "dynelf.h"
#include "findobj.h"
#include "real.h"
#include "stackmap.h"
#include "unwinder.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define MAX_MODULES 1024

enum { MOD_COMPILING = 1, MOD_READY, MOD_FAILED };

struct tmod {
	uintptr_t lo, hi;
	const void *eh_frame;
	const struct link_map *lm;
	int state;			/* MOD_*, release when READY */
	struct agent_cfi_table t;	/* its own rows */
	/* The rows walks use: &t, or its own merged with the host's (a new
	 * table, published whole: a walk may be reading the old one, which is
	 * never given back). Read after state, with acquire. */
	const struct agent_cfi_table *tab;
	uint32_t host_rows;		/* rows the host sent (0: none) */
};

static struct tmod mods[MAX_MODULES];
static int nmods;			/* slots published (release) */
static int claim_lock;			/* ours alone: try-lock only */

#define CACHE_BITS 12
struct centry {
	uintptr_t key;
	uint64_t val;			/* rule << 32 | (check(key) ^ generation) */
};
static struct centry cache[1u << CACHE_BITS];
static uint32_t cache_gen;

/*
 * Dead ends: addresses the rows could not step from (no row says them) and
 * where libunwind then ended the stack too, for want of unwind info. A walk
 * that meets one again ends there at once, marked so, instead of asking
 * libunwind to walk the whole stack to the same end: under musl every
 * stack ends so, in libc.so's start code. Tagged with the cache's
 * generation: a module mapped or given rows since makes them stale.
 */
#define DEAD_ENDS 16
static struct {
	uintptr_t key;
	uint32_t gen;
} dead_ends[DEAD_ENDS];
static unsigned dead_next;

static int dead_end(uintptr_t key, uint32_t gen)
{
	for (int i = 0; i < DEAD_ENDS; i++)
		if (__atomic_load_n(&dead_ends[i].key, __ATOMIC_RELAXED) == key &&
		    __atomic_load_n(&dead_ends[i].gen, __ATOMIC_RELAXED) == gen)
			return 1;
	return 0;
}

static void dead_end_add(uintptr_t key, uint32_t gen)
{
	unsigned i;

	if (dead_end(key, gen))
		return;
	i = __atomic_fetch_add(&dead_next, 1, __ATOMIC_RELAXED) % DEAD_ENDS;
	/* A reader seeing the key with an old generation (or the reverse) finds no match. */
	__atomic_store_n(&dead_ends[i].gen, ~0u, __ATOMIC_RELAXED);
	__atomic_store_n(&dead_ends[i].key, key, __ATOMIC_RELAXED);
	__atomic_store_n(&dead_ends[i].gen, gen, __ATOMIC_RELEASE);
}

/* What status shows (agent_unwind_tables_stats). */
static unsigned long n_fallback_stacks, n_unknown_pcs;
#define FB_PCS 8
static uintptr_t fb_pcs[FB_PCS];	/* the last addresses that made a stack fall back */
static unsigned fb_next;

static inline uint32_t slot_of(uintptr_t key)
{
	return ((uint32_t)key * 0x9e3779b1u) >> (32 - CACHE_BITS);
}

static inline uint32_t check_of(uintptr_t key, uint32_t gen)
{
	return ((uint32_t)key ^ (uint32_t)((uint64_t)key >> 32) ^ 0x5bd1e995u) ^ gen;
}

/* D's slot among those published, or NULL. */
static struct tmod *module_known(const struct agent_fobj *d)
{
	int n = __atomic_load_n(&nmods, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n; i++)
		if (mods[i].lo == d->lo && mods[i].eh_frame == d->eh_frame && mods[i].lm == d->lm)
			return &mods[i];
	return NULL;
}

static struct tmod *module_claim(const struct agent_fobj *d)
{
	struct tmod *m = NULL;
	int n;

	if (__atomic_exchange_n(&claim_lock, 1, __ATOMIC_ACQUIRE))
		return NULL;
	m = module_known(d);
	if (m) {
		__atomic_store_n(&claim_lock, 0, __ATOMIC_RELEASE);
		return m;	/* another thread claimed it meanwhile */
	}
	n = __atomic_load_n(&nmods, __ATOMIC_RELAXED);
	if (n < MAX_MODULES) {
		m = &mods[n];
		m->lo = d->lo;
		m->hi = d->hi;
		m->eh_frame = d->eh_frame;
		m->lm = d->lm;
		m->state = MOD_COMPILING;
		__atomic_store_n(&nmods, n + 1, __ATOMIC_RELEASE);
		/* Entries cached for an address now in this module are stale. */
		__atomic_add_fetch(&cache_gen, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&claim_lock, 0, __ATOMIC_RELEASE);
	if (m) {
		struct agent_cfi_table t;
		int ok = m->eh_frame && m->lm && agent_cfi_compile(m->lo, m->hi, m->lm->l_addr, &t) == 0;

		if (ok) {
			m->t = t;
			m->tab = &m->t;
		}
		__atomic_store_n(&m->state, ok ? MOD_READY : MOD_FAILED, __ATOMIC_RELEASE);
	}
	return m;
}

/* The compiled module holding PC, or NULL (unknown, being compiled, failed). */
static struct tmod *module_of(uintptr_t pc)
{
	struct agent_fobj d;
	struct tmod *m;

	if (agent_findobj(pc, &d) != 0)
		return NULL;
	m = module_known(&d);
	if (!m)
		m = module_claim(&d);
	if (!m || __atomic_load_n(&m->state, __ATOMIC_ACQUIRE) != MOD_READY)
		return NULL;
	return m;
}

/* The cache missed: the module's rows, and the rule cached when it is final. */
static __attribute__((noinline)) uint32_t rule_miss(uintptr_t key, uint32_t gen, struct centry *e)
{
	struct tmod *m = module_of(key);
	uint32_t rule;

	if (!m) {
		__atomic_add_fetch(&n_unknown_pcs, 1, __ATOMIC_RELAXED);
		return AGENT_CFI_FALLBACK;
	}
	{
		const struct agent_cfi_table *t = __atomic_load_n(&m->tab, __ATOMIC_ACQUIRE);

		rule = agent_cfi_lookup(t, (uint32_t)(key - t->base));
	}
	/* The key first: a reader seeing it with the old value fails the check. */
	*(volatile uintptr_t *)&e->key = key;
	*(volatile uint64_t *)&e->val = (uint64_t)rule << 32 | check_of(key, gen);
	return rule;
}

static inline __attribute__((always_inline)) uint32_t rule_for(uintptr_t key, uint32_t gen)
{
	struct centry *e = &cache[slot_of(key)];
	uintptr_t k = *(volatile uintptr_t *)&e->key;
	uint64_t v = *(volatile uint64_t *)&e->val;

	if (likely(k == key && (uint32_t)v == check_of(key, gen)))
		return (uint32_t)(v >> 32);
	return rule_miss(key, gen, e);
}

static int tables_init(void)
{
	if (!AGENT_CFI_SUPPORTED)
		return -1;
	if (agent_findobj_init() < 0)
		return -1;
	/* The fallback. */
	return agent_unwind_libunwind.init();
}

static const char *tables_why_not(void)
{
	if (!AGENT_CFI_SUPPORTED)
		return AGENT_CFI_WHY_NOT;
	return agent_findobj_why_not();
}

/*
 * Libunwind walks this stack; PC (0: none) is the address the rows could not
 * take, kept among the last FB_PCS distinct ones for status. The rows had
 * found the first HAD frames in PCS: where libunwind finds fewer (it has not
 * the rows memtrace-server sent), those stand, and the stack ends there.
 * NO_ROW: the rule at PC was FALLBACK (not a step that left the stack's
 * bounds); where libunwind ended at PC's frame too, PC becomes a dead end
 * of generation GEN.
 */
static __attribute__((noinline)) int fallback(uintptr_t *pcs, int had, int max, void *frame, uintptr_t pc,
					     uint32_t gen, int no_row)
{
	uintptr_t keep[AGENT_MAX_DEPTH];
	int n;

	__atomic_add_fetch(&n_fallback_stacks, 1, __ATOMIC_RELAXED);
	if (pc) {
		int seen = 0;

		for (int i = 0; i < FB_PCS && !seen; i++)
			seen = __atomic_load_n(&fb_pcs[i], __ATOMIC_RELAXED) == pc;
		if (!seen)
			__atomic_store_n(&fb_pcs[__atomic_fetch_add(&fb_next, 1, __ATOMIC_RELAXED) % FB_PCS], pc,
					 __ATOMIC_RELAXED);
	}
	if (had > AGENT_MAX_DEPTH)
		had = AGENT_MAX_DEPTH;
	memcpy(keep, pcs, (size_t)had * sizeof(*pcs));
	n = agent_unwind_libunwind.capture(pcs, max, frame);
	/* Libunwind got no further than the frame the rows could not step
	 * from: the stack ends for want of unwind info there. */
	if (pc && n > 0 && n < max && pcs[n - 1] - pc <= 4) {
		/* aarch64's libunwind takes a frame without tables for a leaf
		 * and its caller from the link register: the frame again. */
		if (n > 1 && pcs[n - 1] == pcs[n - 2])
			n--;
		agent_unwind_blind = 1;
		if (no_row)
			dead_end_add(pc, gen);
	}
	if (had > n) {
		memcpy(pcs, keep, (size_t)had * sizeof(*pcs));
		n = had;
		agent_unwind_blind = pc != 0;
		if (no_row)
			dead_end_add(pc, gen);
	}
	return n;
}

/* The rule of a body with a frame record: CFA = FP + 2 words, the caller's
 * FP at the CFA - 2 words, the return address at CFA - 1 word. */
#define RULE_FP_FRAME AGENT_CFI_RULE(AGENT_CFI_CFA_FP, 2, -2, -1)

static int tables_capture(uintptr_t *pcs, int max, void *frame)
{
	const uintptr_t w = sizeof(uintptr_t);
	uint32_t gen = __atomic_load_n(&cache_gen, __ATOMIC_ACQUIRE);
	uintptr_t pc, sp, fp, lr, lo, hi, last_key = 0;
	uint32_t last_rule = AGENT_CFI_FALLBACK;
	int n = 0, first = 1, pushed = 0;
	/* The agent's own frames (3) come first; a cycle ends here. */
	int steps = max + 8;

	AGENT_CFI_HERE(pc, sp, fp, lr);
	if (unlikely(agent_stack_of(sp) < 0))
		return fallback(pcs, n, max, frame, 0, gen, 0);
	lo = agent_stack_lo;
	hi = agent_stack_hi;
	/* From the hook's caller where its frame says it (cfi_arch.h). */
	if (AGENT_CFI_FRAME_START && frame) {
		uintptr_t f = (uintptr_t)frame;

		if (unlikely(f < sp || f > hi - 2 * w))
			return fallback(pcs, n, max, frame, 0, gen, 0);
		agent_cfi_frame_start(f, &pc, &sp, &fp);
		if (!pc)
			return 0;
		pcs[n++] = pc;
		first = 0;
		pushed = 1;
	}
	while (n < max && steps-- > 0) {
		/* A caller's return address may be just past its function (a
		 * call to a noreturn function): look up the call's last byte. */
		uintptr_t key = first ? pc : pc - 1;
		uint32_t rule, kind;
		int ra_slot, fp_slot;
		uintptr_t cfa, ra, a;

		/* Recursion repeats a return address: its rule is known. */
		if (key != last_key) {
			last_rule = rule_for(key, gen);
			last_key = key;
		}
		rule = last_rule;
		kind = AGENT_CFI_KIND(rule);
		ra_slot = AGENT_CFI_RA_SLOT(rule);
		fp_slot = AGENT_CFI_FP_SLOT(rule);
		if (unlikely(kind == AGENT_CFI_END)) {
			/* A hidden end (32-bit ARM's EXIDX_CANTUNWIND) takes this frame out. */
			if (rule == AGENT_CFI_END_HIDDEN && pushed)
				n--;
			break;
		}
		/* A frame-pointer frame: its reads follow the FP alone, so they
		 * start before the rule is known (the branch is predicted) and
		 * the frames' loads overlap the rule lookups. */
		if (likely(rule == RULE_FP_FRAME)) {
			if (unlikely(fp + 2 * w < sp || fp < lo || fp > hi - 2 * w))
				return fallback(pcs, n, max, frame, key, gen, 0);
			pc = agent_cfi_strip_ra(((const uintptr_t *)fp)[1]);
			sp = fp + 2 * w;
			fp = ((const uintptr_t *)fp)[0];
			first = 0;
			goto stepped;
		}
		if (unlikely(kind == AGENT_CFI_FALLBACK)) {
			if (dead_end(key, gen)) {
				agent_unwind_blind = 1;
				break;
			}
			return fallback(pcs, n, max, frame, key, gen, 1);
		}
		cfa = (kind == AGENT_CFI_CFA_SP ? sp : fp) + AGENT_CFI_CFA_WORDS(rule) * w;
		if (unlikely(cfa < sp || cfa > hi))
			return fallback(pcs, n, max, frame, key, gen, 0);
		if (ra_slot) {
			a = cfa + (uintptr_t)agent_cfi_slot_words((int8_t)ra_slot, AGENT_CFI_CFA_WORDS(rule)) * w;
			if (unlikely(a < lo || a > hi - w))
				return fallback(pcs, n, max, frame, key, gen, 0);
			ra = agent_cfi_strip_ra(*(const uintptr_t *)a);
		} else if (first) {
			ra = lr;
		} else {
			return fallback(pcs, n, max, frame, key, gen, 0);
		}
		if (fp_slot) {
			a = cfa + (uintptr_t)agent_cfi_slot_words((int8_t)fp_slot, AGENT_CFI_CFA_WORDS(rule)) * w;
			if (unlikely(a < lo || a > hi - w))
				return fallback(pcs, n, max, frame, key, gen, 0);
			fp = *(const uintptr_t *)a;
		}
		sp = cfa;
		pc = ra;
		first = 0;
stepped:
		if (!pc)
			break;
		pushed = !(n == 0 && agent_in_self(pc));
		if (pushed)
			pcs[n++] = pc;
	}
	return n;
}

void agent_unwind_tables_stats(struct agent_tables_stats *s)
{
	int n = __atomic_load_n(&nmods, __ATOMIC_ACQUIRE);

	*s = (struct agent_tables_stats){ 0 };
	for (int i = 0; i < n; i++) {
		int state = __atomic_load_n(&mods[i].state, __ATOMIC_ACQUIRE);

		if (state == MOD_READY) {
			s->modules++;
			const struct agent_cfi_table *t = __atomic_load_n(&mods[i].tab, __ATOMIC_ACQUIRE);

			s->fdes += t->fdes;
			s->fallback_fdes += t->fallback_fdes;
			s->rows += t->nrows;
			if (mods[i].host_rows) {
				s->host_modules++;
				s->host_rows += mods[i].host_rows;
			}
		} else if (state == MOD_FAILED) {
			s->modules_failed++;
		}
	}
	s->bytes = agent_mem_bytes(AGENT_MEM_UNWIND);
	s->fallback_stacks = __atomic_load_n(&n_fallback_stacks, __ATOMIC_RELAXED);
	s->unknown_pcs = __atomic_load_n(&n_unknown_pcs, __ATOMIC_RELAXED);
}

unsigned agent_unwind_tables_fallback_pcs(uintptr_t *out, unsigned max)
{
	unsigned n = 0;

	for (int i = 0; i < FB_PCS && n < max; i++) {
		uintptr_t pc = __atomic_load_n(&fb_pcs[i], __ATOMIC_RELAXED);

		if (pc)
			out[n++] = pc;
	}
	return n;
}

/*
 * M's path as the loader has it; "" for the main program (musl names it by
 * argv[0]), "(unnamed)" for another without a name (musl's vDSO).
 */
static const char *module_name(const struct tmod *m)
{
	if (m->lm && m->lm == agent_link_map())
		return "";
	if (!m->lm || !m->lm->l_name || !m->lm->l_name[0])
		return "(unnamed)";
	return m->lm->l_name;
}

const char *agent_unwind_tables_without(unsigned long i)
{
	int n = __atomic_load_n(&nmods, __ATOMIC_ACQUIRE);

	for (int k = 0; k < n; k++)
		if (__atomic_load_n(&mods[k].state, __ATOMIC_ACQUIRE) == MOD_FAILED && i-- == 0)
			return module_name(&mods[k]);
	return NULL;
}

const struct agent_unwinder agent_unwind_tables = {
	.name = "tables",
	.init = tables_init,
	.capture = tables_capture,
	.why_not = tables_why_not,
};

/* The module's code: its first executable PT_LOAD, from the headers the loader mapped at its start. */
static void text_of(const struct tmod *m, uintptr_t *lo, uintptr_t *hi)
{
	int phnum = 0;
	const ElfW(Phdr) *ph = m->lm ? agent_cfi_phdrs(m->lo, m->hi, &phnum) : NULL;

	*lo = *hi = 0;
	for (int i = 0; ph && i < phnum; i++)
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X)) {
			*lo = m->lm->l_addr + ph[i].p_vaddr;
			*hi = *lo + ph[i].p_memsz;
			return;
		}
}

static void describe(const struct tmod *m, struct agent_tables_module *out)
{
	int ready = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE) == MOD_READY;
	const struct agent_cfi_table *t = ready ? __atomic_load_n(&m->tab, __ATOMIC_ACQUIRE) : NULL;
	uintptr_t lo, hi;

	text_of(m, &lo, &hi);
	*out = (struct agent_tables_module){
		.addr = m->lo,
		.name = module_name(m),
		.ready = ready,
		.coverage = t ? agent_cfi_coverage(t, lo, hi) : 0,
		.rows = t ? t->nrows : 0,
		.host_rows = m->host_rows,
	};
}

/* The module holding ADDR, claimed and compiled (by this thread, or waited for). */
static struct tmod *module_settled(uintptr_t addr)
{
	struct agent_fobj d;
	struct tmod *m = NULL;

	if (agent_findobj(addr, &d) != 0)
		return NULL;
	/* Another thread may hold the claim lock or be compiling it: a little while. */
	for (int tries = 0; tries < 1000; tries++) {
		m = module_known(&d);
		if (!m)
			m = module_claim(&d);
		if (m && __atomic_load_n(&m->state, __ATOMIC_ACQUIRE) != MOD_COMPILING)
			return m;
		m = NULL;
		sched_yield();
	}
	return NULL;
}

/*
 * Modules are visited in dl_iterate_phdr's callbacks, with the loader's
 * lock held: a module listed there is not unmapped meanwhile (dlclose takes
 * it out of the list under that lock, and unmaps it only after), so its
 * headers and tables may be read and compiled from the control thread
 * while the program's threads dlopen and dlclose. Walks take no such care:
 * the module of a frame on their own stack cannot be unloaded under them.
 */
struct visit {
	/* listing */
	void (*fn)(const struct agent_tables_module *mod, void *arg);
	void *arg;
	int listed;
	/* adopting */
	uintptr_t addr;
	const struct agent_cfi_row *rows;
	uint32_t n;
	struct agent_tables_module *mod;
	const char *why;
	int ret;
};

static int list_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct visit *v = arg;
	struct agent_tables_module d;
	struct tmod *m = NULL;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum && !m; i++)
		if (info->dlpi_phdr[i].p_type == PT_LOAD)
			m = module_settled(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	if (m) {
		describe(m, &d);
		v->fn(&d, v->arg);
		v->listed++;
	}
	return 0;
}

int agent_unwind_tables_modules(void (*fn)(const struct agent_tables_module *mod, void *arg), void *arg)
{
	struct visit v = { .fn = fn, .arg = arg };

	if (!agent_findobj_ready())
		return -1;
	dl_iterate_phdr(list_one, &v);
	return v.listed;
}

/* ADDR's module (listed: the loader's lock is held) given V's rows. */
static int adopt_locked(struct visit *v)
{
	struct tmod *m = module_settled(v->addr);
	struct agent_cfi_table *t;
	int ready;

	if (!m) {
		v->why = "that module is being compiled by another thread, or there are too many";
		return -1;
	}
	if (!m->lm) {
		v->why = "the loader does not describe that module";
		return -1;
	}
	ready = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE) == MOD_READY;
	t = agent_map(sizeof(*t), AGENT_MEM_UNWIND);
	if (!t) {
		v->why = "out of memory";
		return -1;
	}
	/* Merged with the module's own rows, never with an earlier merge. */
	if (agent_cfi_merge(ready ? &m->t : NULL, m->lo, m->hi, m->lm->l_addr, v->rows, v->n, t, &v->why) < 0) {
		agent_unmap(t, sizeof(*t), AGENT_MEM_UNWIND);
		return -1;
	}
	m->host_rows = v->n;
	if (!ready)
		m->t = (struct agent_cfi_table){ .base = m->lo, .end = m->hi };
	__atomic_store_n(&m->tab, t, __ATOMIC_RELEASE);
	__atomic_store_n(&m->state, MOD_READY, __ATOMIC_RELEASE);
	/* Rules cached from the old rows are stale. */
	__atomic_add_fetch(&cache_gen, 1, __ATOMIC_RELEASE);
	if (v->mod)
		describe(m, v->mod);
	return 0;
}

static int adopt_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct visit *v = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + p->p_vaddr;

		if (p->p_type == PT_LOAD && v->addr >= lo && v->addr - lo < p->p_memsz) {
			v->ret = adopt_locked(v);
			return 1;
		}
	}
	return 0;
}

int agent_unwind_tables_adopt(uintptr_t addr, const struct agent_cfi_row *rows, uint32_t n,
			      struct agent_tables_module *mod, const char **why)
{
	struct visit v = { .addr = addr, .rows = rows, .n = n, .mod = mod, .ret = -1,
			   .why = "no loaded module holds that address" };

	if (agent_findobj_ready())
		dl_iterate_phdr(adopt_one, &v);
	if (v.ret < 0)
		*why = v.why;
	return v.ret;
}

/*
 * The libraries of a gdb session, found by the server (gdbroot.h). The link
 * map is read as the dynamic loader left it: the program's .dynamic section
 * (where gdb says it is, relocated), its DT_DEBUG entry pointing at r_debug,
 * r_debug.r_map the first link_map, each with l_addr (the load bias), l_name
 * and l_next at word offsets 0, 1 and 3 (glibc, musl and uClibc agree on
 * these: they are the debugger's interface, <link.h>). Words are the
 * target's pointer size in the host's byte order (as core.c assumes).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gdbmi.h"
#include "gdbroot.h"
#include "log.h"
#include "rootfs.h"
#include "util.h"

#define DT_NULL_TAG 0
#define DT_DEBUG_TAG 21
/*
 * MIPS leaves DT_DEBUG 0: its loader writes r_debug's address into a word
 * of the program's that DT_MIPS_RLD_MAP gives (absolute) or
 * DT_MIPS_RLD_MAP_REL (from the address of that .dynamic entry itself, for
 * PIE). Processor-specific values, read only when gdb's architecture is MIPS.
 */
#define DT_MIPS_RLD_MAP_TAG 0x70000016
#define DT_MIPS_RLD_MAP_REL_TAG 0x70000035
#define MAX_DYN 1024	/* .dynamic entries looked at */
#define MAX_LIBS 1024	/* link_map entries followed (a loop in a damaged core ends here) */
#define MAX_NAME 4096	/* l_name, its NUL counted */

/* Log at INFO (a missing library costs symbols, not the session) and return -1. */
#define info_fail(...) (log_info(__VA_ARGS__), -1)

struct reader {
	struct gdbmi_session *s;
	unsigned ps; /* the target's pointer size */
};

static int rd_word(const struct reader *r, uint64_t addr, uint64_t *v)
{
	unsigned char buf[8];
	uint32_t v32;
	size_t got = 0;

	if (gdbmi_read_memory(r->s, addr, r->ps, buf, &got) != GDBMI_OK || got != r->ps)
		return -1;
	if (r->ps == 8) {
		memcpy(v, buf, 8);
	} else {
		memcpy(&v32, buf, 4);
		*v = v32;
	}
	return 0;
}

/* The NUL-terminated string at ADDR into BUF (MAX_NAME). -1 when unreadable or longer. */
static int rd_string(const struct reader *r, uint64_t addr, char *buf)
{
	size_t at = 0, got;

	while (at < MAX_NAME - 1) {
		size_t want = MAX_NAME - 1 - at < 256 ? MAX_NAME - 1 - at : 256;

		got = 0;
		/* a string near the end of a mapping: take what is there */
		if (gdbmi_read_memory(r->s, addr + at, want, buf + at, &got) != GDBMI_OK || !got)
			return -1;
		if (memchr(buf + at, '\0', got))
			return 0;
		at += got;
	}
	return -1;
}

/* The program's .dynamic, relocated, from gdb's `info files`; 0 when gdb does not show one. */
static uint64_t dynamic_addr(struct gdbmi_session *s)
{
	char *out = NULL, *p;
	uint64_t a = 0;

	if (gdbmi_console(s, "info files", &out, NULL) != GDBMI_OK || !out) {
		free(out);
		return 0;
	}
	/* "\t0x0000555555557dc8 - 0x0000555555557fb8 is .dynamic": the program's comes first */
	p = strstr(out, " is .dynamic\n");
	if (p) {
		while (p > out && p[-1] != '\n')
			p--;
		while (*p == ' ' || *p == '\t')
			p++;
		a = strtoull(p, NULL, 16);
	}
	free(out);
	return a;
}

/* gdb's architecture is MIPS ("show architecture": ... (currently "mips:isa32r2")). */
static int target_is_mips(struct gdbmi_session *s)
{
	char *out = NULL;
	int mips;

	if (gdbmi_console(s, "show architecture", &out, NULL) != GDBMI_OK || !out) {
		free(out);
		return 0;
	}
	mips = strstr(out, "\"mips") != NULL;
	free(out);
	return mips;
}

/* The address of r_debug, 0 when the program has none (yet), -1 when unreadable. */
static int r_debug_addr(const struct reader *r, uint64_t *rdebug)
{
	uint64_t dyn = dynamic_addr(r->s), tag, val, map = 0;

	*rdebug = 0;
	if (!dyn)
		return info_fail("gdb shows no .dynamic section of the program: no library symbols");
	for (unsigned i = 0; i < MAX_DYN; i++) {
		uint64_t entry = dyn + 2ull * i * r->ps;

		if (rd_word(r, entry, &tag) < 0 || rd_word(r, entry + r->ps, &val) < 0)
			return info_fail("the program's .dynamic at 0x%" PRIx64 " is not in the target's memory", dyn);
		if (tag == DT_NULL_TAG)
			break;
		if (tag == DT_DEBUG_TAG)
			*rdebug = val;
		else if (tag == DT_MIPS_RLD_MAP_REL_TAG) /* a signed offset, in the target's word */
			map = r->ps == 4 ? (uint32_t)(entry + val) : entry + val;
		else if (tag == DT_MIPS_RLD_MAP_TAG && !map)
			map = val;
	}
	if (!*rdebug && map && target_is_mips(r->s) && rd_word(r, map, rdebug) < 0)
		return info_fail("the program's r_debug pointer at 0x%" PRIx64 " is not in the target's memory", map);
	return 0;
}

/* NAME as a log can show it: printable ASCII, the rest as '?'. */
static void printable(char *name)
{
	for (; *name; name++)
		if (*name < ' ' || *name >= 0x7f)
			*name = '?';
}

/* The first sysroot's host file for device path NAME (malloc'ed), or NULL with *ERR the last errno. */
static char *resolve(struct srv_root **roots, size_t n, const char *name, int *err)
{
	char *host = NULL;

	*err = ENOENT;
	for (size_t i = 0; i < n; i++) {
		int fd;

		if (!roots[i])
			continue;
		fd = srv_root_open(roots[i], name, &host);
		if (fd >= 0) {
			close(fd);
			return host;
		}
		if (errno != ENOENT || *err == ENOENT)
			*err = errno;
	}
	return NULL;
}

/* `add-symbol-file HOST -o BIAS`; HOST must survive gdb's argument splitting unchanged. */
static int add_symbols(struct gdbmi_session *s, const char *host, uint64_t bias)
{
	char *cmd, *out = NULL;
	enum gdbmi_status st;

	if (strpbrk(host, " \t\n\r\"'\\")) {
		log_info("%s: a blank, quote or backslash in the path; gdb is not given it", host);
		return -1;
	}
	if (asprintf(&cmd, "add-symbol-file %s -o 0x%" PRIx64, host, bias) < 0)
		return log_err("out of memory");
	st = gdbmi_console(s, cmd, &out, NULL);
	free(cmd);
	free(out);
	if (st != GDBMI_OK)
		return info_fail("gdb: add-symbol-file %s: %s", host, gdbmi_session_error(s));
	return 0;
}

int srv_gdbroot_load(struct gdbmi_session *s, char *const *sysroots, size_t n)
{
	struct reader r = { .s = s };
	struct srv_root **roots;
	uint64_t rdebug, lm, bias, name_at;
	char *v = NULL, *name;
	size_t added = 0, left = 0, libs = 0;
	char skipped[512] = "";
	int rc = 0;

	if (gdbmi_evaluate(s, "sizeof (void *)", &v) != GDBMI_OK)
		return info_fail("gdb cannot tell the target's pointer size: no library symbols");
	r.ps = (unsigned)strtoul(v, NULL, 0);
	free(v);
	if (r.ps != 4 && r.ps != 8)
		return info_fail("the target's pointers are %u bytes: no library symbols", r.ps);
	if (r_debug_addr(&r, &rdebug) < 0)
		return -1;
	if (!rdebug)
		return 0; /* static, or the loader has not run yet: no libraries */
	if (rd_word(&r, rdebug + r.ps, &lm) < 0) /* r_debug: int r_version, then r_map */
		return info_fail("r_debug at 0x%" PRIx64 " is not in the target's memory: no library symbols", rdebug);
	/* "confirm off": add-symbol-file asks otherwise */
	gdbmi_cmd(s, NULL, "-gdb-set confirm off");
	roots = xcalloc(n, sizeof(*roots));
	for (size_t i = 0; i < n; i++)
		roots[i] = srv_root_new(sysroots[i]);
	name = xmalloc(MAX_NAME);
	for (; lm && libs < MAX_LIBS; libs++) {
		char *host;
		int err;

		if (rd_word(&r, lm, &bias) < 0 || rd_word(&r, lm + r.ps, &name_at) < 0) {
			rc = info_fail("a link_map entry at 0x%" PRIx64 " is not in the target's memory", lm);
			break;
		}
		/* the program's own entry has an empty name, the vDSO a bare one: neither is a file */
		if (name_at && rd_string(&r, name_at, name) == 0 && name[0] == '/') {
			host = resolve(roots, n, name, &err);
			if (host && add_symbols(s, host, bias) == 0) {
				log_debug("gdb: %s from %s, at 0x%" PRIx64, name, host, bias);
				added++;
			} else {
				printable(name);
				if (!host)
					log_debug("gdb: %s: %s", name,
						  err == EXDEV ? "leads outside the sysroot" : strerror(err));
				if (!left++)
					snprintf(skipped, sizeof(skipped), "%s%s", name,
						 err == EXDEV ? " (leads outside the sysroot)" : "");
			}
			free(host);
		}
		if (rd_word(&r, lm + 3ull * r.ps, &lm) < 0) {
			rc = info_fail("a link_map entry is not in the target's memory");
			break;
		}
	}
	free(name);
	for (size_t i = 0; i < n; i++)
		srv_root_free(roots[i]);
	free(roots);
	if (left)
		log_info("gdb: %zu of the program's libraries are not in the sysroots, their symbols are missing "
			 "(e.g. %s)", left, skipped);
	log_debug("gdb: %zu libraries given from the sysroots", added);
	return rc;
}
